"""Power detectors over FFT frames: min, max, mean, median and sample, one capture at a time.

The numerics of :class:`~gnuradio.scos.power_stats.power_stats`, kept apart from the block so
they are tested directly against numpy (this module imports no GNU Radio).

Input frames are |FFT(w·x)|^2 of windowed, fftshifted frames of volts, float32, in batches of
rows; :class:`DetectorAccumulator` keeps per bin the running min, max, sum, the last frame and
the median's state, and gives the raw statistics when the capture is complete. The block turns
them into dBm (:func:`watts_scale`, :func:`~.units.to_dbm`).

Three loops are compiled C (``blocks/lib/detector_kernels.c``, loaded with ctypes as ``KERNELS``):
the running min/max/sum and the median's histogram counting, each one pass over a batch, and
the exact median of a short capture. numpy needs several passes and temporaries for the first
two, which made the detector cost more CPU per sample than the whole FFT chain in front of it,
and sorts every bin for the third (4-5 ms of each 300-frame task, after its last frame; the C
selection takes about a quarter of that). When the library is not built, numpy does everything
(same results, tested against each other) and a warning is logged.

The median and its memory
-------------------------
- Short captures (``num_ffts * fft_size * 4`` bytes <= ``EXACT_MEDIAN_BYTES``, 16 MiB: up to
  4096 frames of 1024 bins) keep their frames and take the exact median, the mean of the two
  middle values when ``num_ffts`` is even (``numpy.median``'s definition).
- Longer captures use a per-bin histogram of the float32 values on a logarithmic grid taken
  from the float's own bits: the exponent and the top ``HIST_MANTISSA_BITS`` (4) mantissa
  bits, i.e. 16 linear buckets per octave. A bucket spans at most 2^-4 of its value
  (<= 0.263 dB) and the median is interpolated linearly inside its bucket, so it is within
  0.263 dB of the exact median (and typically within 0.01 dB for noise-like data; measured
  max 0.021 dB over 1024 bins of 8192 frames of Gaussian noise). Memory is
  ``fft_size`` x (dynamic range seen, in buckets) counters, independent of ``num_ffts``, each
  6 bytes (a 16-bit counter that frames are counted into, added every 65535 frames into a
  32-bit total): about 2.4 MB for 1024 bins of Gaussian noise (its power spans ~90 dB: the
  exponential distribution's lower tail), at most 25 MB for the whole float32 range.
"""
from __future__ import annotations

import ctypes
import logging
import math
from typing import Sequence

import numpy as np

from scos_gr.errors import BlockError
from scos_gr.sigmf_out.windows import window_coefficients

from .kernels import array_arg, load_library
from .units import IMPEDANCE_OHM

#: Detectors this block knows, in the order of the spec.
DETECTORS = ("min", "max", "mean", "median", "sample")

EXACT_MEDIAN_BYTES = 16 << 20
HIST_MANTISSA_BITS = 4
#: Largest error of the histogram median, in dB (one bucket: 2^-HIST_MANTISSA_BITS of the value).
HIST_MAX_ERROR_DB = 10 * math.log10(1 + 2.0 ** -HIST_MANTISSA_BITS)
_HIST_SHIFT = 23 - HIST_MANTISSA_BITS
_CODE_MIN = 1 << HIST_MANTISSA_BITS  # smallest normal float32 (exponent field 1)
_CODE_MAX = (255 << HIST_MANTISSA_BITS) - 1  # largest finite float32
#: Frames per numpy pass: a float32 sum of 1024 rows is exact to ~6e-5 (3e-4 dB); the histogram's
#: per-pass cost grows with bins x dynamic range, so fewer, larger passes are faster.
BATCH_ROWS = 1024
_TINY = float(np.finfo(np.float32).tiny)

_log = logging.getLogger(__name__)


class DetectorError(BlockError, ValueError):
    """A detector list or window the detectors cannot compute."""


