"""Atomic recording writes: valid SigMF, sha512 right, nothing left behind on failure."""
from __future__ import annotations

import hashlib
import json
import os

import numpy as np
import pytest
import sigmf

from scos_gr.sigmf_out import writer
from scos_gr.sigmf_out.metadata import Capture, Radio, Spectra, detection_metadata, iq_metadata
from scos_gr.sigmf_out.context import ScheduleInfo, TaskContext
from scos_gr.sigmf_out.writer import (
    Recording,
    RecordingError,
    finalize_recording,
    remove_recording,
    sweep_leftovers,
    temp_data_path,
    write_recording,
)

DETECTORS = ["min", "max", "mean", "median", "sample"]
N = 64


def metadata():
    return detection_metadata(
        spectra=Spectra(fft_size=N, num_ffts=11, window="blackman", detectors=tuple(DETECTORS)), sample_rate=15.36e6,
        captures=[Capture(frequency=751e6, start=1_795_000_000.5, samples=N * 11)], radio=Radio("sim", "sim"),
        context=TaskContext(task_id=1, schedule=ScheduleInfo(name="e")))


def spectra(seed=0) -> np.ndarray:
    return np.random.default_rng(seed).normal(-90, 3, size=(len(DETECTORS), N)).astype(np.float32)


def listing(directory) -> list[str]:
    return sorted(os.listdir(directory))


def test_write_recording_produces_a_valid_recording(tmp_path):
    data = spectra()
    rec = write_recording(tmp_path, "e_1", data, metadata())
    assert isinstance(rec, Recording)
    assert listing(tmp_path) == ["e_1.sigmf-data", "e_1.sigmf-meta"]
    raw = rec.data_path.read_bytes()
    assert rec.data_bytes == len(raw) == len(DETECTORS) * N * 4
    assert rec.sha512 == hashlib.sha512(raw).hexdigest()
    meta = json.loads(rec.meta_path.read_text())
    assert meta["global"]["core:sha512"] == rec.sha512
    # sigmf-python loads it, checks the hash, validates, and the samples round-trip
    loaded = sigmf.sigmffile.fromfile(str(rec.meta_path))
    loaded.validate()
    assert np.array_equal(loaded.read_samples(), data.reshape(-1))
    with pytest.raises(dataclass_frozen_error()):
        rec.sha512 = "x"


def dataclass_frozen_error():
    import dataclasses

    return dataclasses.FrozenInstanceError


def test_float64_input_is_stored_as_float32(tmp_path):
    data = spectra().astype(np.float64)
    rec = write_recording(tmp_path, "e_2", data, metadata())
    assert np.array_equal(np.fromfile(rec.data_path, dtype="<f4"), data.astype(np.float32).reshape(-1))


def test_complex_data_is_not_silently_truncated_to_real(tmp_path):
    with pytest.raises(RecordingError):
        write_recording(tmp_path, "e_3", spectra().astype(np.complex64), metadata())
    assert listing(tmp_path) == []


def test_iq_recording(tmp_path):
    iq = (np.arange(100) * (1 + 1j)).astype(np.complex64)
    md = iq_metadata(sample_rate=1e6, capture=Capture(frequency=1e8, start=0.0, samples=100), radio=Radio("sim", "sim"))
    rec = write_recording(tmp_path, "iq_1", iq, md)
    assert rec.data_bytes == 800
    assert np.array_equal(sigmf.sigmffile.fromfile(str(rec.meta_path)).read_samples(), iq)


def test_invalid_metadata_leaves_nothing(tmp_path):
    bad = metadata()
    bad["global"]["core:sample_rate"] = -1.0
    with pytest.raises(RecordingError, match="invalid"):
        write_recording(tmp_path, "e_1", spectra(), bad)
    assert listing(tmp_path) == []


def test_undeclared_extension_is_refused(tmp_path):
    bad = metadata()
    bad["global"]["other-ns:thing"] = 1
    with pytest.raises(RecordingError, match="undeclared"):
        write_recording(tmp_path, "e_1", spectra(), bad)
    assert listing(tmp_path) == []


def test_data_shorter_than_the_annotations_is_refused(tmp_path):
    with pytest.raises(RecordingError, match="annotation ends"):
        write_recording(tmp_path, "e_1", spectra()[:4], metadata())
    assert listing(tmp_path) == []


