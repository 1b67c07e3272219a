"""The numerics of NTIA's SEA data products and of the Y-factor calibration, without GNU Radio.

The blocks in :mod:`.sea` and :mod:`.y_factor` feed these accumulators with batches of power
values (|x|^2 of complex volts across 50 ohm: V^2) as they arrive, one capture at a time, so
memory never depends on a capture's length; the tests check each against numpy on the whole
capture in memory (the way NTIA's scos-actions computes them).

- APD (:class:`ApdCounter`): for each level of a fixed grid (``min_dbm`` to ``max_dbm`` in
  ``step_db``), the percentage of samples whose power exceeds it, exactly: a fine logarithmic
  histogram of the powers (2^7 buckets per octave, 0.034 dB) plus, for the values in a level's
  own bucket, a comparison with the level. The per-sample loop is C (``blocks/lib/sea_kernels.c``,
  ``KERNELS``; numpy otherwise, same counts). The same histogram gives the median power,
  interpolated in its bucket (within 0.034 dB of the exact one).
- PVT (:class:`PvtAccumulator`): mean and max power per time bin of ``bin_samples`` samples.
- PFP (:class:`PfpAccumulator`): the frame period cut into ``points`` windows; each window's mean
  and max power, then, over the frames of the capture, the min, max and mean of each at every
  position in the frame.
- :func:`y_factor`: gain and noise figure from the mean powers with a noise diode on and off.

Levels and powers are in dBm at the calibration's reference point: the calibration's gain
correction (dB) is added, as the detectors add it.
"""
from __future__ import annotations

import ctypes
import logging
import math
from dataclasses import dataclass

import numpy as np

from scos_gr.errors import BlockError

from .kernels import array_arg, load_library
from .receiver import BOLTZMANN_J_PER_K, T0_K
from .units import IMPEDANCE_OHM

_log = logging.getLogger(__name__)

#: bits of a float32 dropped to make the median's fine histogram code: 7 mantissa bits remain
FINE_SHIFT = 16
#: buckets of the fine histogram: every non-negative float32 bit pattern >> FINE_SHIFT
FINE_BUCKETS = 1 << (31 - FINE_SHIFT)
#: the median's largest error in dB (one fine bucket: 2^-7 of the value)
MEDIAN_MAX_ERROR_DB = 10 * math.log10(1 + 2.0 ** -(23 - FINE_SHIFT))


class ProductError(BlockError, ValueError):
    """A data product's parameters do not fit the capture (or each other)."""


def _declare(lib: ctypes.CDLL) -> None:
    size = ctypes.c_size_t
    lib.scos_apd_count.argtypes = [array_arg(np.float32), size, ctypes.c_int, array_arg(np.uint32), size,
                                   array_arg(np.int32), array_arg(np.uint32), array_arg(np.float32), size,
                                   array_arg(np.uint32)]
    lib.scos_apd_count.restype = None


#: The compiled loop (``blocks/lib/sea_kernels.c``; None: numpy does it).
KERNELS = load_library("sea_kernels", _declare)
if KERNELS is None:
    _log.warning("apd: sea kernels (_sea_kernels) not built; using numpy, several times slower per sample")


def watts_to_dbm(watts: np.ndarray, gain_correction_db: float = 0.0) -> np.ndarray:
    """Watts -> dBm plus the gain correction; zero gives a finite floor (as ``units.to_dbm``)."""
    return 10.0 * np.log10(np.maximum(np.asarray(watts, dtype=np.float64), np.finfo(np.float64).tiny)) + 30.0 \
        + gain_correction_db


@dataclass(frozen=True)
class LevelGrid:
    """The APD's amplitude levels: ``min_dbm`` to ``max_dbm`` in ``step_db`` steps (both ends in)."""

    min_dbm: float
    max_dbm: float
    step_db: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.min_dbm) and math.isfinite(self.max_dbm) and self.step_db > 0):
            raise ProductError(f"apd: levels {self.min_dbm}..{self.max_dbm} dBm in {self.step_db} dB steps: "
                               "the ends must be finite and the step > 0")
        if self.max_dbm <= self.min_dbm:
            raise ProductError(f"apd: max_dbm {self.max_dbm} must be above min_dbm {self.min_dbm}")
        steps = (self.max_dbm - self.min_dbm) / self.step_db
        if abs(steps - round(steps)) > 1e-6:
            raise ProductError(f"apd: {self.min_dbm}..{self.max_dbm} dBm is not a whole number of {self.step_db} dB "
                               "steps")
        if round(steps) + 1 > 100_000:
            raise ProductError(f"apd: {round(steps) + 1} levels is too many (at most 100000)")

    @property
    def count(self) -> int:
        return int(round((self.max_dbm - self.min_dbm) / self.step_db)) + 1

    def levels_dbm(self) -> np.ndarray:
        return self.min_dbm + np.arange(self.count) * self.step_db

    def thresholds(self, gain_correction_db: float = 0.0) -> np.ndarray:
        """The levels as powers |x|^2 (V^2) of the samples, before the gain correction: float32,
        the exact values each sample is compared with."""
        watts = 10.0 ** ((self.levels_dbm() - 30.0 - gain_correction_db) / 10.0)
        return (watts * IMPEDANCE_OHM).astype(np.float32)


