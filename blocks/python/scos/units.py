"""Power units of the scos blocks: complex samples are volts across 50 ohm.

No GNU Radio import: the detectors and the metadata need these as much as the blocks do.
"""
from __future__ import annotations

import math

import numpy as np

#: Impedance the complex samples' volts are referred to: power (W) = |x|^2 / 50.
IMPEDANCE_OHM = 50.0


def dbm_to_watts(dbm: float) -> float:
    return 10.0 ** ((float(dbm) - 30.0) / 10.0)


def dbm_to_volts_rms(dbm: float) -> float:
    """RMS amplitude (V) of a complex signal of ``dbm`` across 50 ohm: |x|^2 / 50 = P."""
    return math.sqrt(dbm_to_watts(dbm) * IMPEDANCE_OHM)


def to_dbm(watts: np.ndarray, gain_correction_db: float = 0.0) -> np.ndarray:
    """Watts -> dBm, plus a calibration gain correction (dB); zero watts gives a finite floor."""
    return 10.0 * np.log10(np.maximum(watts, np.finfo(np.float64).tiny)) + 30.0 + gain_correction_db
