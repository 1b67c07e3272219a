"""The NTIA SigMF extension objects (the v2 documents) that scos-gr recordings carry.

Tools written for the current NTIA sensors read recordings through the objects of the
``NTIA/sigmf-ns-ntia`` documents: ntia-core v2.0.0, ntia-algorithm v2.0.1, ntia-sensor v2.0.0,
ntia-scos v1.0.0, ntia-environment v1.0.0 and ntia-diagnostics v2.2.0. This module builds those
objects from typed values, so that the writers of every kind of recording (FFT detection, the
multi-capture survey, raw IQ) say the same things the same way. ``docs/metadata.md`` is the
field-by-field reference; what the documents leave open is decided there and implemented here.

Everything here is pure: plain values in, plain JSON-ready dicts out; no GNU Radio, no files,
no environment (the caller passes ``SCOS_CLASSIFICATION``, the sensor definition, the
calibration). A value that would make a recording wrong (a negative length, x axes of different
lengths, an unknown window, a date that is not a date) raises :class:`NtiaMetadataError`.

The pieces, in the order a recording is put together:

- global: :func:`classification`, :func:`sensor_object`, :func:`geolocation`,
  :func:`schedule_entry` / :func:`action` / :func:`ntia_globals`;
- detection recordings: :func:`dft` (the ``processing_info`` object), :func:`spectrum_graph` /
  :func:`graph` (the ``data_products``), :func:`series_annotations`;
- each capture: :func:`capture_segment` from :class:`CaptureFacts` (with :func:`duration_ms`,
  :func:`sigan_settings`, :func:`sensor_calibration`);
- last: :func:`declared_extensions` lists, from :data:`EXTENSIONS`, exactly the namespaces the
  finished metadata uses.
"""
from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass
from typing import Any, Iterable, Mapping, Sequence

from scos_gr.calibration import UNCALIBRATED, Calibration
from scos_gr.errors import RecordingError
from scos_gr.sensor_definition import Location, SensorDefinition
from scos_gr.sigmf_out.windows import canonical_window, enbw_hz

__all__ = [
    "CaptureFacts",
    "DEFAULT_CLASSIFICATION",
    "EXTENSIONS",
    "Extension",
    "FrequencyAxis",
    "NASCTN_SEA_FIELDS",
    "NtiaMetadataError",
    "action",
    "applied_calibration",
    "capture_segment",
    "channel_power_summaries",
    "classification",
    "datetime_utc",
    "declared_extensions",
    "dft",
    "duration_ms",
    "frequency_axis",
    "geolocation",
    "graph",
    "loss_totals",
    "namespaces_used",
    "ntia_globals",
    "ntia_window_name",
    "samples_per_capture",
    "schedule_entry",
    "sensor_calibration",
    "sensor_object",
    "series_annotations",
    "sigan_settings",
    "spectrum_graph",
]


class NtiaMetadataError(RecordingError, ValueError):
    """A value cannot be recorded as the NTIA documents define it; the message says which."""


# --- the extensions -----------------------------------------------------------------------------

@dataclass(frozen=True)
class Extension:
    """One row of ``core:extensions``: ``optional`` false means a reader MUST support it (SigMF)."""

    name: str
    version: str
    optional: bool
    used_for: str


#: The one table of the namespaces scos-gr recordings may use, with the document versions they
#: follow. A recording declares exactly the ones it uses (:func:`declared_extensions`), in this
#: order. Versions are spelt as the NTIA documents' own examples spell them ("v2.0.0").
EXTENSIONS: tuple[Extension, ...] = (
    Extension("ntia-core", "v2.0.0", False, "ntia-core:classification (required); HardwareSpec, Antenna"),
    Extension("ntia-algorithm", "v2.0.1", False, "data_products and processing_info: which samples are which series"),
    Extension("ntia-sensor", "v2.0.0", True, "the sensor; per capture duration, overload, settings, calibration"),
    Extension("ntia-environment", "v1.0.0", True, "the sensor's environment, when its definition gives one"),
    Extension("ntia-scos", "v1.0.0", True, "schedule entry, action, task, recording"),
    Extension("ntia-diagnostics", "v2.2.0", True, "ntia-diagnostics:diagnostics, when a writer adds it"),
    Extension("ntia-nasctn-sea", "v0.6.0", True, "the channel power summaries of a SEA recording, one per capture"),
    Extension("scos-gr", "v0.2.0", True, "scos-gr's own counts: dropped samples, overflows, overloaded samples"),
)