@pytest.mark.parametrize("fail_on_call", [1, 2])
def test_failing_rename_leaves_nothing(tmp_path, monkeypatch, fail_on_call):
    """Whether the data or the metadata rename fails, neither temp nor final files remain."""
    real_replace = os.replace
    calls = []

    def flaky_replace(src, dst):
        calls.append(dst)
        if len(calls) == fail_on_call:
            raise OSError("disk on fire")
        return real_replace(src, dst)

    monkeypatch.setattr(writer.os, "replace", flaky_replace)
    with pytest.raises(OSError, match="disk on fire"):
        write_recording(tmp_path, "e_1", spectra(), metadata())
    assert listing(tmp_path) == []


def test_failing_fsync_leaves_nothing(tmp_path, monkeypatch):
    def broken_fsync(fd):
        raise OSError("fsync failed")

    monkeypatch.setattr(writer.os, "fsync", broken_fsync)
    with pytest.raises(OSError, match="fsync failed"):
        write_recording(tmp_path, "e_1", spectra(), metadata())
    assert listing(tmp_path) == []


def test_existing_recording_is_never_overwritten(tmp_path):
    first = write_recording(tmp_path, "e_1", spectra(0), metadata())
    before = first.data_path.read_bytes(), first.meta_path.read_bytes()
    with pytest.raises(FileExistsError):
        write_recording(tmp_path, "e_1", spectra(1), metadata())
    assert (first.data_path.read_bytes(), first.meta_path.read_bytes()) == before
    assert listing(tmp_path) == ["e_1.sigmf-data", "e_1.sigmf-meta"]


def test_finalize_recording_of_a_file_sink_output(tmp_path):
    data = spectra()
    tmp = temp_data_path(tmp_path, "e_4")
    assert tmp.parent == tmp_path and tmp.name.startswith(".")
    data.tofile(tmp)  # what a GNU Radio file sink would have written
    rec = finalize_recording(tmp_path, "e_4", tmp, metadata())
    assert listing(tmp_path) == ["e_4.sigmf-data", "e_4.sigmf-meta"]
    assert rec.sha512 == hashlib.sha512(rec.data_path.read_bytes()).hexdigest()
    assert rec.data_bytes == data.nbytes
    loaded = sigmf.sigmffile.fromfile(str(rec.meta_path))
    assert np.array_equal(loaded.read_samples(), data.reshape(-1))


def test_finalize_recording_failure_removes_the_temp_data(tmp_path):
    tmp = temp_data_path(tmp_path, "e_5")
    spectra()[:2].tofile(tmp)  # too short for five detectors
    with pytest.raises(RecordingError):
        finalize_recording(tmp_path, "e_5", tmp, metadata())
    assert listing(tmp_path) == []


def test_remove_recording(tmp_path):
    rec = write_recording(tmp_path, "e_1", spectra(), metadata())
    assert remove_recording(rec.meta_path, rec.data_path) == [rec.meta_path, rec.data_path]
    assert listing(tmp_path) == []
    assert remove_recording(rec.meta_path, rec.data_path) == []  # already gone: no error


def test_sweep_leftovers_removes_only_debris(tmp_path):
    entry = tmp_path / "entry"
    complete = write_recording(entry, "entry_1", spectra(), metadata())
    orphan = entry / "entry_2.sigmf-data"  # crash between data rename and metadata rename
    orphan.write_bytes(b"\0" * 16)
    temp_data = temp_data_path(entry, "entry_3")
    temp_data.write_bytes(b"\0" * 16)
    temp_meta = entry / ".entry_3.sigmf-meta.tmp-abc123"
    temp_meta.write_text("{}")
    unrelated = entry / "notes.txt"
    unrelated.write_text("keep me")

    removed = sweep_leftovers(tmp_path)
    assert removed == sorted([orphan, temp_data, temp_meta])
    assert sorted(p.name for p in entry.iterdir()) == ["entry_1.sigmf-data", "entry_1.sigmf-meta", "notes.txt"]
    assert complete.meta_path.exists() and complete.data_path.exists()
    assert sweep_leftovers(tmp_path) == []
    assert sweep_leftovers(tmp_path / "missing") == []


def test_basename_cannot_escape_the_directory(tmp_path):
    with pytest.raises(RecordingError):
        write_recording(tmp_path, "../evil", spectra(), metadata())
