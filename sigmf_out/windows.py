"""FFT windows and their equivalent noise bandwidth (ENBW).

A power spectrum computed through a window measures each bin over a noise bandwidth wider than
one bin: ENBW = N * sum(w^2) / (sum w)^2 bins (Blackman: about 1.73 bins, Hann 1.5, rectangular
exactly 1). The NTIA ``ntia-algorithm:equivalent_noise_bandwidth`` field is that width in Hz, so a
reader can turn a per-bin power into a power spectral density.

The coefficients are the ones GNU Radio's ``fft_vcc`` uses: the symmetric windows of
``gnuradio.fft.window`` (numpy's ``blackman``/``hanning``/``hamming``/``bartlett`` are the same
formulas, so those need no GNU Radio import; the others are taken from GNU Radio itself).
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from scos_gr.errors import RecordingError

class UnknownWindow(RecordingError, ValueError):
    """A window name this table does not know (its ENBW could not be recorded right)."""


#: accepted spellings -> canonical window name (the name written into the metadata)
_ALIASES = {
    "blackman": "blackman",
    "hann": "hann",
    "hanning": "hann",
    "hamming": "hamming",
    "bartlett": "bartlett",
    "rectangular": "rectangular",
    "rect": "rectangular",
    "boxcar": "rectangular",
    "none": "rectangular",
    "blackmanharris": "blackman_harris",
    "blackman_harris": "blackman_harris",
    "blackman-harris": "blackman_harris",
    "flattop": "flattop",
    "flat_top": "flattop",
    "flat-top": "flattop",
    "nuttall": "nuttall",
}

_NUMPY = {
    "blackman": np.blackman,
    "hann": np.hanning,
    "hamming": np.hamming,
    "bartlett": np.bartlett,
    "rectangular": np.ones,
}


def known_windows() -> tuple[str, ...]:
    """The canonical window names of this table, in order (the detector block's window options)."""
    return tuple(dict.fromkeys(_ALIASES.values()))


def canonical_window(name: str) -> str:
    """The canonical name of a window given as ``blackman``, ``window.blackman``, ``Hanning``...

    Raises ValueError for a window this module does not know (so a typo cannot silently be
    recorded with a wrong ENBW).
    """
    key = str(name).strip().lower()
    if key.startswith("window."):
        key = key[len("window."):]
    key = key.split("(", 1)[0].strip().replace(" ", "_")
    try:
        return _ALIASES[key]
    except KeyError:
        raise UnknownWindow(f"unknown FFT window {name!r}; known: {list(known_windows())}") from None


@lru_cache(maxsize=32)
def _coefficients(window: str, fft_size: int) -> tuple[float, ...]:
    if window in _NUMPY:
        return tuple(float(x) for x in _NUMPY[window](fft_size))
    from gnuradio.fft import window as gr_window  # only for windows numpy lacks

    return tuple(float(x) for x in getattr(gr_window, window)(fft_size))


def window_coefficients(window_name: str, fft_size: int) -> np.ndarray:
    """The ``fft_size`` window coefficients, as GNU Radio's ``fft_vcc`` applies them."""
    if int(fft_size) < 1:
        raise ValueError(f"fft_size must be >= 1, got {fft_size!r}")
    return np.array(_coefficients(canonical_window(window_name), int(fft_size)))


def enbw_bins(window_name: str, fft_size: int) -> float:
    """Equivalent noise bandwidth of the window, in FFT bins: N * sum(w^2) / (sum w)^2."""
    w = window_coefficients(window_name, fft_size)
    return float(len(w) * np.sum(w * w) / np.sum(w) ** 2)


def enbw_hz(window_name: str, fft_size: int, sample_rate: float) -> float:
    """Equivalent noise bandwidth of one FFT bin in Hz: ENBW in bins times sample_rate / N."""
    return enbw_bins(window_name, fft_size) * float(sample_rate) / int(fft_size)