#: ``ntia-nasctn-sea`` global fields (double[], one value per capture, dBm) and the summary of
#: each capture's products they come from
NASCTN_SEA_FIELDS = {
    "ntia-nasctn-sea:max_of_max_channel_powers": "max_of_max",
    "ntia-nasctn-sea:mean_channel_powers": "mean",
    "ntia-nasctn-sea:median_channel_powers": "median",
    "ntia-nasctn-sea:median_of_mean_channel_powers": "median_of_mean",
}


def channel_power_summaries(summaries: Sequence[Mapping[str, float]]) -> dict[str, list[float]]:
    """The ``ntia-nasctn-sea`` global fields from each capture's summary (``max_of_max``,
    ``mean``, ``median``, ``median_of_mean``, dBm), in capture order; {} when a capture lacks
    one (the recording then has no channel power summaries rather than partial ones)."""
    if not summaries or any(any(key not in s for key in NASCTN_SEA_FIELDS.values()) for s in summaries):
        return {}
    return {field: [round(_finite(s[key], field), 3) for s in summaries] for field, key in NASCTN_SEA_FIELDS.items()}


def namespaces_used(metadata: Mapping[str, Any]) -> set[str]:
    """The extension namespaces ``metadata`` uses: key prefixes other than ``core`` in the global
    object, captures and annotations, plus the namespaces whose datatypes appear inside them
    (an ``environment`` in the sensor is ntia-environment's; any ntia object uses ntia-core's)."""
    used: set[str] = set()
    sections = [metadata.get("global", {}), *metadata.get("captures", []), *metadata.get("annotations", [])]
    for section in sections:
        used |= {key.split(":", 1)[0] for key in section if ":" in key}
    used.discard("core")
    sensor = metadata.get("global", {}).get("ntia-sensor:sensor")
    if isinstance(sensor, Mapping) and "environment" in sensor:
        used.add("ntia-environment")
    if any(name.startswith("ntia-") for name in used):
        used.add("ntia-core")
    return used


def declared_extensions(metadata: Mapping[str, Any]) -> list[dict[str, Any]]:
    """``core:extensions`` for ``metadata``: one entry per namespace it uses, from :data:`EXTENSIONS`."""
    used = namespaces_used(metadata)
    known = {ext.name for ext in EXTENSIONS}
    unknown = sorted(used - known)
    if unknown:
        raise NtiaMetadataError(f"namespaces {unknown} are not in sigmf_out.ntia.EXTENSIONS; add them there first")
    return [{"name": ext.name, "version": ext.version, "optional": ext.optional} for ext in EXTENSIONS if ext.name in used]


# --- small values --------------------------------------------------------------------------------

DEFAULT_CLASSIFICATION = "UNCLASSIFIED"