class ApdCounter:
    """Counts one capture's powers: the fine histogram of their float32 codes (bits >>
    ``FINE_SHIFT``) and, per level, how many of the values in the level's own bucket exceed it.
    Together they give, exactly, how many values exceed each level (:meth:`exceed_counts`), and
    the median (:meth:`median_dbm`). See ``blocks/lib/sea_kernels.c``."""

    def __init__(self, grid: LevelGrid, gain_correction_db: float = 0.0, use_kernels: bool = True):
        self.grid, self.gain_correction_db = grid, float(gain_correction_db)
        self.thresholds = grid.thresholds(self.gain_correction_db)
        if np.any(np.diff(self.thresholds) <= 0) or not self.thresholds[0] > np.finfo(np.float32).tiny:
            raise ProductError(f"apd: levels {grid.min_dbm}..{grid.max_dbm} dBm in {grid.step_db} dB steps are not "
                               "distinct normal float32 powers")
        self._kernels = KERNELS if use_kernels else None
        self.level_codes = (self.thresholds.view(np.int32) >> FINE_SHIFT).astype(np.uint32)
        self._first_level = np.zeros(FINE_BUCKETS, dtype=np.int32)
        for k in range(len(self.thresholds) - 1, -1, -1):  # the first threshold of each bucket wins
            self._first_level[self.level_codes[k]] = k + 1
        self._fine = np.zeros(FINE_BUCKETS, dtype=np.uint64)
        self._above = np.zeros(len(self.thresholds), dtype=np.uint64)
        # the C loop's uint32 counters (two interleaved copies of the histogram), added into the
        # totals above before any could overflow and whenever the totals are read
        self._fine2 = np.zeros(2 * FINE_BUCKETS, dtype=np.uint32)
        self._above32 = np.zeros(len(self.thresholds), dtype=np.uint32)
        self._pending = 0
        self.samples = 0

    def reset(self) -> None:
        for array in (self._fine, self._above, self._fine2, self._above32):
            array[:] = 0
        self._pending = 0
        self.samples = 0

    @property
    def fine(self) -> np.ndarray:
        """The fine histogram: counts per float32 code (bits >> FINE_SHIFT; 0 for values <= 0)."""
        self._flush()
        return self._fine

    def _flush(self) -> None:
        if self._pending:
            self._fine += self._fine2.reshape(2, -1).sum(axis=0, dtype=np.uint64)
            self._above += self._above32
            self._fine2[:] = 0
            self._above32[:] = 0
            self._pending = 0

    def update(self, power: np.ndarray) -> None:
        """Count ``power`` (float32 |x|^2, any length)."""
        power = np.ascontiguousarray(power, dtype=np.float32)
        if not len(power):
            return
        if self._kernels is None:
            positive = power > 0  # NaN, zero and negative exceed no level, as in the C loop
            codes = np.where(positive, power.view(np.int32) >> FINE_SHIFT, 0)
            self._fine += np.bincount(codes, minlength=FINE_BUCKETS).astype(np.uint64)
            for k, (code, threshold) in enumerate(zip(self.level_codes, self.thresholds)):
                self._above[k] += np.count_nonzero((codes == code) & (power > threshold))
        else:
            for start in range(0, len(power), 1 << 30):  # a uint32 counter never sees 2^32 values
                part = power[start:start + (1 << 30)]
                if self._pending + len(part) >= 1 << 31:
                    self._flush()
                self._kernels.scos_apd_count(part, len(part), FINE_SHIFT, self._fine2, FINE_BUCKETS,
                                             self._first_level, self.level_codes, self.thresholds,
                                             len(self.thresholds), self._above32)
                self._pending += len(part)
        self.samples += len(power)

    def exceed_counts(self) -> np.ndarray:
        """Per level, how many of the values counted exceed it."""
        self._flush()
        at_or_below = np.cumsum(self._fine)[self.level_codes]  # values in the level's bucket or below
        return (self.samples - at_or_below) + self._above

    def exceed_percent(self) -> np.ndarray:
        """Per level, the percentage of the samples counted whose power exceeds it."""
        if not self.samples:
            raise ProductError("apd: no samples counted")
        return 100.0 * self.exceed_counts().astype(np.float64) / self.samples

    def median_dbm(self) -> float:
        """The median power (dBm, gain correction added), interpolated inside its fine bucket."""
        if not self.samples:
            raise ProductError("apd: no samples counted")
        cumulative = np.cumsum(self.fine.astype(np.float64))
        half = self.samples / 2.0
        code = int(np.searchsorted(cumulative, half, side="left"))
        before = cumulative[code - 1] if code else 0.0
        low = np.array([code << FINE_SHIFT], dtype=np.int32).view(np.float32)[0] if code else 0.0
        high = np.array([(code + 1) << FINE_SHIFT], dtype=np.int32).view(np.float32)[0]
        inside = (half - before) / max(float(self.fine[code]), 1.0)
        power = float(low) + inside * (float(high) - float(low))
        return float(watts_to_dbm(power / IMPEDANCE_OHM, self.gain_correction_db))


