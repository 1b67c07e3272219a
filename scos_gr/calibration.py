"""Sensor calibration: receive-chain gain and noise figure over frequency, from a YAML file.

A spectrum sensor reports power at a reference point (the antenna port), not at the ADC, so
every recording is corrected by the gain measured between the two. The calibration file
(``SCOS_CALIBRATION_FILE``) lists that gain and the noise figure at a few frequencies; values in
between are interpolated linearly in frequency, and outside the table the nearest point holds
(never extrapolated: a calibration does not know what it did not measure).

File format::

    calibration_datetime: "2026-11-01T00:00:00Z"   # when it was measured (optional)
    reference: "antenna terminal"                   # where the power is referred to (optional)
    points:                                         # at least one
      - {frequency: 700e+6, gain_db: 3.0, noise_figure_db: 5.0}
      - {frequency: 800e+6, gain_db: 2.0, noise_figure_db: 5.5}

``gain_db`` is the chain's gain: a sensor with +3 dB of gain reads the antenna's power 3 dB high,
so its correction is ``gain_correction_db = -gain_db``, added to every detector (the spec's
"plus the radio's calibration gain correction").
"""
from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from scos_gr.errors import ConfigError


class CalibrationError(ConfigError, ValueError):
    """The calibration file is malformed; the message names the file and the field."""


@dataclass(frozen=True)
class CalibrationPoint:
    frequency: float
    gain_db: float
    noise_figure_db: float | None


@dataclass(frozen=True)
class Calibration:
    """A calibration table; ``at(frequency)`` gives the values used for one recording."""

    points: tuple[CalibrationPoint, ...]
    calibration_datetime: str | None = None
    reference: str = "antenna terminal"
    source: str | None = None

    def at(self, frequency: float | None) -> dict[str, Any]:
        """Gain, noise figure and correction at ``frequency`` (Hz), for metadata and power_stats."""
        gain, noise_figure = self._interpolate(frequency)
        result: dict[str, Any] = {
            "gain_db": round(gain, 6),
            "gain_correction_db": round(-gain, 6),
            "noise_figure_db": None if noise_figure is None else round(noise_figure, 6),
            "reference": self.reference,
            "calibration_datetime": self.calibration_datetime,
            "source": self.source,
        }
        if frequency is not None:
            result["frequency"] = float(frequency)
        return result

    def describe(self) -> dict[str, Any]:
        """The whole table, for the capabilities' sensor definition."""
        return {
            "source": self.source,
            "calibration_datetime": self.calibration_datetime,
            "reference": self.reference,
            "points": [
                {"frequency": p.frequency, "gain_db": p.gain_db, "noise_figure_db": p.noise_figure_db}
                for p in self.points
            ],
        }

    def _interpolate(self, frequency: float | None) -> tuple[float, float | None]:
        points = self.points
        if frequency is None or len(points) == 1 or frequency <= points[0].frequency:
            p = points[0]
            return p.gain_db, p.noise_figure_db
        if frequency >= points[-1].frequency:
            p = points[-1]
            return p.gain_db, p.noise_figure_db
        for lower, upper in zip(points, points[1:]):
            if lower.frequency <= frequency <= upper.frequency:
                t = (frequency - lower.frequency) / (upper.frequency - lower.frequency)
                gain = lower.gain_db + t * (upper.gain_db - lower.gain_db)
                if lower.noise_figure_db is None or upper.noise_figure_db is None:
                    nf = lower.noise_figure_db if t < 0.5 else upper.noise_figure_db
                else:
                    nf = lower.noise_figure_db + t * (upper.noise_figure_db - lower.noise_figure_db)
                return gain, nf
        raise AssertionError("unreachable: points are sorted")  # pragma: no cover


UNCALIBRATED = Calibration(points=(CalibrationPoint(0.0, 0.0, None),), reference="radio input (uncalibrated)")


def _number(value: Any, where: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise CalibrationError(f"{where}: expected a number, got {value!r}") from None
    if not math.isfinite(number):
        raise CalibrationError(f"{where}: expected a finite number, got {value!r}")
    return number


def parse_calibration(document: Any, source: str = "<calibration>") -> Calibration:
    """Validate a parsed calibration document (see the module docstring for the format)."""
    if not isinstance(document, dict):
        raise CalibrationError(f"{source}: expected a mapping with 'points'")
    raw_points = document.get("points")
    if not isinstance(raw_points, list) or not raw_points:
        raise CalibrationError(f"{source}: 'points' must be a non-empty list")
    points = []
    for i, raw in enumerate(raw_points):
        where = f"{source}: points[{i}]"
        if not isinstance(raw, dict):
            raise CalibrationError(f"{where}: expected a mapping")
        unknown = set(raw) - {"frequency", "gain_db", "noise_figure_db"}
        if unknown:
            raise CalibrationError(f"{where}: unknown keys {sorted(unknown)}")
        for key in ("frequency", "gain_db"):
            if key not in raw:
                raise CalibrationError(f"{where}.{key}: required")
        frequency = _number(raw["frequency"], f"{where}.frequency")
        if frequency < 0:
            raise CalibrationError(f"{where}.frequency: must not be negative")
        nf = raw.get("noise_figure_db")
        points.append(CalibrationPoint(
            frequency=frequency,
            gain_db=_number(raw["gain_db"], f"{where}.gain_db"),
            noise_figure_db=None if nf is None else _number(nf, f"{where}.noise_figure_db"),
        ))
    points.sort(key=lambda p: p.frequency)
    for a, b in zip(points, points[1:]):
        if a.frequency == b.frequency:
            raise CalibrationError(f"{source}: two points at {a.frequency:g} Hz")
    when = document.get("calibration_datetime")
    return Calibration(
        points=tuple(points),
        calibration_datetime=None if when is None else str(when),
        reference=str(document.get("reference", "antenna terminal")),
        source=source,
    )


_cache_lock = threading.Lock()
_cache: dict[Path, tuple[tuple[int, int], Calibration]] = {}


def load_calibration(path: Path | str | None) -> Calibration:
    """The calibration in ``path`` (re-read when the file changes); UNCALIBRATED for None."""
    if path is None:
        return UNCALIBRATED
    path = Path(path).resolve()
    try:
        stat = path.stat()
    except OSError as exc:
        raise CalibrationError(f"{path}: cannot read calibration file: {exc.strerror}") from None
    version = (stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        cached = _cache.get(path)
        if cached and cached[0] == version:
            return cached[1]
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise CalibrationError(f"{path}: not valid YAML: {exc}") from None
    calibration = parse_calibration(document, source=str(path))
    with _cache_lock:
        _cache[path] = (version, calibration)
    return calibration