def _declare(lib: ctypes.CDLL) -> None:
    size = ctypes.c_size_t
    lib.scos_frame_stats.argtypes = [array_arg(np.float32, 2), size, size,
                                     array_arg(np.float32), array_arg(np.float32), array_arg(np.float64)]
    lib.scos_frame_stats.restype = None
    lib.scos_histogram_add.argtypes = [array_arg(np.float32, 2), size, size, ctypes.c_int,
                                       array_arg(np.uint16, 2), ctypes.c_int32, size]
    lib.scos_histogram_add.restype = None
    lib.scos_median_scratch_size.argtypes = [size]
    lib.scos_median_scratch_size.restype = size
    lib.scos_exact_median.argtypes = [array_arg(np.float32, 2), size, size, array_arg(np.uint32), array_arg(np.float64)]
    lib.scos_exact_median.restype = None


#: The compiled loops (``blocks/lib/detector_kernels.c``; None: numpy does everything).
KERNELS = load_library("detector_kernels", _declare)
if KERNELS is None:
    _log.warning("power_stats: detector kernels (_detector_kernels) not built; using numpy, "
                 "which costs about twice the CPU per sample")


def parse_detectors(detectors: str | Sequence[str]) -> list[str]:
    names = [d.strip().lower() for d in (detectors.split(",") if isinstance(detectors, str) else detectors)]
    names = [d for d in names if d]
    unknown = [d for d in names if d not in DETECTORS]
    if unknown or not names:
        raise DetectorError(f"unknown detector(s) {unknown or names}; known: {', '.join(DETECTORS)}")
    return names



def watts_scale(window: str, fft_size: int) -> float:
    """Factor from |FFT(w·x)|^2 (x in volts) to watts per bin across 50 ohm: 1 / (N Σw² · 50)."""
    w = window_coefficients(window, fft_size)
    return 1.0 / (fft_size * float(np.sum(w * w)) * IMPEDANCE_OHM)


# ---------------------------------------------------------------------------------------------
# Medians


