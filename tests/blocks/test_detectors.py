"""The detectors' numerics (gnuradio.scos.detectors, no GNU Radio): against numpy, exact and histogram
medians, memory, and the compiled loops bucket for bucket against the numpy code."""
from __future__ import annotations

import numpy as np
import pytest

from gnuradio.scos import detectors as ps


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


@pytest.mark.parametrize("kernels", [ps.KERNELS, None], ids=["compiled", "numpy"])
def test_the_histograms_16_bit_counters_are_added_up_before_they_overflow(kernels, monkeypatch):
    # a bin whose every value falls into one bucket: its counter is the frame count
    monkeypatch.setattr(ps.HistogramMedian, "RECENT_FRAMES", 700)  # 65535 in use: the same rule
    frames = np.full((2_500, 16), 3.0, dtype=np.float32)
    frames[:, 1] = np.linspace(1.0, 2.0, len(frames), dtype=np.float32)  # one octave: 16 buckets
    acc = ps.DetectorAccumulator(16, len(frames), exact_median_bytes=0, kernels=kernels)
    for start in range(0, len(frames), 600):  # batches that do not divide the fold interval
        acc.update(frames[start:start + 600])
    median = acc.median
    assert median.counts.sum(axis=1).tolist() == [2_500] * 16
    assert median.counts[0].max() == 2_500
    # the full-size counters: one bucket of 70,000 frames of one bin (past 16 bits)
    monkeypatch.undo()
    hist = ps.HistogramMedian(1, kernels)
    for _ in range(70):
        hist.update(np.full((1_000, 1), 5.0, dtype=np.float32), 5.0, 5.0)
    assert hist.counts.tolist() == [[70_000]] and hist.result()[0] == pytest.approx(5.0, rel=2 ** -4)


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


@pytest.mark.parametrize("num_frames,fft_size", [(1, 64), (2, 64), (299, 100), (300, 1024), (4, 130)])
def test_the_compiled_exact_median_is_numpys_median_value_for_value(num_frames, fft_size):
    rng = np.random.default_rng(num_frames * fft_size)
    frames = _awkward_frames(rng, max(num_frames, 12), fft_size)[:num_frames]
    frames[:, 5] = 2.5  # a bin of ties
    frames[: num_frames // 2 + 1, 6] = -1.0  # negative values (not a power, but ordered all the same)
    frames[:, 7] = -0.0
    median = ps.ExactMedian(fft_size, num_frames, ps.KERNELS)
    median.update(frames)
    rows = np.sort(frames.astype(np.float64), axis=0)  # numpy.median: the mean of the middle value(s)
    want = (rows[(num_frames - 1) // 2] + rows[num_frames // 2]) / 2.0
    np.testing.assert_array_equal(median.result(), want)


def test_the_next_capture_of_an_accumulator_reuses_the_frames_memory_and_forgets_the_last():
    rng = np.random.default_rng(13)
    first, second = (rng.exponential(1.0, (2, 40, 32)) * np.array([1.0, 1e3])[:, None, None]).astype(np.float32)
    acc = ps.DetectorAccumulator(32, 40)
    acc.update(first)
    acc.result()
    memory = acc.median._frames
    acc.reset()
    acc.update(second[:25])
    acc.update(second[25:])
    assert acc.median._frames is memory
    np.testing.assert_allclose(acc.result()["median"], np.median(second.astype(np.float64), axis=0), rtol=1e-7)
