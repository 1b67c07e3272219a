"""power_stats: the spec's normalisation and reference vector, detectors against numpy, tags."""
from __future__ import annotations

import importlib

import numpy as np
import pmt
import pytest
from gnuradio import blocks, fft, gr
from gnuradio.fft import window

from gnuradio import scos

# the module, not the block class of the same name that gnuradio.scos exports
ps = importlib.import_module("gnuradio.scos.power_stats")

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
    scale = ps.watts_scale("blackman", 64)
    for c in range(3):
        expected = ps.to_dbm(frames[c * 10:(c + 1) * 10].mean(axis=0) * scale)
        np.testing.assert_allclose(spectra[2 * c], expected, atol=1e-3)


@pytest.mark.parametrize("num_frames", [299, 300])
def test_exact_detectors_match_numpy(num_frames):
    rng = np.random.default_rng(num_frames)
    frames = (rng.exponential(1.0, (num_frames, 256)) * rng.uniform(1e-12, 1e-3, 256)).astype(np.float32)
    acc = ps.DetectorAccumulator(256, num_frames)
    acc.update(frames[:100])
    acc.update(frames[100:])
    assert isinstance(acc.median, ps.ExactMedian)
    got = acc.result()
    np.testing.assert_allclose(got["median"], np.median(frames.astype(np.float64), axis=0), rtol=1e-7)
    np.testing.assert_array_equal(got["min"], frames.min(axis=0))
    np.testing.assert_array_equal(got["max"], frames.max(axis=0))
    np.testing.assert_allclose(got["mean"], frames.astype(np.float64).mean(axis=0), rtol=1e-6)
    np.testing.assert_array_equal(got["sample"], frames[-1])


def test_histogram_median_is_within_its_documented_quantisation_of_numpy():
    rng = np.random.default_rng(7)
    frames = (rng.exponential(1.0, (6001, 512)) * np.geomspace(1e-15, 1e2, 512)).astype(np.float32)
    frames[5, 3] = 0.0  # zero power (log of nothing) must not break the histogram
    acc = ps.DetectorAccumulator(512, len(frames), exact_median_bytes=0)
    for start in range(0, len(frames), 1000):
        acc.update(frames[start:start + 1000])
    assert isinstance(acc.median, ps.HistogramMedian)
    error_db = 10 * np.log10(acc.result()["median"] / np.median(frames, axis=0))
    assert ps.HIST_MAX_ERROR_DB == pytest.approx(0.263, abs=0.001)
    assert np.abs(error_db).max() <= ps.HIST_MAX_ERROR_DB  # one bucket: 2^-4 of the value
    assert np.abs(error_db).mean() < 0.02  # interpolation inside the bucket does much better


def test_histogram_memory_does_not_grow_with_the_number_of_frames():
    rng = np.random.default_rng(8)
    sizes = []
    for num_frames in (2_000, 40_000):
        acc = ps.DetectorAccumulator(64, num_frames, ["median"], exact_median_bytes=0)
        for _ in range(num_frames // 2_000):
            acc.update(rng.exponential(1e-9, (2_000, 64)).astype(np.float32))
        sizes.append(acc.median.counts.nbytes)
    assert sizes[1] <= sizes[0] * 1.5  # only the dynamic range seen matters (tails widen slowly)
    assert sizes[1] < 40_000 * 64 * 4 / 10


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


# --- the compiled loops (blocks/lib/detector_kernels.c) against the numpy code -----------------

def test_the_compiled_detector_loops_are_installed_and_used_by_default():
    assert ps.KERNELS is not None, "make deps builds blocks/lib into the venv"
    assert ps.DetectorAccumulator(64, 10)._kernels is ps.KERNELS


def _awkward_frames(rng: np.random.Generator, num_frames: int, fft_size: int) -> np.ndarray:
    """Noise over 60 dB of bin levels, a strong tone, zeros, a denormal and an infinity."""
    frames = (rng.exponential(1.0, (num_frames, fft_size)) * np.geomspace(1e-12, 1e-6, fft_size)).astype(np.float32)
    frames[:, fft_size // 3] *= 1e5
    frames[3, 1] = 0.0
    frames[7, 2] = np.float32(1e-42)
    frames[11, 4] = np.inf
    return frames


@pytest.mark.parametrize("exact_median_bytes", [ps.EXACT_MEDIAN_BYTES, 0], ids=["exact median", "histogram median"])
def test_kernels_and_numpy_give_the_same_detectors(exact_median_bytes):
    rng = np.random.default_rng(11)
    frames = _awkward_frames(rng, 2_500, 256)
    results = []
    for kernels in (ps.KERNELS, None):
        acc = ps.DetectorAccumulator(256, len(frames), exact_median_bytes=exact_median_bytes, kernels=kernels)
        for start, stop in ((0, 1), (1, 700), (700, 2_100), (2_100, 2_500)):  # uneven work() calls
            acc.update(frames[start:stop])
        results.append((acc.result(), acc.median))
    (got, got_median), (want, want_median) = results
    for name in ("min", "max", "sample", "median"):
        np.testing.assert_array_equal(got[name], want[name], err_msg=name)
    np.testing.assert_allclose(got["mean"], want["mean"], rtol=1e-6)
    np.testing.assert_array_equal(got["max"], frames.max(axis=0))
    if exact_median_bytes == 0:  # the same histogram, bucket for bucket
        assert got_median.base == want_median.base
        np.testing.assert_array_equal(got_median.counts, want_median.counts)


def test_a_nan_makes_only_its_own_bin_nan_in_both_implementations():
    rng = np.random.default_rng(12)
    frames = _awkward_frames(rng, 1_500, 128)
    frames[20, 9] = np.nan
    for kernels in (ps.KERNELS, None):
        for exact_median_bytes in (ps.EXACT_MEDIAN_BYTES, 0):
            acc = ps.DetectorAccumulator(128, len(frames), exact_median_bytes=exact_median_bytes, kernels=kernels)
            acc.update(frames)
            got = acc.result()
            for name in ("min", "max", "mean", "median"):
                assert np.isnan(got[name][9]), (name, kernels, exact_median_bytes)
                assert not np.isnan(np.delete(got[name], 9)).any(), (name, kernels, exact_median_bytes)


def test_frames_that_are_all_infinite_give_infinite_detectors_in_both_implementations():
    frames = np.full((5, 8), np.inf, dtype=np.float32)  # a saturated, overflowing input
    for kernels in (ps.KERNELS, None):
        acc = ps.DetectorAccumulator(8, 5, exact_median_bytes=0, kernels=kernels)
        acc.update(frames)
        for name, values in acc.result().items():
            assert np.isposinf(values).all(), (name, kernels)