class ExactMedian:
    """Keeps the capture's frames; the exact per-bin median at the end: the mean of the middle
    value(s), as ``numpy.median``. ``kernels``: the C selection (no sort); None: numpy sorts.

    The frames' memory is kept from one capture to the next (:meth:`reset`): a survey's steps
    and the captures of one block reuse it instead of faulting in fresh pages each time.
    """

    def __init__(self, fft_size: int, num_ffts: int, kernels: ctypes.CDLL | None = None):
        self._frames = np.empty((num_ffts, fft_size), dtype=np.float32)
        self._n = 0
        self._kernels = kernels
        self._scratch = None if kernels is None else np.empty(kernels.scos_median_scratch_size(num_ffts),
                                                               dtype=np.uint32)

    def reset(self) -> None:
        self._n = 0

    def update(self, frames: np.ndarray) -> None:
        self._frames[self._n:self._n + len(frames)] = frames
        self._n += len(frames)

    def result(self) -> np.ndarray:
        k = self._n
        if self._kernels is not None and k:
            median = np.empty(self._frames.shape[1], dtype=np.float64)
            self._kernels.scos_exact_median(self._frames, k, self._frames.shape[1], self._scratch, median)
            return median
        rows = np.sort(np.ascontiguousarray(self._frames[:k].T), axis=1)
        return (rows[:, (k - 1) // 2].astype(np.float64) + rows[:, k // 2]) / 2.0


def _codes_to_float(codes: np.ndarray) -> np.ndarray:
    return (np.asarray(codes, dtype=np.int64) << _HIST_SHIFT).astype(np.int32).view(np.float32).astype(np.float64)


def _code(value: float) -> int:
    """The histogram bucket of a positive normal float32 value."""
    return int(np.float32(value).view(np.int32)) >> _HIST_SHIFT


def _code_range(lo_value: float, hi_value: float) -> tuple[int, int]:
    """The buckets from ``lo_value`` to ``hi_value``, as the clamped codes of the values between.

    A lowest value that is zero, denormal, negative or NaN takes _CODE_MIN; a highest value that
    is inf or NaN takes _CODE_MAX.
    """
    lo = min(_code(lo_value), _CODE_MAX) if lo_value >= _TINY else _CODE_MIN
    hi = max(_code(hi_value), lo) if math.isfinite(hi_value) else _CODE_MAX
    return lo, hi


class HistogramMedian:
    """Per-bin log-grid histogram (see the module docstring): memory independent of frame count.

    Frames are counted into 16-bit counters (``_recent``), which are added into the 32-bit
    totals (:attr:`counts`) before any can overflow: the counting loop touches half the memory.
    """

    #: Frames the 16-bit counters take before they are added into the totals (one count each at most).
    RECENT_FRAMES = np.iinfo(np.uint16).max

    def __init__(self, fft_size: int, kernels: ctypes.CDLL | None = None):
        self.fft_size = fft_size
        self._kernels = kernels
        self._totals = np.zeros((fft_size, 0), dtype=np.uint32)
        self._recent = np.zeros((fft_size, 0), dtype=np.uint16)
        self._recent_frames = 0
        self.base = 0  # code of column 0
        self.n = 0
        self._bins = np.arange(fft_size, dtype=np.intp)

    @property
    def counts(self) -> np.ndarray:
        """The counts of every frame so far, (fft_size, columns) uint32, column 0 = code ``base``."""
        self._fold()
        return self._totals

    def _fold(self) -> None:
        if self._recent_frames:
            self._totals += self._recent
            self._recent[:] = 0
            self._recent_frames = 0

    def _cover(self, lo: int, hi: int) -> None:
        """Grow the counters so that codes lo..hi have columns."""
        cols = self._totals.shape[1]
        if cols == 0:
            self._totals = np.zeros((self.fft_size, hi - lo + 1), dtype=np.uint32)
            self._recent = np.zeros((self.fft_size, hi - lo + 1), dtype=np.uint16)
            self.base = lo
            return
        new_lo, new_hi = min(lo, self.base), max(hi, self.base + cols - 1)
        if new_lo == self.base and new_hi == self.base + cols - 1:
            return
        self._fold()
        grown = np.zeros((self.fft_size, new_hi - new_lo + 1), dtype=np.uint32)
        grown[:, self.base - new_lo:self.base - new_lo + cols] = self._totals
        self._totals, self.base = grown, new_lo
        self._recent = np.zeros(grown.shape, dtype=np.uint16)

    def update(self, frames: np.ndarray, lo_value: float, hi_value: float) -> None:
        """Count ``frames`` ((B, N) float32 >= 0, C-contiguous, B <= ``RECENT_FRAMES``).

        lo_value/hi_value: at most the smallest / at least the largest value in ``frames``.
        """
        lo, hi = _code_range(lo_value, hi_value)
        self._cover(lo, hi)
        if self._recent_frames + len(frames) > self.RECENT_FRAMES:
            self._fold()
        if self._kernels is not None:
            self._kernels.scos_histogram_add(frames, len(frames), self.fft_size, _HIST_SHIFT,
                                             self._recent, self.base, self._recent.shape[1])
        else:
            codes = np.empty(frames.shape, dtype=np.intp)
            np.right_shift(frames.view(np.int32), _HIST_SHIFT, out=codes, casting="unsafe")
            if not (lo_value >= _TINY and math.isfinite(hi_value)):  # zeros, denormals, inf/nan: clamp
                np.clip(codes, _CODE_MIN, _CODE_MAX, out=codes)
            width = hi - lo + 1
            codes += self._bins * width - lo
            counts = np.bincount(codes.ravel(), minlength=self.fft_size * width).reshape(self.fft_size, width)
            self._recent[:, lo - self.base:lo - self.base + width] += counts.astype(np.uint16, copy=False)
        self._recent_frames += len(frames)
        self.n += len(frames)

    def _at_rank(self, cumulative: np.ndarray, rank: int) -> np.ndarray:
        column = np.argmax(cumulative > rank, axis=1)
        rows = np.arange(self.fft_size)
        in_bucket = self._totals[rows, column].astype(np.float64)
        before = cumulative[rows, column] - in_bucket
        frac = (rank - before + 0.5) / in_bucket
        lo_edge = _codes_to_float(column + self.base)
        hi_edge = _codes_to_float(column + self.base + 1)
        return lo_edge + frac * (hi_edge - lo_edge)

    def result(self) -> np.ndarray:
        self._fold()
        cumulative = np.cumsum(self._totals, axis=1, dtype=np.int64)
        k = self.n
        return (self._at_rank(cumulative, (k - 1) // 2) + self._at_rank(cumulative, k // 2)) / 2.0


# ---------------------------------------------------------------------------------------------
# Detectors over one capture (pure numpy: tested against numpy directly)


class DetectorAccumulator:
    """Running min/max/sum/last frame and the median of one capture of ``num_ffts`` frames.

    ``kernels``: the compiled loops (default ``KERNELS``); None does everything with numpy.
    """

    def __init__(self, fft_size: int, num_ffts: int, detectors: Sequence[str] = DETECTORS,
                 exact_median_bytes: int = EXACT_MEDIAN_BYTES, kernels: ctypes.CDLL | None = KERNELS):
        self.fft_size, self.num_ffts = int(fft_size), int(num_ffts)
        self.detectors = list(detectors)
        self._exact_bytes = exact_median_bytes
        self._kernels = kernels
        self.reset()

    def reset(self) -> None:
        n = self.fft_size
        self.count = 0
        self.min = np.full(n, np.inf, dtype=np.float32)
        self.max = np.full(n, -np.inf, dtype=np.float32)
        self.sum = np.zeros(n, dtype=np.float64)
        self.last = np.zeros(n, dtype=np.float32)
        if "median" not in self.detectors:
            self.median: ExactMedian | HistogramMedian | None = None
        elif self.num_ffts * self.fft_size * 4 <= self._exact_bytes:
            if isinstance(getattr(self, "median", None), ExactMedian):
                self.median.reset()  # the next capture of this block reuses the frames' memory
            else:
                self.median = ExactMedian(self.fft_size, self.num_ffts, self._kernels)
        else:
            self.median = HistogramMedian(self.fft_size, self._kernels)

    @property
    def complete(self) -> bool:
        return self.count >= self.num_ffts

    def update(self, frames: np.ndarray) -> None:
        """Add frames ((B, N) float32, B <= frames still missing from the capture)."""
        frames = np.ascontiguousarray(frames, dtype=np.float32).reshape(-1, self.fft_size)
        if self.count + len(frames) > self.num_ffts:
            raise ValueError("more frames than the capture holds")
        for start in range(0, len(frames), BATCH_ROWS):
            batch = frames[start:start + BATCH_ROWS]
            if self._kernels is not None:
                self._kernels.scos_frame_stats(batch, len(batch), self.fft_size, self.min, self.max, self.sum)
                # the capture's range so far covers this batch's (the kernel's min/max skip NaN)
                lo_value, hi_value = float(self.min.min()), float(self.max.max())
            else:
                lo = np.minimum.reduce(batch, axis=0)
                hi = np.maximum.reduce(batch, axis=0)
                np.minimum(self.min, lo, out=self.min)
                np.maximum(self.max, hi, out=self.max)
                self.sum += np.add.reduce(batch, axis=0)
                lo_value, hi_value = float(lo.min()), float(hi.max())
            if isinstance(self.median, HistogramMedian):
                self.median.update(batch, lo_value, hi_value)
            elif self.median is not None:
                self.median.update(batch)
        if len(frames):
            self.last[:] = frames[-1]
        self.count += len(frames)

    def result(self) -> dict[str, np.ndarray]:
        """Raw |FFT|^2 statistics per detector (float64 arrays of fft_size)."""
        if self.count == 0:
            raise ValueError("no frames")
        out = {"min": self.min.astype(np.float64), "max": self.max.astype(np.float64),
               "mean": self.sum / self.count, "sample": self.last.astype(np.float64)}
        if self.median is not None:
            out["median"] = self.median.result()
        nan = np.isnan(self.sum)
        if nan.any():  # a NaN frame value makes its bin's detectors NaN, as numpy's would be
            for name in ("min", "max", "median"):
                if name in out:
                    out[name][nan] = np.nan
        return {d: out[d] for d in self.detectors}
