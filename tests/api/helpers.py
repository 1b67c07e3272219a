"""Create acquisitions the way the scheduler does (sigmf_out + store rows), without HTTP."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from scos_gr import store
from scos_gr.sigmf_out.metadata import Capture, Radio, Spectra, detection_metadata
from scos_gr.sigmf_out.writer import write_recording
from scos_gr.sigmf_out.context import ActionInfo, ScheduleInfo, TaskContext

DETECTORS = ["min", "max", "mean", "median", "sample"]


def add_acquisition(data_dir: Path, entry_name: str, task_id: int, fft_size: int = 64) -> store.Acquisition:
    folder = data_dir / "acquisitions" / entry_name
    spectra = np.linspace(-100, -40, len(DETECTORS) * fft_size, dtype=np.float32)
    metadata = detection_metadata(
        spectra=Spectra(fft_size=fft_size, num_ffts=10, window="blackman", detectors=tuple(DETECTORS)),
        sample_rate=15.36e6, captures=[Capture(frequency=751e6, start=time.time(), samples=fft_size * 10)],
        radio=Radio(driver="sim", args="sim"),
        context=TaskContext(task_id=task_id, schedule=ScheduleInfo(name=entry_name), action=ActionInfo(name="acquire700c")),
    )
    rec = write_recording(folder, f"{entry_name}_{task_id}", spectra, metadata)
    with store.database.connection_context():
        store.Task.create(entry_name=entry_name, task_id=task_id, action="acquire700c",
                          status=store.TASK_SUCCESS, finished=store.utcnow(), duration_s=0.1)
        return store.Acquisition.create(
            entry_name=entry_name, task_id=task_id,
            meta_path=str(Path(rec.meta_path).relative_to(data_dir)),
            data_path=str(Path(rec.data_path).relative_to(data_dir)),
            data_bytes=rec.data_bytes, sha512=rec.sha512,
            sigmf_metadata=__import__("json").loads(Path(rec.meta_path).read_text()),
        )
