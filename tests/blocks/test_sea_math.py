"""The SEA data products' numerics against numpy on the whole capture in memory (the way NTIA's
scos-actions computes them), fed in batches of every size, and the Y-factor maths."""
from __future__ import annotations

import math

import numpy as np
import pytest

from gnuradio.scos import sea_math
from gnuradio.scos.receiver import BOLTZMANN_J_PER_K, T0_K
from gnuradio.scos.sea_math import (
    MEDIAN_MAX_ERROR_DB, ApdCounter, LevelGrid, PfpAccumulator, ProductError, PvtAccumulator, y_factor,
)


def noise_power(n: int, seed: int = 1, scale: float = 1e-4) -> np.ndarray:
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(n) + 1j * rng.standard_normal(n)) * scale
    return (np.abs(x) ** 2).astype(np.float32)


def feed(acc, power: np.ndarray, sizes=(1, 7, 1000, 65536, 3)) -> None:
    """``power`` in batches of the given sizes, round and round."""
    i = k = 0
    while i < len(power):
        size = sizes[k % len(sizes)]
        acc.update(power[i:i + size])
        i += size
        k += 1


@pytest.mark.parametrize("kernels", [True, False], ids=["C", "numpy"])
@pytest.mark.parametrize("step", [1.0, 0.5, 0.02])
def test_apd_counts_exactly_the_samples_above_each_level(kernels, step):
    if kernels and sea_math.KERNELS is None:
        pytest.fail("the C kernels are not built (make deps)")
    power = noise_power(300_000)
    power[:5] = [0.0, np.nan, -1.0, np.inf, 1e-30]  # no power, not a number, below every level, above every level
    grid = LevelGrid(-110.0, -50.0, step)
    counter = ApdCounter(grid, gain_correction_db=2.5, use_kernels=kernels)
    feed(counter, power)
    with np.errstate(invalid="ignore"):
        expected = np.array([np.count_nonzero(power > t) for t in counter.thresholds])
    assert np.array_equal(counter.exceed_counts(), expected)
    assert np.allclose(counter.exceed_percent(), 100.0 * expected / len(power))
    # the thresholds are the levels, dBm at the reference, less the gain correction, as |x|^2 across 50 ohm
    assert 10 * np.log10(counter.thresholds[0] / 50.0) + 30 + 2.5 == pytest.approx(-110.0, abs=1e-5)


def test_apd_kernel_and_numpy_agree_and_reset_forgets():
    power = noise_power(200_000, seed=4)
    grid = LevelGrid(-120.0, -60.0, 1.0)
    fast, slow = ApdCounter(grid), ApdCounter(grid, use_kernels=False)
    fast.update(noise_power(1000, seed=9))
    fast.reset()
    feed(fast, power)
    slow.update(power)
    assert np.array_equal(fast.exceed_counts(), slow.exceed_counts())
    assert np.array_equal(fast.fine, slow.fine)
    assert fast.samples == slow.samples == len(power)


def test_the_median_is_within_one_fine_bucket_of_numpys():
    power = noise_power(500_001, seed=2)
    counter = ApdCounter(LevelGrid(-180.0, -30.0, 1.0), gain_correction_db=-1.0)
    feed(counter, power)
    exact = 10 * math.log10(np.median(power.astype(np.float64)) / 50.0) + 30 - 1.0
    assert abs(counter.median_dbm() - exact) <= MEDIAN_MAX_ERROR_DB
    assert MEDIAN_MAX_ERROR_DB < 0.035


@pytest.mark.parametrize("args, message", [
    ((-30.0, -180.0, 1.0), "must be above"),
    ((-180.0, -30.0, 0.0), "step > 0"),
    ((-180.0, -30.0, 0.7), "whole number of 0.7 dB steps"),
    ((-180.0, float("nan"), 1.0), "finite"),
])
def test_a_level_grid_that_does_not_add_up_is_refused(args, message):
    with pytest.raises(ProductError, match=message):
        LevelGrid(*args)


