"""Detector spectra read back from a detection recording, as the /spectrum endpoint and
`scos-gr acquire` read them."""
from __future__ import annotations

import json

import numpy as np
import pytest

from scos_gr.sigmf_out.metadata import detection_metadata, iq_metadata
from scos_gr.sigmf_out.spectra import read_detector_spectra
from scos_gr.sigmf_out.writer import write_recording

DETECTORS = ["min", "max", "mean", "median", "sample"]
N = 64


def detection(tmp_path, name="det_1"):
    md = detection_metadata(fft_size=N, num_ffts=11, sample_rate=15.36e6, center_frequency=751e6,
                            window="blackman", detectors=DETECTORS, capture_start=1_795_000_000.5)
    data = np.random.default_rng(3).normal(-90, 3, size=(len(DETECTORS), N)).astype(np.float32)
    return write_recording(tmp_path, name, data, md), data


def test_every_detector_comes_back_with_its_bin_frequencies(tmp_path):
    rec, data = detection(tmp_path)
    spectra = read_detector_spectra(rec.meta_path)  # the data file is found beside the metadata
    assert list(spectra.spectra) == DETECTORS
    for i, name in enumerate(DETECTORS):
        assert np.array_equal(spectra.spectra[name], data[i])
    freqs = spectra.frequencies()
    assert spectra.fft_size == N and spectra.bin_width_hz == 15.36e6 / N
    assert freqs[N // 2] == 751e6 and np.allclose(np.diff(freqs), 15.36e6 / N)
    assert spectra.datetime.startswith("2026-11-18T")


def test_the_ntia_detector_name_stands_in_for_a_missing_label(tmp_path):
    rec, data = detection(tmp_path)
    md = json.loads(rec.meta_path.read_text())
    for annotation in md["annotations"]:
        annotation.pop("core:label", None)
    rec.meta_path.write_text(json.dumps(md))
    spectra = read_detector_spectra(rec.meta_path, rec.data_path)
    assert np.array_equal(spectra.spectra["median"], data[3])


def test_an_annotation_past_the_end_of_a_truncated_file_is_left_out(tmp_path):
    rec, data = detection(tmp_path)
    with open(rec.data_path, "r+b") as f:
        f.truncate(4 * N * 4 + 8)  # the last detector (sample) is cut short
    spectra = read_detector_spectra(rec.meta_path)
    assert list(spectra.spectra) == DETECTORS[:4]


def test_an_iq_recording_is_not_a_detection_recording(tmp_path):
    md = iq_metadata(sample_rate=1e6, center_frequency=1e8, capture_start=0.0, num_samples=10)
    rec = write_recording(tmp_path, "iq_1", np.zeros(10, np.complex64), md)
    with pytest.raises(ValueError, match="not a detection recording"):
        read_detector_spectra(rec.meta_path)


def test_a_survey_recording_gives_its_first_steps_spectra_with_its_first_frequency(tmp_path):
    from scos_gr.sigmf_out.metadata import CaptureStep, set_captures

    md = detection_metadata(fft_size=N, num_ffts=11, sample_rate=15.36e6, center_frequency=701e6,
                            window="blackman", detectors=DETECTORS, capture_start=1_795_000_000.5)
    template, d = md["annotations"], len(DETECTORS)
    # as survey_sink writes them: step 1's annotations after step 0's, same labels
    md["annotations"] = [dict(a, **{"core:sample_start": (s * d + i) * N}) for s in range(2)
                         for i, a in enumerate(template)]
    set_captures(md, [CaptureStep(frequency=701e6 + 15e6 * s, sample_start=s * d * N,
                                  capture_start=1_795_000_000.5 + s) for s in range(2)])
    data = np.concatenate([np.full((d, N), -90.0), np.full((d, N), -50.0)]).astype(np.float32)
    rec = write_recording(tmp_path, "survey_1", data, md)
    spectra = read_detector_spectra(rec.meta_path)
    assert spectra.center_frequency == 701e6
    assert all((values == -90.0).all() for values in spectra.spectra.values())