def classification(value: str | None = None) -> str:
    """``ntia-core:classification``: the marking given (``SCOS_CLASSIFICATION``), or UNCLASSIFIED."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return DEFAULT_CLASSIFICATION
    if not isinstance(value, str):
        raise NtiaMetadataError(f"classification: expected a string, got {value!r}")
    return value.strip()


def datetime_utc(when: float | _dt.datetime | str) -> str:
    """An ISO 8601 UTC time with microseconds and a ``Z``, the only form SigMF and the NTIA
    documents allow, from epoch seconds, a datetime (naive = UTC) or an ISO 8601 string."""
    if isinstance(when, bool):
        raise NtiaMetadataError(f"not a time: {when!r}")
    if isinstance(when, str):
        text = when.strip()
        try:
            when = _dt.datetime.fromisoformat(text[:-1] + "+00:00" if text[-1:] in ("Z", "z") else text)
        except ValueError:
            raise NtiaMetadataError(f"not an ISO 8601 time: {text!r}") from None
    if isinstance(when, _dt.datetime):
        moment = when if when.tzinfo is not None else when.replace(tzinfo=_dt.timezone.utc)
    elif isinstance(when, (int, float)) and math.isfinite(when):
        moment = _dt.datetime.fromtimestamp(float(when), tz=_dt.timezone.utc)
    else:
        raise NtiaMetadataError(f"not a time: {when!r}")
    return moment.astimezone(_dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _finite(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise NtiaMetadataError(f"{what}: expected a finite number, got {value!r}")
    return float(value)


def _count(value: Any, what: str, minimum: int = 0) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise NtiaMetadataError(f"{what}: expected an integer >= {minimum}, got {value!r}")
    return int(value)


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise NtiaMetadataError(f"{what}: expected a non-empty string, got {value!r}")
    return value


# --- global: sensor, location, SCOS ----------------------------------------------------------------

def sensor_object(definition: SensorDefinition, *, frequency_low: float | None = None,
                  frequency_high: float | None = None) -> dict[str, Any]:
    """``ntia-sensor:sensor``: the definition's Sensor keys, its ``sensor_sha512``, and the
    range of the radio in use as ``signal_analyzer.frequency_low``/``frequency_high`` (these
    replace whatever the definition says: the recording describes the radio that made it)."""
    sensor = definition.sensor()
    if frequency_low is not None or frequency_high is not None:
        analyzer = sensor.setdefault("signal_analyzer", {})
        if frequency_low is not None:
            analyzer["frequency_low"] = _finite(frequency_low, "frequency_low")
        if frequency_high is not None:
            analyzer["frequency_high"] = _finite(frequency_high, "frequency_high")
        low, high = analyzer.get("frequency_low"), analyzer.get("frequency_high")
        if low is not None and high is not None and low > high:
            raise NtiaMetadataError(f"signal analyzer range: frequency_low {low} Hz is above frequency_high {high} Hz")
    sensor["sensor_sha512"] = definition.sha512
    return sensor


def geolocation(location: Location) -> dict[str, Any]:
    """``core:geolocation``: a GeoJSON point, coordinates [longitude, latitude(, altitude m)]."""
    coordinates = [_finite(location.longitude, "longitude"), _finite(location.latitude, "latitude")]
    if location.altitude is not None:
        coordinates.append(_finite(location.altitude, "altitude"))
    return {"type": "Point", "coordinates": coordinates}


def schedule_entry(name: str, *, id: str | None = None, start: float | _dt.datetime | str | None = None,
                   stop: float | _dt.datetime | str | None = None, interval: int | None = None,
                   priority: int | None = None, roles: Sequence[str] | None = None) -> dict[str, Any]:
    """``ntia-scos:schedule`` (ScheduleEntry): ``id`` defaults to the name (entry names are unique)."""
    name = _text(name, "schedule name")
    entry: dict[str, Any] = {"id": _text(name if id is None else id, "schedule id"), "name": name}
    if start is not None:
        entry["start"] = datetime_utc(start)
    if stop is not None:
        entry["stop"] = datetime_utc(stop)
    if interval is not None:
        entry["interval"] = _count(interval, "schedule interval", 1)
    if priority is not None:
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise NtiaMetadataError(f"schedule priority: expected an integer, got {priority!r}")
        entry["priority"] = priority
    if roles is not None:
        entry["roles"] = [_text(role, "schedule role") for role in roles]
    return entry


def action(name: str, *, summary: str | None = None, description: str | None = None) -> dict[str, Any]:
    """``ntia-scos:action``: the catalogue's name, summary and description of the action."""
    result: dict[str, Any] = {"name": _text(name, "action name")}
    if summary:
        result["summary"] = str(summary)
    if description:
        result["description"] = str(description)
    return result


