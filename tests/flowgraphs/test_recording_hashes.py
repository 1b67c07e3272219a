"""A recording's core:sha512 is the hash of its data file as it is on disk, for both kinds of
recording the shipped actions write; the IQ sink hashes the samples on their way to the file
(never reading it back), starts the disk's writeback as the file grows, and refuses a file that
does not hold every sample."""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from pathlib import Path

import numpy as np
import pytest
from gnuradio import blocks, gr, scos

from scos_gr.flowgraphs import runner
from scos_gr.flowgraphs.catalogue import DEFAULT_CATALOGUE, load_catalogue
from scos_gr.flowgraphs.runner import run_action
from scos_gr.sigmf_out.context import ScheduleInfo, TaskContext
from scos_gr.sigmf_out.writer import InvalidRecording

RATE = 15.36e6


def _file_sha512(path: Path) -> str:
    digest = hashlib.sha512()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@pytest.mark.parametrize("name,parameters", [("acquire700c", {}), ("acquire_iq_751MHz", {"duration_s": 0.25})])
def test_the_recordings_sha512_is_the_hash_of_its_data_file_on_disk(tmp_path, name, parameters):
    action = load_catalogue(DEFAULT_CATALOGUE)[name]
    action = dataclasses.replace(action, parameters={**action.parameters, **parameters})
    result = run_action(action, radio="sim", output_dir=tmp_path / "out", basename=f"{name}_1",
                        context=TaskContext(task_id=1, schedule=ScheduleInfo(name=name)), cache_dir=tmp_path / "c")
    runner.release_finished()
    [rec] = result.recordings
    meta = json.loads(rec.meta_path.read_text())
    on_disk = _file_sha512(rec.data_path)
    assert meta["global"]["core:sha512"] == rec.sha512 == on_disk
    assert rec.data_bytes == rec.data_path.stat().st_size > 0


def _iq_flowgraph(folder: Path, samples: int, basename: str):
    tb = gr.top_block()
    head = blocks.head(gr.sizeof_gr_complex, samples)
    sink = scos.iq_sink(samples, str(folder), basename, "{}")
    radio = scos.radio_source("sim", RATE, 751e6, 0.0)
    tb.connect(radio, head, sink)
    tb.blocks = (radio, head)  # the Python blocks inside must live as long as the flowgraph
    return tb, sink


def test_the_iq_hash_is_of_the_samples_that_flowed_and_the_file_is_not_read_back(tmp_path):
    samples = 3_000_000  # 24 MB: the disk's writeback is started on the way (every 16 MB)
    tb, sink = _iq_flowgraph(tmp_path, samples, "iq_1")
    tb.run()
    assert sink.writer._written_back >= 16 << 20
    flowed = _file_sha512(Path(sink.temp_path))
    # were the file read back, this change (the same size) would be in the hash
    with open(sink.temp_path, "r+b") as f:
        f.write(b"\xff" * 8)
    sink.finalize()
    [rec] = sink.recordings()
    assert rec.sha512 == flowed != _file_sha512(rec.data_path)


def test_an_iq_file_that_lacks_samples_is_refused_and_nothing_gets_the_recordings_name(tmp_path):
    tb, sink = _iq_flowgraph(tmp_path, 100_000, "iq_2")
    tb.run()
    os.truncate(sink.temp_path, 100_000 * 8 - 8)  # as a full disk would have left it
    with pytest.raises(InvalidRecording, match="holds 799992 of the 800000 bytes"):
        sink.finalize()
    assert not (tmp_path / "iq_2.sigmf-meta").exists() and not (tmp_path / "iq_2.sigmf-data").exists()


def test_an_iq_sink_given_its_task_values_after_it_was_built_writes_there(tmp_path):
    tb, sink = _iq_flowgraph(tmp_path / "built", 50_000, "placeholder")
    sink.set_output_dir(str(tmp_path / "task"))
    sink.set_basename("iq_3")
    sink.set_metadata_json(TaskContext(task_id=3).to_json())
    tb.run()
    sink.finalize()
    [rec] = sink.recordings()
    assert list((tmp_path / "built").iterdir()) == []
    assert sorted(p.name for p in (tmp_path / "task").iterdir()) == ["iq_3.sigmf-data", "iq_3.sigmf-meta"]
    assert rec.metadata["global"]["ntia-scos:task"] == 3
    np.testing.assert_equal(rec.data_bytes, 50_000 * 8)