class PvtAccumulator:
    """Mean and max power per time bin of ``bin_samples`` samples, over ``bins`` bins."""

    def __init__(self, bin_samples: int, bins: int):
        if bin_samples < 1 or bins < 1:
            raise ProductError(f"pvt: {bins} bins of {bin_samples} samples")
        self.bin_samples, self.bins = int(bin_samples), int(bins)
        self.sums = np.zeros(self.bins, dtype=np.float64)
        self.maxima = np.zeros(self.bins, dtype=np.float64)
        self.reset()

    def reset(self) -> None:
        self.done = 0  # complete bins
        self._partial_sum, self._partial_max, self._partial_n = 0.0, -np.inf, 0

    @property
    def complete(self) -> bool:
        return self.done == self.bins

    def update(self, power: np.ndarray) -> int:
        """Take power values up to the capture's end; returns how many were taken."""
        power = np.asarray(power, dtype=np.float32)
        room = (self.bins - self.done) * self.bin_samples - self._partial_n
        power = power[:room]
        taken = len(power)
        if self._partial_n:
            head = power[:self.bin_samples - self._partial_n]
            self._partial_sum += float(np.sum(head, dtype=np.float64))
            self._partial_max = max(self._partial_max, float(head.max())) if len(head) else self._partial_max
            self._partial_n += len(head)
            power = power[len(head):]
            if self._partial_n == self.bin_samples:
                self._close(self._partial_sum, self._partial_max)
        whole = len(power) // self.bin_samples
        if whole:
            rows = power[:whole * self.bin_samples].reshape(whole, self.bin_samples)
            self.sums[self.done:self.done + whole] = rows.sum(axis=1, dtype=np.float64)
            self.maxima[self.done:self.done + whole] = rows.max(axis=1)
            self.done += whole
            power = power[whole * self.bin_samples:]
        if len(power):
            self._partial_sum, self._partial_max = float(np.sum(power, dtype=np.float64)), float(power.max())
            self._partial_n = len(power)
        return taken

    def _close(self, total: float, peak: float) -> None:
        self.sums[self.done], self.maxima[self.done] = total, peak
        self.done += 1
        self._partial_sum, self._partial_max, self._partial_n = 0.0, -np.inf, 0

    def mean_watts(self) -> np.ndarray:
        return self.sums / self.bin_samples / IMPEDANCE_OHM

    def max_watts(self) -> np.ndarray:
        return self.maxima / IMPEDANCE_OHM