def ntia_globals(*, classification_marking: str | None = None, sensor: Mapping[str, Any] | None = None,
                 location: Location | None = None, action_object: Mapping[str, Any] | None = None,
                 schedule: Mapping[str, Any] | None = None, task: int | None = None, recording: int | None = None,
                 data_products: Sequence[Mapping[str, Any]] = (), processing_info: Sequence[Mapping[str, Any]] = (),
                 processing: Sequence[str] = ()) -> dict[str, Any]:
    """The global fields these extensions add, plus ``core:geolocation`` and ``core:description``
    (the action's summary). ``recording`` is for actions that make several recordings per task."""
    fields: dict[str, Any] = {"ntia-core:classification": classification(classification_marking)}
    if sensor is not None:
        fields["ntia-sensor:sensor"] = dict(sensor)
    if location is not None:
        fields["core:geolocation"] = geolocation(location)
    if action_object is not None:
        fields["ntia-scos:action"] = dict(action_object)
        if action_object.get("summary"):
            fields["core:description"] = str(action_object["summary"])
    if schedule is not None:
        fields["ntia-scos:schedule"] = dict(schedule)
    if task is not None:
        fields["ntia-scos:task"] = _count(task, "task", 1)
    if recording is not None:
        fields["ntia-scos:recording"] = _count(recording, "recording", 0)
    if data_products:
        fields["ntia-algorithm:data_products"] = [dict(g) for g in data_products]
    if processing_info:
        ids = [p.get("id") for p in processing_info]
        if len(set(ids)) != len(ids):
            raise NtiaMetadataError(f"processing_info ids must be unique, got {ids}")
        fields["ntia-algorithm:processing_info"] = [dict(p) for p in processing_info]
    if processing:
        fields["ntia-algorithm:processing"] = [str(p) for p in processing]
    referenced = set(processing) | {p for g in data_products for p in g.get("processing", [])}
    missing = sorted(referenced - {p.get("id") for p in processing_info})
    if missing:
        raise NtiaMetadataError(f"processing ids {missing} name no object of processing_info")
    return fields


# --- detection: the DFT, the graph, the annotations --------------------------------------------------

#: canonical window name (sigmf_out.windows) -> the spelling the ntia-algorithm DFT examples use
_NTIA_WINDOW_NAMES = {"hann": "hanning", "blackman_harris": "blackman-harris"}


def ntia_window_name(window: str) -> str:
    """The DFT ``window`` value for a window name (``hann`` -> ``hanning``, as the document spells it)."""
    try:
        name = canonical_window(window)
    except ValueError as exc:
        raise NtiaMetadataError(str(exc)) from None
    return _NTIA_WINDOW_NAMES.get(name, name)


def dft(*, fft_size: int, num_ffts: int, window: str, sample_rate: float, id: str = "dft",
        baseband: bool = False, description: str | None = None) -> dict[str, Any]:
    """The ntia-algorithm ``DFT`` object: ``num_ffts`` windowed DFTs of ``fft_size`` samples at
    ``sample_rate``, the window's equivalent noise bandwidth in Hz. ``baseband`` false: the
    graphs' frequency axes are absolute (RF) frequencies."""
    fft_size, num_ffts = _count(fft_size, "fft_size", 1), _count(num_ffts, "num_ffts", 1)
    rate = _finite(sample_rate, "sample_rate")
    if rate <= 0:
        raise NtiaMetadataError(f"sample_rate: must be > 0, got {sample_rate!r}")
    name = ntia_window_name(window)
    obj: dict[str, Any] = {
        "type": "DFT",
        "id": _text(id, "DFT id"),
        "equivalent_noise_bandwidth": enbw_hz(canonical_window(window), fft_size, rate),
        "samples": fft_size,
        "dfts": num_ffts,
        "window": name,
        "baseband": bool(baseband),
    }
    if description:
        obj["description"] = str(description)
    return obj


@dataclass(frozen=True)
class FrequencyAxis:
    """The frequencies of a spectrum's first bin, last bin, and the step between bins (Hz)."""

    start: float
    stop: float
    step: float


