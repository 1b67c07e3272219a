"""The end of a detection flowgraph: detector spectra in, one SigMF recording out.

The sink takes one vector per detector (what :class:`~gnuradio.scos.power_stats` emits for a
capture), builds the metadata with ``scos_gr.sigmf_out.metadata.detection_metadata`` from its
parameters, the ``scos_capture`` tag (capture start, frequency, dropped samples, overflows) and
the JSON context the runner passes (task, schedule entry, sensor, calibration), writes it with
``scos_gr.sigmf_out.writer.write_recording`` (atomic: temp files, fsync, rename) and then tells
the scheduler it is done, which ends the flowgraph. A failure stops the flowgraph too and is
kept in ``self.error`` (the runner reports it; the writer leaves no partial file).
"""
from __future__ import annotations

import time
from typing import Any

import numpy as np
import pmt
from gnuradio import gr

from scos_gr.sigmf_out.context import TaskContext
from scos_gr.sigmf_out.metadata import detection_metadata
from scos_gr.sigmf_out.writer import Recording, write_recording

from .detectors import parse_detectors
from .power_stats import CAPTURE_TAG
from .task_block import RecordingBlock


class spectra_collector(gr.basic_block, RecordingBlock):
    """Collects ``count`` float vectors and their ``scos_capture`` tags, then calls ``_write()``.

    The common end of the recording sinks: whatever spectra a flowgraph computes, the sink waits
    for all of them, writes one recording, and ends the flowgraph; an exception becomes ``.error``
    (which the runner reports) instead of a crash in a scheduler thread.
    """

    def __init__(self, name: str, fft_size: int, count: int, metadata_json: str):
        gr.basic_block.__init__(self, name, [(np.float32, int(fft_size))], [])
        RecordingBlock.__init__(self)
        self.context = TaskContext.from_json(metadata_json)
        self._vectors = np.empty((int(count), int(fft_size)), dtype=np.float32)
        self._have = 0
        self._captures: list[dict[str, Any]] = []
        self._capture_key = pmt.intern(CAPTURE_TAG)

    def forecast(self, noutput_items, ninputs):
        return [1] * ninputs

    def general_work(self, input_items, output_items):
        if self.recording is not None or self.error:
            return -1
        vectors = input_items[0]
        take = min(len(vectors), len(self._vectors) - self._have)
        try:
            for tag in self.get_tags_in_window(0, 0, take, self._capture_key):
                self._captures.append(dict(pmt.to_python(tag.value)))
            self._vectors[self._have:self._have + take] = vectors[:take]
            self._have += take
            self.consume(0, take)
            if self._have == len(self._vectors):
                self.recording = self._write()
                return -1
        except Exception as exc:  # stop the flowgraph; the runner reads .error
            self.error = f"{self.name()}: {type(exc).__name__}: {exc}"
            return -1
        return 0

    def _write(self) -> Recording:  # pragma: no cover - every sink defines it
        raise NotImplementedError


class sigmf_sink(spectra_collector):
    """Write ``{output_dir}/{basename}.sigmf-meta|-data`` from the first capture's detector spectra."""

    def __init__(self, fft_size: int = 1024, num_ffts: int = 300, samp_rate: float = 15.36e6,
                 center_freq: float = 751e6, window: str = "blackman", output_dir: str = ".",
                 basename: str = "recording", metadata_json: str = "{}",
                 detectors: str = "min,max,mean,median,sample"):
        fft_size = int(fft_size)
        self.detectors = parse_detectors(detectors)
        spectra_collector.__init__(self, "scos_sigmf_sink", fft_size, len(self.detectors), metadata_json)
        self.fft_size, self.num_ffts = fft_size, int(num_ffts)
        self.samp_rate, self.center_freq, self.window = float(samp_rate), float(center_freq), str(window)
        self.output_dir, self.basename = str(output_dir), str(basename)

    def _write(self) -> Recording:
        capture = self._captures[0] if self._captures else {}
        metadata = detection_metadata(
            fft_size=self.fft_size,
            num_ffts=int(capture.get("num_ffts", self.num_ffts)),
            sample_rate=float(capture.get("sample_rate", self.samp_rate)),
            center_frequency=float(capture.get("frequency", self.center_freq)),
            window=self.window,
            detectors=self.detectors,
            capture_start=float(capture.get("capture_start", time.time())),
            dropped_samples=int(capture.get("dropped_samples", 0)),
            overflows=int(capture.get("overflows", 0)),
            context=self.context,
        )
        return write_recording(self.output_dir, self.basename, self._vectors, metadata)