def test_pvt_is_numpys_mean_and_max_per_bin_whatever_the_batches():
    power = noise_power(14 * 5000, seed=3)
    acc = PvtAccumulator(5000, 14)
    feed(acc, power, sizes=(4999, 2, 12_000, 1))
    assert acc.complete
    rows = power.astype(np.float64).reshape(14, 5000)
    assert np.allclose(acc.mean_watts(), rows.mean(axis=1) / 50.0, rtol=1e-6)
    assert np.array_equal(acc.max_watts(), rows.max(axis=1) / 50.0)
    acc.reset()
    assert acc.done == 0 and acc.update(power[:10]) == 10


def test_pvt_takes_no_more_than_its_capture():
    acc = PvtAccumulator(100, 3)
    assert acc.update(np.ones(1000, dtype=np.float32)) == 300
    assert acc.complete


def test_pfp_is_the_scos_actions_reshape_whatever_the_batches():
    points, window, frames = 40, 25, 30
    power = noise_power(points * window * frames, seed=5)
    power[np.arange(len(power)) % (points * window) < 7 * window] *= 100.0  # the first 7 windows of each frame "on"
    acc = PfpAccumulator(window, points)
    feed(acc, power, sizes=(24, 1, 3001, 999))
    assert acc.frames == frames
    cube = power.astype(np.float64).reshape(frames, points, window) / 50.0  # (frame, position, sample)
    means, maxima = cube.mean(axis=2), cube.max(axis=2)
    got = acc.series_watts()
    expected = {"min-of-mean": means.min(axis=0), "max-of-mean": means.max(axis=0), "mean-of-mean": means.mean(axis=0),
                "min-of-max": maxima.min(axis=0), "max-of-max": maxima.max(axis=0), "mean-of-max": maxima.mean(axis=0)}
    assert list(got) == list(sea_math.PFP_SERIES)
    for name in got:
        assert np.allclose(got[name], expected[name], rtol=1e-6), name
    assert got["mean-of-mean"][:7].min() > 50 * got["mean-of-mean"][7:].max()  # the on part where it was put


def test_pfp_refuses_a_capture_that_is_not_whole_frames():
    acc = PfpAccumulator(10, 4)
    acc.update(np.ones(50, dtype=np.float32))
    with pytest.raises(ProductError, match="not a whole number of frames"):
        acc.series_watts()


def test_samples_of_a_duration_must_be_whole():
    assert sea_math.samples_of(10e-3, 14e6, "bin") == 140_000
    with pytest.raises(ProductError, match="whole number of samples"):
        sea_math.samples_of(10e-3, 15.36e6 / 7, "pvt bin")


@pytest.mark.parametrize("gain_db, nf_db, enr_db", [(0.0, 0.0, 15.0), (10.0, 5.0, 15.0), (-3.0, 12.0, 6.0),
                                                    (40.0, 2.0, 25.0)])
def test_y_factor_recovers_the_receiver_that_made_the_powers(gain_db, nf_db, enr_db):
    bandwidth = 14e6
    gain, factor, enr = 10 ** (gain_db / 10), 10 ** (nf_db / 10), 10 ** (enr_db / 10)
    kT0B = BOLTZMANN_J_PER_K * T0_K * bandwidth
    off, on = kT0B * factor * gain, kT0B * (factor + enr) * gain
    result = y_factor(on, off, enr_db, bandwidth, T0_K, frequency=751e6)
    assert result.gain_db == pytest.approx(gain_db, abs=1e-9)
    assert result.noise_figure_db == pytest.approx(nf_db, abs=1e-9)
    assert result.y_db == pytest.approx(10 * math.log10((factor + enr) / factor))


def test_y_factor_without_the_diode_seen_is_an_error_not_a_number():
    with pytest.raises(ProductError, match="not above the power with it off"):
        y_factor(1e-12, 1e-12, 15.0, 14e6, frequency=751e6)
    with pytest.raises(ProductError, match="must be > 0 W"):
        y_factor(0.0, 1e-12, 15.0, 14e6)
