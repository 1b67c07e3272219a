"""The power_stats block: the spec's normalisation and reference vector through a GNU Radio chain, tags."""
from __future__ import annotations

import numpy as np
import pmt
import pytest
from gnuradio import blocks, fft, gr
from gnuradio.fft import window

from gnuradio import scos
from gnuradio.scos.detectors import watts_scale
from gnuradio.scos.units import to_dbm

REFERENCE_DC = {"min": -9.6423, "max": 11.1856, "mean": 6.9853, "median": 5.9207, "sample": 11.1856}


def _run_detector(samples: np.ndarray, fft_size: int, num_ffts: int, gain_db: float = 0.0,
                  detectors: str = "min,max,mean,median,sample", tags=()):
    """samples -> stream_to_vector -> fft_vcc(blackman, shift) -> |.|^2 -> power_stats -> sink."""
    tb = gr.top_block()
    src = blocks.vector_source_c(samples.astype(np.complex64).tolist(), False, 1, list(tags))
    s2v = blocks.stream_to_vector(gr.sizeof_gr_complex, fft_size)
    f = fft.fft_vcc(fft_size, True, window.blackman(fft_size), True, 1)
    mag = blocks.complex_to_mag_squared(fft_size)
    det = scos.power_stats(fft_size, num_ffts, 1e6, 100e6, "blackman", gain_db, detectors)
    sink = blocks.vector_sink_f(fft_size)
    tb.connect(src, s2v, f, mag, det, sink)
    tb.run()
    assert det.error is None
    return np.array(sink.data()).reshape(-1, fft_size), sink.tags()


def _reference_samples() -> np.ndarray:
    return np.concatenate([np.full(16, 0.1 * (i + 1), dtype=np.complex64) for i in range(11)])


def test_reference_vector_through_the_gnuradio_chain():
    spectra, tags = _run_detector(_reference_samples(), 16, 11)
    assert spectra.shape == (5, 16)
    for row, name in zip(spectra, ["min", "max", "mean", "median", "sample"]):
        assert row[8] == pytest.approx(REFERENCE_DC[name], abs=0.001), name
    assert [pmt.symbol_to_string(t.key) for t in tags] == ["scos_capture"]
    info = pmt.to_python(tags[0].value)
    assert tags[0].offset == 0 and info["num_ffts"] == 11 and info["dropped_samples"] == 0
    assert info["frequency"] == 100e6


def test_gain_correction_is_added_and_detector_order_follows_the_parameter():
    spectra, _ = _run_detector(_reference_samples(), 16, 11, gain_db=-3.5, detectors="median,min")
    assert spectra.shape == (2, 16)
    assert spectra[0][8] == pytest.approx(REFERENCE_DC["median"] - 3.5, abs=0.001)
    assert spectra[1][8] == pytest.approx(REFERENCE_DC["min"] - 3.5, abs=0.001)


def test_consecutive_captures_each_emit_a_tagged_set():
    rng = np.random.default_rng(4)
    x = (rng.standard_normal(64 * 30) + 1j * rng.standard_normal(64 * 30)) * 0.01
    spectra, tags = _run_detector(x, 64, 10, detectors="mean,max")
    assert spectra.shape == (6, 64)
    assert [t.offset for t in tags] == [0, 2, 4]
    # each capture's mean is the mean of its own frames
    frames = np.abs(np.fft.fftshift(np.fft.fft(x.reshape(30, 64) * np.array(window.blackman(64))), axes=1)) ** 2
    scale = watts_scale("blackman", 64)
    for c in range(3):
        expected = to_dbm(frames[c * 10:(c + 1) * 10].mean(axis=0) * scale)
        np.testing.assert_allclose(spectra[2 * c], expected, atol=1e-3)


def test_dropped_sample_tags_are_summed_into_the_capture_tag():
    x = np.zeros(16 * 11, dtype=np.complex64) + 0.01
    tags = [gr.tag_utils.python_to_tag((40, pmt.intern("scos_dropped"),
                                        pmt.to_pmt({"dropped_samples": 1000, "overflows": 1}))),
            gr.tag_utils.python_to_tag((100, pmt.intern("scos_dropped"),
                                        pmt.to_pmt({"dropped_samples": 24, "overflows": 1})))]
    _, out_tags = _run_detector(x, 16, 11, tags=tags)
    info = pmt.to_python(out_tags[0].value)
    assert info["dropped_samples"] == 1024 and info["overflows"] == 2


def test_unknown_detector_or_window_is_refused():
    with pytest.raises(ValueError):
        scos.power_stats(16, 11, 1e6, 1e8, "blackman", 0.0, "min,average")
    with pytest.raises(ValueError):
        scos.power_stats(16, 11, 1e6, 1e8, "triangle-ish", 0.0, "min")
