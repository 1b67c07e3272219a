"""Detector spectra read back from a detection recording, as the /spectrum endpoint, `scos-gr
acquire` and `scos-gr show` read them: the current (NTIA v2) layout and the v1 one of recordings
written before, kept as a fixture file."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest

from scos_gr.sigmf_out.metadata import Capture, Radio, Spectra, detection_metadata, iq_metadata
from scos_gr.sigmf_out.spectra import capture_spectra, read_detector_spectra
from scos_gr.sigmf_out.writer import read_metadata, write_recording

DETECTORS = ("min", "max", "mean", "median", "sample")
N = 64
FIXTURES = Path(__file__).with_name("fixtures")


def detection(tmp_path, name="det_1", frequencies=(751e6,), detectors=DETECTORS):
    md = detection_metadata(spectra=Spectra(N, 11, "blackman", tuple(detectors)), sample_rate=15.36e6,
                            captures=[Capture(frequency=f, start=1_795_000_000.5 + k, samples=N * 11)
                                      for k, f in enumerate(frequencies)], radio=Radio("sim", "sim"))
    data = np.random.default_rng(3).normal(-90, 3, size=(len(frequencies) * len(detectors), N)).astype(np.float32)
    return write_recording(tmp_path, name, data, md), data


def test_every_detector_comes_back_with_its_bin_frequencies(tmp_path):
    rec, data = detection(tmp_path)
    spectra = read_detector_spectra(rec.meta_path)  # the data file is found beside the metadata
    assert list(spectra.spectra) == list(DETECTORS)
    for i, name in enumerate(DETECTORS):
        assert np.array_equal(spectra.spectra[name], data[i])
    freqs = spectra.frequencies()
    assert spectra.fft_size == N and spectra.bin_width_hz == 15.36e6 / N
    assert freqs[N // 2] == 751e6 and np.allclose(np.diff(freqs), 15.36e6 / N)
    graph = rec.metadata["global"]["ntia-algorithm:data_products"][0]
    assert freqs[0] == pytest.approx(graph["x_start"][0]) and freqs[-1] == pytest.approx(graph["x_stop"][0])
    assert spectra.datetime.startswith("2026-11-18T")


def test_the_graph_not_the_annotations_says_which_samples_are_which_series(tmp_path):
    """A v2 reader follows data_products; annotations are only a courtesy to core-only readers."""
    rec, data = detection(tmp_path)
    md = json.loads(rec.meta_path.read_text())
    md["annotations"] = []
    rec.meta_path.write_text(json.dumps(md))
    spectra = read_detector_spectra(rec.meta_path, rec.data_path)
    assert np.array_equal(spectra.spectra["median"], data[3])


def test_an_annotation_past_the_end_of_a_truncated_file_is_left_out(tmp_path):
    rec, data = detection(tmp_path)
    with open(rec.data_path, "r+b") as f:
        f.truncate(4 * N * 4 + 8)  # the last detector (sample) is cut short
    spectra = read_detector_spectra(rec.meta_path)
    assert list(spectra.spectra) == list(DETECTORS[:4])


def test_an_iq_recording_is_not_a_detection_recording(tmp_path):
    md = iq_metadata(sample_rate=1e6, capture=Capture(frequency=1e8, start=0.0, samples=10), radio=Radio("sim", "sim"))
    rec = write_recording(tmp_path, "iq_1", np.zeros(10, np.complex64), md)
    with pytest.raises(ValueError, match="not a detection recording"):
        read_detector_spectra(rec.meta_path)


def test_a_survey_recording_gives_every_steps_spectra_the_first_by_default(tmp_path):
    rec, data = detection(tmp_path, "survey_1", frequencies=(701e6, 716e6, 731e6), detectors=("mean", "max"))
    first = read_detector_spectra(rec.meta_path)
    assert first.center_frequency == 701e6 and np.array_equal(first.spectra["max"], data[1])
    steps = capture_spectra(read_metadata(rec.meta_path), np.fromfile(rec.data_path, dtype="<f4"))
    assert [s.center_frequency for s in steps] == [701e6, 716e6, 731e6]
    assert np.array_equal(steps[2].spectra["mean"], data[4]) and np.array_equal(steps[2].spectra["max"], data[5])


def test_a_v1_recording_written_before_is_still_read(tmp_path):
    """tests/sigmf_out/fixtures/v1_detection: a detection recording in the v1 layout (ntia-core
    v1.0.0 measurement, one FrequencyDomainDetection annotation per detector), as scos-gr wrote
    them before the v2 metadata; the dashboard's plots and the field summary must keep reading it."""
    for ext in ("sigmf-meta", "sigmf-data"):
        shutil.copyfile(FIXTURES / f"v1_detection.{ext}", tmp_path / f"v1_detection.{ext}")
    meta = json.loads((tmp_path / "v1_detection.sigmf-meta").read_text())
    assert meta["annotations"][0]["ntia-core:annotation_type"] == "FrequencyDomainDetection"
    assert "ntia-algorithm:data_products" not in meta["global"]
    spectra = read_detector_spectra(tmp_path / "v1_detection.sigmf-meta")
    data = np.fromfile(tmp_path / "v1_detection.sigmf-data", dtype="<f4").reshape(5, N)
    assert list(spectra.spectra) == list(DETECTORS)
    for i, name in enumerate(DETECTORS):
        assert np.array_equal(spectra.spectra[name], data[i])
    assert spectra.center_frequency == 751e6 and spectra.fft_size == N
    assert int(np.argmax(spectra.spectra["mean"])) == N // 2 + 4  # the fixture's tone


def test_a_v1_annotation_without_a_label_is_named_by_its_ntia_detector(tmp_path):
    for ext in ("sigmf-meta", "sigmf-data"):
        shutil.copyfile(FIXTURES / f"v1_detection.{ext}", tmp_path / f"v1_detection.{ext}")
    path = tmp_path / "v1_detection.sigmf-meta"
    md = json.loads(path.read_text())
    for annotation in md["annotations"]:
        annotation.pop("core:label", None)
    path.write_text(json.dumps(md))
    data = np.fromfile(tmp_path / "v1_detection.sigmf-data", dtype="<f4").reshape(5, N)
    assert np.array_equal(read_detector_spectra(path).spectra["median"], data[3])