def frequency_axis(fft_size: int, sample_rate: float, center_frequency: float = 0.0) -> FrequencyAxis:
    """The bins of an fftshifted ``fft_size``-point DFT: bin ``fft_size // 2`` is at
    ``center_frequency`` (0 for baseband), bins ``sample_rate / fft_size`` apart."""
    n = _count(fft_size, "fft_size", 1)
    step = _finite(sample_rate, "sample_rate") / n
    start = _finite(center_frequency, "center_frequency") - (n // 2) * step
    return FrequencyAxis(start=start, stop=start + (n - 1) * step, step=step)


def graph(name: str, *, length: int, series: Sequence[str] | None = None, x_units: str | None = None,
          x_start: Sequence[float] | None = None, x_stop: Sequence[float] | None = None,
          x_step: Sequence[float] | None = None, y_units: str | None = None, reference: str | None = None,
          processing: Sequence[str] | None = None, description: str | None = None,
          y_start: Sequence[float] | None = None, y_stop: Sequence[float] | None = None,
          y_step: Sequence[float] | None = None) -> dict[str, Any]:
    """An ntia-algorithm ``Graph``: ``length`` values per series, series in the data file's order.

    The x axis is given by ``x_start``/``x_stop``/``x_step``: all three or none, of one length,
    one value per capture (or a single value that every capture shares), and then ``x_units``.
    A y axis likewise (``y_start``/``y_stop``/``y_step`` with ``y_units``): the data are then
    the x values at those y values (the APD: the percentage exceeding each level).
    """
    obj: dict[str, Any] = {"name": _text(name, "graph name")}
    if series is not None:
        names = [_text(s, "series name") for s in series]
        if not names or len(set(names)) != len(names):
            raise NtiaMetadataError(f"series: expected distinct names, got {names}")
        obj["series"] = names
    obj["length"] = _count(length, "graph length", 1)
    x_axis = _graph_axis(name, "x", x_start, x_stop, x_step, x_units, obj["length"])
    if x_axis:
        obj.update(x_units=str(x_units), x_start=x_axis[0], x_stop=x_axis[1], x_step=x_axis[2])
    elif x_units:
        obj["x_units"] = str(x_units)
    y_axis = _graph_axis(name, "y", y_start, y_stop, y_step, y_units, obj["length"])
    if y_axis:
        obj.update(y_start=y_axis[0], y_stop=y_axis[1], y_step=y_axis[2])
    if y_units:
        obj["y_units"] = str(y_units)
    if reference:
        obj["reference"] = str(reference)
    if processing:
        obj["processing"] = [_text(p, "processing id") for p in processing]
    if description:
        obj["description"] = str(description)
    return obj


def _graph_axis(name: str, axis: str, starts: Sequence[float] | None, stops: Sequence[float] | None,
                steps: Sequence[float] | None, units: str | None,
                length: int) -> tuple[list[float], list[float], list[float]] | None:
    """A graph's ``axis`` ("x" or "y"): None when none of start/stop/step is given, else the three
    checked lists (all three, one length, each ``length`` values from start by step ending at
    stop, with units)."""
    given = [starts, stops, steps]
    if all(a is None for a in given):
        return None
    if any(a is None for a in given):
        raise NtiaMetadataError(f"{axis}_start, {axis}_stop and {axis}_step go together: give all three or none")
    first, last, by = ([_finite(v, f"{axis} axis of {name}") for v in a] for a in given)  # type: ignore[union-attr]
    if not first or not len(first) == len(last) == len(by):
        raise NtiaMetadataError(f"{axis}_start, {axis}_stop, {axis}_step must be non-empty and of one length, got "
                                f"{len(first)}, {len(last)}, {len(by)}")
    for a, b, s in zip(first, last, by):
        if not math.isclose(a + (length - 1) * s, b, rel_tol=1e-9, abs_tol=1e-6):
            raise NtiaMetadataError(f"{axis} axis of {name}: {length} values from {a} by {s} end at "
                                    f"{a + (length - 1) * s}, not {b}")
    if not units:
        raise NtiaMetadataError(f"{name}: {axis}_units is required with {'an' if axis == 'x' else 'a'} {axis} axis")
    return first, last, by


def spectrum_graph(*, series: Sequence[str], fft_size: int, sample_rate: float, frequencies: Sequence[float],
                   processing: Sequence[str], reference: str | None = None, name: str = "Power Spectral Density",
                   y_units: str = "dBm", baseband: bool = False, description: str | None = None) -> dict[str, Any]:
    """The Graph of detector spectra: one x axis per capture, centred on that capture's
    frequency (``frequencies``, in capture order), or on 0 when ``baseband``."""
    if not frequencies:
        raise NtiaMetadataError("spectrum_graph: at least one capture frequency is needed")
    axes = [frequency_axis(fft_size, sample_rate, 0.0 if baseband else f) for f in frequencies]
    return graph(name, series=series, length=fft_size, x_units="Hz", x_start=[a.start for a in axes],
                 x_stop=[a.stop for a in axes], x_step=[a.step for a in axes], y_units=y_units,
                 reference=reference, processing=processing, description=description)


def samples_per_capture(data_products: Sequence[Mapping[str, Any]]) -> int:
    """How many data samples one capture holds: every graph's series, ``length`` each, in turn."""
    return sum(len(g.get("series") or [g["name"]]) * int(g["length"]) for g in data_products)


def series_annotations(data_products: Sequence[Mapping[str, Any]], capture_starts: Sequence[int]) -> list[dict[str, Any]]:
    """One annotation per series per capture: ``core:label`` the series name, covering its
    ``length`` samples, with the frequency edges of its bins when the x axis is in Hz.

    The data of capture k begins at ``capture_starts[k]`` and holds the graphs in order, each
    graph its series in order (series-major), so readers find a spectrum without the graph.
    """
    annotations: list[dict[str, Any]] = []
    for k, capture_start in enumerate(capture_starts):
        offset = _count(capture_start, "capture start")
        for g in data_products:
            length = int(g["length"])
            edges = None
            if g.get("x_units") == "Hz" and g.get("x_start"):
                pick = 0 if len(g["x_start"]) == 1 else k
                half = g["x_step"][pick] / 2
                edges = (g["x_start"][pick] - half, g["x_stop"][pick] + half)
            for label in g.get("series") or [g["name"]]:
                annotation: dict[str, Any] = {"core:sample_start": offset, "core:sample_count": length, "core:label": label}
                if edges is not None:
                    annotation["core:freq_lower_edge"], annotation["core:freq_upper_edge"] = edges
                annotations.append(annotation)
                offset += length
    return annotations


# --- each capture --------------------------------------------------------------------------------

def duration_ms(num_samples: int, sample_rate: float) -> int:
    """``ntia-sensor:duration``: the capture's length in whole milliseconds (nearest; an int, as
    the document types it)."""
    samples = _count(num_samples, "num_samples")
    rate = _finite(sample_rate, "sample_rate")
    if rate <= 0:
        raise NtiaMetadataError(f"sample_rate: must be > 0, got {sample_rate!r}")
    return int(math.floor(samples / rate * 1000.0 + 0.5))


def sigan_settings(*, gain: float | None = None, reference_level: float | None = None,
                   attenuation: float | None = None, preamp_enable: bool | None = None) -> dict[str, Any]:
    """``ntia-sensor:sigan_settings``: the radio settings used (only those given)."""
    settings: dict[str, Any] = {}
    for key, value in (("gain", gain), ("reference_level", reference_level), ("attenuation", attenuation)):
        if value is not None:
            settings[key] = _finite(value, key)
    if preamp_enable is not None:
        if not isinstance(preamp_enable, bool):
            raise NtiaMetadataError(f"preamp_enable: expected true or false, got {preamp_enable!r}")
        settings["preamp_enable"] = preamp_enable
    return settings


def sensor_calibration(calibration: Calibration, frequency: float | None, *, temperature: float | None = None,
                       enbw: float | None = None) -> dict[str, Any] | None:
    """``ntia-sensor:sensor_calibration``: the calibration values applied to a capture, read from
    the table at ``frequency`` (Hz). None for an uncalibrated sensor: a gain of 0 dB is not a
    measurement. ``temperature`` (degrees C) and ``enbw`` (Hz) are recorded when known."""
    if calibration is UNCALIBRATED:
        return None
    return applied_calibration(calibration.at(frequency), temperature=temperature, enbw=enbw)


def applied_calibration(values: Mapping[str, Any], *, temperature: float | None = None,
                        enbw: float | None = None) -> dict[str, Any] | None:
    """``ntia-sensor:sensor_calibration`` from the values a calibration gave at one frequency
    (:meth:`scos_gr.calibration.Calibration.at`: what the task context carries). None when they
    are the uncalibrated sensor's."""
    if dict(values) == UNCALIBRATED.at(values.get("frequency")):
        return None
    result: dict[str, Any] = {}
    when = values.get("calibration_datetime")
    if when:
        try:
            result["datetime"] = datetime_utc(when)
        except NtiaMetadataError:
            raise NtiaMetadataError(f"{values.get('source')}: calibration_datetime: not an ISO 8601 time: "
                                    f"{when!r}") from None
    result["gain"] = _finite(values["gain_db"], "calibration gain")
    if values.get("noise_figure_db") is not None:
        result["noise_figure"] = _finite(values["noise_figure_db"], "calibration noise figure")
    if enbw is not None:
        result["enbw"] = _finite(enbw, "calibration enbw")
    if values.get("reference"):
        result["reference"] = str(values["reference"])
    if temperature is None:
        temperature = values.get("temperature_c")  # the calibration's own, when it measured one
    if temperature is not None:
        result["temperature"] = _finite(temperature, "calibration temperature")
    return result


@dataclass(frozen=True)
class CaptureFacts:
    """What a writer knows about one capture.

    - ``sample_start``: where the capture's data begins (in samples of the recording's datatype);
    - ``frequency``: the radio's centre frequency (Hz); ``start``: epoch seconds of its first
      time-domain sample; ``samples``: time-domain samples received for it; ``sample_rate``: Hz;
    - ``overload``: a sample reached the radio's full scale; ``overload_samples``: how many, if
      counted;
    - ``gain``: the radio's gain setting (dB); ``dropped_samples``/``overflows``: losses the
      radio reported (the capture then spans ``samples + dropped_samples`` sample times).
    """

    sample_start: int
    frequency: float
    start: float | _dt.datetime | str
    samples: int
    sample_rate: float
    overload: bool
    gain: float | None = None
    dropped_samples: int = 0
    overflows: int = 0
    overload_samples: int | None = None


def capture_segment(facts: CaptureFacts, calibration: Calibration | None = None,
                    calibration_frequency: float | None = None, *,
                    applied: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A SigMF capture segment with the ntia-sensor per-capture fields and scos-gr's counts.

    ``calibration_frequency``: where the calibration applied to this capture's data was read
    (default: the capture's own frequency; a survey that corrects every step by the value at the
    band centre passes the band centre, so the recording says what was applied). ``applied``:
    the ``sensor_calibration`` object itself, when the caller has the values already
    (:func:`applied_calibration`), instead of ``calibration``.
    """
    if not isinstance(facts.overload, bool):
        raise NtiaMetadataError(f"overload: expected true or false, got {facts.overload!r}")
    dropped = _count(facts.dropped_samples, "dropped_samples")
    segment: dict[str, Any] = {
        "core:sample_start": _count(facts.sample_start, "sample_start"),
        "core:frequency": _finite(facts.frequency, "frequency"),
        "core:datetime": datetime_utc(facts.start),
        "ntia-sensor:duration": duration_ms(_count(facts.samples, "samples") + dropped, facts.sample_rate),
        "ntia-sensor:overload": facts.overload,
    }
    settings = sigan_settings(gain=facts.gain)
    if settings:
        segment["ntia-sensor:sigan_settings"] = settings
    if calibration is not None:
        where = facts.frequency if calibration_frequency is None else calibration_frequency
        applied = sensor_calibration(calibration, where)
    if applied is not None:
        segment["ntia-sensor:sensor_calibration"] = dict(applied)
    segment["scos-gr:dropped_samples"] = dropped
    segment["scos-gr:overflows"] = _count(facts.overflows, "overflows")
    if facts.overload_samples is not None:
        count = _count(facts.overload_samples, "overload_samples")
        if (count > 0) != facts.overload:
            raise NtiaMetadataError(f"overload is {facts.overload} but {count} samples reached full scale")
        segment["scos-gr:overload_samples"] = count
    return segment


def loss_totals(captures: Iterable[Mapping[str, Any]]) -> dict[str, int]:
    """The global ``scos-gr:dropped_samples`` and ``scos-gr:overflows``: sums over the captures."""
    captures = list(captures)
    return {key: sum(int(c.get(key, 0)) for c in captures) for key in ("scos-gr:dropped_samples", "scos-gr:overflows")}
