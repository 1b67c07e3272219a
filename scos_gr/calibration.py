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
"plus the radio's calibration gain correction"). ``temperature_c`` (optional) is the temperature
the calibration was measured at.

The onboard calibration: the ``calibrate`` action (a Y-factor measurement with the noise diode)
writes its result in the same format, atomically (:func:`write_calibration`), to a file of the
data directory (``Settings.onboard_calibration_file``). :func:`load_sensor_calibration` gives
what the sensor uses: the onboard table for the frequencies it covers (from its lowest to its
highest point), the ``SCOS_CALIBRATION_FILE`` table outside them (the onboard one everywhere when
there is no file). Why a file and not a table of the store: the worker process that runs the
flowgraphs reads the calibration for every task and never opens the database, ``scos-gr acquire``
runs without one, and an operator can read, copy or remove it like the calibration file it
stands in for. :func:`calibration_fault` says when the calibration in use is older than
``SCOS_CALIBRATION_MAX_AGE``.
"""
from __future__ import annotations

import datetime as _dt
import math
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import yaml

from scos_gr.disk import replace_atomically
from scos_gr.errors import ConfigError
from scos_gr.faults import Fault, FaultClock


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
    temperature_c: float | None = None

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
        if self.temperature_c is not None:
            result["temperature_c"] = self.temperature_c
        if frequency is not None:
            result["frequency"] = float(frequency)
        return result

    def covers(self, frequency: float) -> bool:
        """Whether ``frequency`` lies within the table (its lowest to its highest point)."""
        return self.points[0].frequency <= float(frequency) <= self.points[-1].frequency

    def describe(self) -> dict[str, Any]:
        """The whole table, for the capabilities' sensor definition."""
        return {
            "source": self.source,
            "calibration_datetime": self.calibration_datetime,
            "reference": self.reference,
            **({"temperature_c": self.temperature_c} if self.temperature_c is not None else {}),
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
    temperature = document.get("temperature_c")
    return Calibration(
        points=tuple(points),
        calibration_datetime=None if when is None else str(when),
        reference=str(document.get("reference", "antenna terminal")),
        source=source,
        temperature_c=None if temperature is None else _number(temperature, f"{source}: temperature_c"),
    )


_cache_lock = threading.Lock()
_cache: dict[Path, tuple[tuple[int, int, int], Calibration]] = {}


def load_calibration(path: Path | str | None) -> Calibration:
    """The calibration in ``path`` (re-read when the file changes); UNCALIBRATED for None."""
    if path is None:
        return UNCALIBRATED
    path = Path(path).resolve()
    try:
        stat = path.stat()
    except OSError as exc:
        raise CalibrationError(f"{path}: cannot read calibration file: {exc.strerror}") from None
    version = (stat.st_mtime_ns, stat.st_size, stat.st_ino)  # an atomic rewrite is a new inode
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


# --- the onboard calibration ----------------------------------------------------------------------

@dataclass(frozen=True)
class LayeredCalibration:
    """The onboard calibration where it covers the frequency, the calibration file elsewhere.

    ``at(None)`` (an action without a frequency) is the onboard table's, as is ``describe()``,
    which also says where it applies and what holds outside."""

    onboard: Calibration
    fallback: Calibration

    def at(self, frequency: float | None) -> dict[str, Any]:
        if frequency is None or self.onboard.covers(frequency):
            return self.onboard.at(frequency)
        return self.fallback.at(frequency)

    @property
    def calibration_datetime(self) -> str | None:
        return self.onboard.calibration_datetime

    def describe(self) -> dict[str, Any]:
        return {**self.onboard.describe(),
                "covers": [self.onboard.points[0].frequency, self.onboard.points[-1].frequency],
                "outside": self.fallback.describe()}


def load_sensor_calibration(calibration_file: Path | str | None,
                            onboard_file: Path | str | None) -> Calibration | LayeredCalibration:
    """What the sensor's recordings are corrected by: the onboard calibration (``onboard_file``,
    if it exists) within the frequencies it covers, ``calibration_file`` (or none) elsewhere;
    with no onboard calibration, ``calibration_file``'s alone. CalibrationError for a broken file."""
    fallback = load_calibration(calibration_file)
    if onboard_file is None or not Path(onboard_file).exists():
        return fallback
    onboard = load_calibration(onboard_file)
    if fallback is UNCALIBRATED:
        return onboard
    return LayeredCalibration(onboard, fallback)


def write_calibration(path: Path | str, points: Sequence[CalibrationPoint], *, calibration_datetime: str,
                      reference: str, temperature_c: float | None = None) -> Path:
    """Write a calibration file (the format :func:`parse_calibration` reads) atomically: a
    temporary file in the same directory, fsynced, renamed over ``path``, the directory fsynced.
    A reader sees the old table or the new one, never a part. The table is checked first."""
    document: dict[str, Any] = {
        "calibration_datetime": str(calibration_datetime),
        "reference": str(reference),
        "points": [{"frequency": float(p.frequency), "gain_db": float(p.gain_db),
                    **({"noise_figure_db": float(p.noise_figure_db)} if p.noise_figure_db is not None else {})}
                   for p in points],
    }
    if temperature_c is not None:
        document["temperature_c"] = round(float(temperature_c), 2)
    path = Path(path)
    parse_calibration(document, source=str(path))  # never store what cannot be read back
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "# written by scos-gr's calibrate action (Y-factor with the noise diode); see scos_gr/calibration.py\n"
    text += yaml.safe_dump(document, sort_keys=False)
    replace_atomically(path, text.encode("utf-8"), durable=True)
    return path


def calibration_time(calibration: Calibration | LayeredCalibration) -> float | None:
    """Epoch seconds of the calibration in use (the onboard one when there is one); None when it
    says no time (or a time that cannot be read)."""
    when = calibration.calibration_datetime
    if not when:
        return None
    try:
        parsed = _dt.datetime.fromisoformat(str(when).replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_dt.timezone.utc)
    return parsed.timestamp()


_clock = FaultClock()


def calibration_fault(calibration_file: Path | str | None, onboard_file: Path | str | None,
                      max_age_s: float | None, now: float) -> Fault | None:
    """The ``calibration`` fault for ``/status``: the calibration in use is older than
    ``max_age_s`` (``since``: when it turned so), has no readable time, or there is none at all
    while an age is required (``since``: when first seen, steady while it lasts). None when
    ``max_age_s`` is None (no age required) or all is well."""
    if max_age_s is None:
        return None
    detail, since = _calibration_problem(calibration_file, onboard_file, max_age_s, now)
    seen = _clock.faults("calibration", [detail] if detail and since is None else [], now)
    if detail is None:
        return None
    return Fault("calibration", detail, since) if since is not None else seen[0]


def _calibration_problem(calibration_file: Path | str | None, onboard_file: Path | str | None, max_age_s: float,
                         now: float) -> tuple[str | None, float | None]:
    """(what is wrong or None, since when if the calibration itself says so)."""
    try:
        calibration = load_sensor_calibration(calibration_file, onboard_file)
    except CalibrationError as exc:
        return f"the calibration cannot be read: {exc}", None
    if calibration is UNCALIBRATED:
        return ("the sensor has no calibration (SCOS_CALIBRATION_MAX_AGE asks for one younger than "
                f"{max_age_s:g} s): run the calibrate action"), None
    taken = calibration_time(calibration)
    source = calibration.onboard.source if isinstance(calibration, LayeredCalibration) else calibration.source
    if taken is None:
        return (f"the calibration in use ({source}) says no calibration_datetime, so its age is unknown: run the "
                "calibrate action"), None
    age = now - taken
    if age <= max_age_s:
        return None, None
    return (f"the calibration in use ({source}, {calibration.calibration_datetime}) is {_age_text(age)} old, older "
            f"than SCOS_CALIBRATION_MAX_AGE ({max_age_s:g} s): run the calibrate action"), taken + max_age_s


def _age_text(seconds: float) -> str:
    if seconds >= 2 * 86400:
        return f"{seconds / 86400:.1f} days"
    if seconds >= 2 * 3600:
        return f"{seconds / 3600:.1f} hours"
    return f"{seconds:.0f} s"