class PfpAccumulator:
    """Periodic frame power: frames of ``points`` windows of ``window_samples`` samples; per
    position in the frame, the min, max and sum over frames of each window's mean and max."""

    def __init__(self, window_samples: int, points: int):
        if window_samples < 1 or points < 1:
            raise ProductError(f"pfp: {points} points of {window_samples} samples")
        self.window_samples, self.points = int(window_samples), int(points)
        shape = (2, self.points)  # row 0: the windows' means (as sums), row 1: their maxima
        self.minimum = np.empty(shape)
        self.maximum = np.empty(shape)
        self.total = np.empty(shape)
        self.reset()

    def reset(self) -> None:
        self.minimum.fill(np.inf)
        self.maximum.fill(-np.inf)
        self.total.fill(0.0)
        self.windows = 0  # complete windows so far
        self._partial: list[np.ndarray] = []
        self._partial_n = 0

    @property
    def frames(self) -> int:
        return self.windows // self.points

    def update(self, power: np.ndarray) -> None:
        power = np.asarray(power, dtype=np.float32)
        if self._partial_n:
            head = power[:self.window_samples - self._partial_n]
            self._partial.append(head)
            self._partial_n += len(head)
            power = power[len(head):]
            if self._partial_n < self.window_samples:
                return
            window = np.concatenate(self._partial)
            self._windows(np.array([window.sum(dtype=np.float64)]), np.array([window.max()], dtype=np.float64))
            self._partial, self._partial_n = [], 0
        whole = len(power) // self.window_samples
        if whole:
            rows = power[:whole * self.window_samples].reshape(whole, self.window_samples)
            self._windows(rows.sum(axis=1, dtype=np.float64), rows.max(axis=1).astype(np.float64))
        rest = power[whole * self.window_samples:]
        if len(rest):
            self._partial, self._partial_n = [rest.copy()], len(rest)

    def _windows(self, sums: np.ndarray, maxima: np.ndarray) -> None:
        """Fold windows, in order, into their positions in the frame."""
        stats = np.vstack((sums, maxima))
        while stats.shape[1]:
            position = self.windows % self.points
            take = min(stats.shape[1], self.points - position)
            if take == self.points and stats.shape[1] >= self.points:  # whole frames at once
                frames = stats.shape[1] // self.points
                block = stats[:, :frames * self.points].reshape(2, frames, self.points)
                np.minimum(self.minimum, block.min(axis=1), out=self.minimum)
                np.maximum(self.maximum, block.max(axis=1), out=self.maximum)
                self.total += block.sum(axis=1)
                take = frames * self.points
            else:
                part = stats[:, :take]
                where = slice(position, position + take)
                np.minimum(self.minimum[:, where], part, out=self.minimum[:, where])
                np.maximum(self.maximum[:, where], part, out=self.maximum[:, where])
                self.total[:, where] += part
            self.windows += take
            stats = stats[:, take:]

    def series_watts(self) -> dict[str, np.ndarray]:
        """The six series (watts): min/max/mean over the frames of each window's mean and max."""
        frames = self.frames
        if not frames or self.windows % self.points:
            raise ProductError(f"pfp: {self.windows} windows are not a whole number of frames of {self.points}")
        scale = np.array([[1.0 / self.window_samples], [1.0]]) / IMPEDANCE_OHM  # sums -> means; V^2 -> W
        low, high, mean = self.minimum * scale, self.maximum * scale, self.total / frames * scale
        return {"min-of-mean": low[0], "max-of-mean": high[0], "mean-of-mean": mean[0],
                "min-of-max": low[1], "max-of-max": high[1], "mean-of-max": mean[1]}


#: The PFP's series, in the order of the data (the ntia-algorithm example's names).
PFP_SERIES = ("min-of-mean", "max-of-mean", "mean-of-mean", "min-of-max", "max-of-max", "mean-of-max")
#: The PVT's and the PSD's series.
PVT_SERIES = ("mean", "max")


def samples_of(duration_s: float, sample_rate: float, what: str) -> int:
    """``duration_s`` at ``sample_rate`` as a whole number of samples; ProductError otherwise."""
    samples = float(duration_s) * float(sample_rate)
    if abs(samples - round(samples)) > 1e-6 * max(1.0, samples) or round(samples) < 1:
        raise ProductError(f"{what}: {duration_s * 1e3:g} ms at {sample_rate:g} S/s is {samples:g} samples; it must "
                           "be a whole number of samples (>= 1)")
    return int(round(samples))


@dataclass(frozen=True)
class YFactorResult:
    """One frequency's Y-factor calibration: the receiver's gain and noise figure (dB)."""

    frequency: float
    gain_db: float
    noise_figure_db: float
    y_db: float
    power_off_dbm: float
    power_on_dbm: float


def y_factor(power_on_w: float, power_off_w: float, enr_db: float, bandwidth_hz: float,
             temperature_k: float = T0_K, frequency: float = 0.0) -> YFactorResult:
    """Gain and noise figure from the mean powers (W) with the noise diode on and off.

    Y = P_on / P_off; the noise factor F = ENR / (Y - 1) (ENR linear; the cold source at the
    reference temperature); the gain G = P_on / (k T B (ENR + F)), B the equivalent noise
    bandwidth of the power measurement. ProductError when Y is not above 1 (the diode was not
    seen: no gain or noise figure follows).
    """
    if not (power_on_w > 0 and power_off_w > 0):
        raise ProductError(f"y-factor at {frequency / 1e6:g} MHz: powers must be > 0 W (on {power_on_w}, "
                           f"off {power_off_w})")
    y = power_on_w / power_off_w
    if not y > 1.0 + 1e-9:
        raise ProductError(f"y-factor at {frequency / 1e6:g} MHz: the power with the noise diode on is not above "
                           f"the power with it off (Y = {10 * math.log10(y):.3f} dB): is the diode switched?")
    enr = 10.0 ** (enr_db / 10.0)
    factor = enr / (y - 1.0)
    gain = power_on_w / (BOLTZMANN_J_PER_K * temperature_k * bandwidth_hz * (enr + factor))
    return YFactorResult(frequency=float(frequency), gain_db=10 * math.log10(gain),
                         noise_figure_db=10 * math.log10(factor), y_db=10 * math.log10(y),
                         power_off_dbm=10 * math.log10(power_off_w) + 30, power_on_dbm=10 * math.log10(power_on_w) + 30)
