"""A reader's check of a recording against SigMF 1.x and the NTIA extension documents v2.

``problems(metadata, data_bytes)`` lists, one sentence each, everything that would stop a tool
written for the current NTIA sensors from reading the recording as the documents describe it:

- sigmf-python's validation (its schema, and extension namespaces used but not declared);
- ``core:extensions``: every NTIA namespace used is declared at the version of the current
  document (ntia-core 2.0.0, ntia-algorithm 2.0.1, ntia-sensor 2.0.0, ntia-scos 1.0.0,
  ntia-environment 1.0.0, ntia-diagnostics 2.2.0, ntia-nasctn-sea 0.6.0; "v2.0.0" and "2.0.0"
  are both accepted, as the documents' examples and scos-actions spell them differently);
- every object the documents define: required fields present, every field of the documented
  type, no field the documents do not define (NTIA's own readers parse these objects strictly),
  no ``ntia-*`` key where no v2 document puts one (``ntia-core:measurement``,
  ``ntia-core:annotation_type`` and the v1 per-annotation detection fields among them);
- consistency with the data: data size against datatype and captures; with data products,
  each capture holds every graph's series; x axes against bins and frequency; a DFT's ``dfts``
  against the capture duration (the frames its detectors ran over); its equivalent noise
  bandwidth against its window; the series against the annotations; without data products, each
  capture's duration against its samples; the ``ntia-nasctn-sea`` summaries, one value per capture.

``project_problems(metadata)`` adds scos-gr's own promises (spec, "Recording metadata"): the
fields every scos-gr recording carries although the documents make them optional.

This is a test oracle written from the documents, independent of ``sigmf_out.ntia``: the field
tables below restate the documents' tables (type "double" is a JSON number, "integer" a JSON
integer; ISO-8601 times end in ``Z``), and window ENBWs are computed from GNU Radio's windows.
"""
from __future__ import annotations

import math
import re
import warnings
from typing import Any, Mapping, Sequence

import numpy as np

# --- the documents' objects ---------------------------------------------------------------------
# field -> (required, type); a type is a scalar kind, "X[]" for a list of X, or an object name

S, D, I, B, T = "string", "double", "integer", "boolean", "datetime"


def _o(**fields: Any) -> dict[str, tuple[bool, str]]:
    return {name.replace("_1db", "1db"): (spec if isinstance(spec, tuple) else (False, spec)) for name, spec in fields.items()}


OBJECTS: dict[str, dict[str, tuple[bool, str]]] = {
    # ntia-core v2.0.0
    "HardwareSpec": _o(id=(True, S), model=S, version=S, description=S, supplemental_information=S),
    "Antenna": _o(antenna_spec=(True, "HardwareSpec"), type=S, frequency_low=D, frequency_high=D, polarization=S,
                  cross_polar_discrimination=D, gain=D, horizontal_gain_pattern="double[]",
                  vertical_gain_pattern="double[]", horizontal_beamwidth=D, vertical_beamwidth=D,
                  voltage_standing_wave_ratio=D, cable_loss=D, steerable=B, azimuth_angle=D, elevation_angle=D),
    # ntia-sensor v2.0.0
    "Sensor": _o(sensor_spec=(True, "HardwareSpec"), antenna="Antenna", preselector="Preselector",
                 signal_analyzer="SignalAnalyzer", computer_spec="HardwareSpec", mobile=B, environment="Environment",
                 sensor_sha512=S),
    "SignalAnalyzer": _o(sigan_spec="HardwareSpec", frequency_low=D, frequency_high=D, noise_figure=D, max_power=D,
                         a2d_bits=I),
    "Preselector": _o(preselector_spec="HardwareSpec", cal_sources="CalSource[]", amplifiers="Amplifier[]",
                      filters="Filter[]", rf_paths="RFPath[]"),
    "CalSource": _o(cal_source_spec="HardwareSpec", type=S, enr=D),
    "Amplifier": _o(amplifier_spec="HardwareSpec", gain=D, noise_figure=D, max_power=D),
    "Filter": _o(filter_spec="HardwareSpec", frequency_low_passband=D, frequency_high_passband=D,
                 frequency_low_stopband=D, frequency_high_stopband=D),
    "RFPath": _o(id=(True, S), cal_source_id=S, filter_id=S, amplifier_id=S),
    "Calibration": _o(datetime=T, gain=D, noise_figure=D, _1db_compression_point=D, enbw=D, mean_noise_power=D,
                      mean_noise_power_units=S, reference=S, temperature=D),
    "SiganSettings": _o(gain=D, reference_level=D, attenuation=D, preamp_enable=B),
    # ntia-environment v1.0.0
    "Environment": _o(category=S, temperature=D, humidity=D, weather=S, description=S),
    # ntia-algorithm v2.0.1
    "Graph": _o(name=(True, S), series="string[]", length=(True, I), x_units=S, x_axis="axis", x_start="double[]",
                x_stop="double[]", x_step="double[]", y_units=S, y_axis="axis", y_start="double[]", y_stop="double[]",
                y_step="double[]", processing="string[]", reference=S, description=S),
    "DFT": _o(type=(True, S), id=(True, S), equivalent_noise_bandwidth=(True, D), samples=(True, I), dfts=(True, I),
              window=(True, S), baseband=(True, B), description=S),
    "DigitalFilter": _o(type=(True, S), id=(True, S), filter_type=(True, "FilterType"),
                        feedforward_coefficients="double[]", feedback_coefficients="double[]",
                        attenuation_cutoff=D, frequency_cutoff=D, description=S),
    # ntia-scos v1.0.0
    "ScheduleEntry": _o(id=(True, S), name=(True, S), start=T, stop=T, interval=I, priority=I, roles="string[]"),
    "Action": _o(name=(True, S), description=S, summary=S),
    # ntia-diagnostics v2.2.0
    "Diagnostics": _o(datetime=T, preselector="PreselectorDiagnostics", spu="SPU", computer="Computer",
                      software="Software"),
    "PreselectorDiagnostics": _o(temp=D, noise_diode_temp=D, lna_temp=D, humidity=D, door_closed=B,
                                 noise_diode_powered=B, lna_powered=B, antenna_path_enabled=B,
                                 noise_diode_path_enabled=B),
    "SPU": _o(sigan_powered=B, preselector_powered=B, humidity_sensors="DiagnosticSensor[]",
              temperature_sensors="DiagnosticSensor[]", power_sensors="DiagnosticSensor[]", door_closed=B,
              temperature_control_powered=B, heating=B, cooling=B, battery_backup=B, low_battery=B,
              replace_battery=B, ups_healthy=B),
    "Computer": _o(cpu_min_clock=D, cpu_max_clock=D, cpu_mean_clock=D, cpu_uptime=D, action_cpu_usage=D,
                   action_runtime=D, system_load_5m=D, memory_usage=D, cpu_overheating=B, cpu_temp=D,
                   software_start=T, software_uptime=D, ssd_smart_data="SsdSmartData", ntp_active=B, ntp_sync=B,
                   disk_usage=D),
    "SsdSmartData": _o(test_passed=B, critical_warning=S, temp=D, available_spare=D, available_spare_threshold=D,
                       percentage_used=D, unsafe_shutdowns=I, integrity_errors=I),
    # the document's table says "sigan_api_verision", its example "sigan_api_version": both accepted
    "Software": _o(system_platform=S, python_version=S, scos_sensor_version=S, scos_actions_version=S,
                   scos_sigan_plugin="ScosPlugin", preselector_api_version=S, sigan_firmware_version=S,
                   sigan_api_verision=S, sigan_api_version=S),
    "ScosPlugin": _o(name=(True, S), version=(True, S)),
    "DiagnosticSensor": _o(name=(True, S), description=S, expected_value=D, maximum_allowed=D, minimum_allowed=D,
                           value=(True, D)),
}

#: where each namespace's fields may appear (v2: only these), field -> (required, type)
GLOBAL_FIELDS = {
    "ntia-core:classification": (True, S),
    "ntia-algorithm:data_products": (False, "Graph[]"),
    "ntia-algorithm:processing": (False, "string[]"),
    "ntia-algorithm:processing_info": (False, "Processing[]"),
    "ntia-sensor:sensor": (False, "Sensor"),
    "ntia-scos:schedule": (False, "ScheduleEntry"),
    "ntia-scos:action": (False, "Action"),
    "ntia-scos:task": (False, I),
    "ntia-scos:recording": (False, I),
    "ntia-diagnostics:diagnostics": (False, "Diagnostics"),
    # ntia-nasctn-sea v0.6.0: summary power statistics "for each capture in a recording" (dBm)
    "ntia-nasctn-sea:max_of_max_channel_powers": (False, "double[]"),
    "ntia-nasctn-sea:mean_channel_powers": (False, "double[]"),
    "ntia-nasctn-sea:median_channel_powers": (False, "double[]"),
    "ntia-nasctn-sea:median_of_mean_channel_powers": (False, "double[]"),
}
CAPTURE_FIELDS = {
    "ntia-sensor:duration": (False, I),
    "ntia-sensor:overload": (False, B),
    "ntia-sensor:sensor_calibration": (False, "Calibration"),
    "ntia-sensor:sigan_calibration": (False, "Calibration"),
    "ntia-sensor:sigan_settings": (False, "SiganSettings"),
}
ANNOTATION_FIELDS: dict[str, tuple[bool, str]] = {}  # no v2 NTIA document extends annotations

VERSIONS = {"ntia-core": "2.0.0", "ntia-algorithm": "2.0.1", "ntia-sensor": "2.0.0", "ntia-scos": "1.0.0",
            "ntia-environment": "1.0.0", "ntia-diagnostics": "2.2.0", "ntia-nasctn-sea": "0.6.0"}

_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")
_ITEMSIZE = {"rf32_le": 4, "cf32_le": 8, "rf64_le": 8, "cf64_le": 16, "ri16_le": 2, "ci16_le": 4, "ri8": 1, "ru8": 1,
             "ci8": 2, "cu8": 2}

#: DFT window names (the document's examples and scos-gr's) -> GNU Radio's window function
_GR_WINDOWS = {"rectangular": "rectangular", "blackman": "blackman", "hann": "hann", "hanning": "hann",
               "hamming": "hamming", "bartlett": "bartlett", "flattop": "flattop", "blackman-harris": "blackman_harris",
               "blackman_harris": "blackman_harris", "nuttall": "nuttall"}


# --- entry points ----------------------------------------------------------------------------------

def problems(metadata: dict, data_bytes: int) -> list[str]:
    """Everything in ``metadata`` (with a data file of ``data_bytes``) that breaks SigMF 1.x or
    the NTIA v2 documents, or disagrees with the data. Empty: a v2 reader reads it as written."""
    if not isinstance(metadata, Mapping) or not isinstance(metadata.get("global"), Mapping):
        return ["metadata: expected an object with a 'global' object"]
    found = _sigmf(metadata)
    found += _extensions(metadata)
    found += _fields(metadata)
    found += _data(metadata, int(data_bytes))
    return found


def project_problems(metadata: dict) -> list[str]:
    """scos-gr's promises beyond the documents: what every recording of ours carries."""
    g = metadata["global"]
    found: list[str] = []
    sensor = g.get("ntia-sensor:sensor")
    if not isinstance(sensor, Mapping):
        found.append("global: ntia-sensor:sensor missing")
    elif not re.fullmatch(r"[0-9a-f]{128}", str(sensor.get("sensor_sha512", ""))):
        found.append("ntia-sensor:sensor.sensor_sha512: expected 128 lowercase hex digits (a SHA-512)")
    act = g.get("ntia-scos:action")
    if not isinstance(act, Mapping):
        found.append("global: ntia-scos:action missing")
    else:
        for key in ("summary", "description"):
            if not act.get(key):
                found.append(f"ntia-scos:action.{key} missing")
        if act.get("summary") and g.get("core:description") != act["summary"]:
            found.append("core:description: expected the action's summary")
    declared = [e.get("name") for e in g.get("core:extensions", [])]
    used = _used_namespaces(metadata)
    for name in declared:
        if name not in used:
            found.append(f"core:extensions: {name} declared but not used")
    scos_gr = [e for e in g.get("core:extensions", []) if e.get("name") == "scos-gr"]
    if scos_gr and scos_gr[0].get("version") != "v0.2.0":
        found.append(f"core:extensions: scos-gr at {scos_gr[0].get('version')!r}, expected 'v0.2.0'")
    captures = metadata.get("captures", [])
    for k, capture in enumerate(captures):
        where = f"captures[{k}]"
        for key in ("core:frequency", "core:datetime", "ntia-sensor:duration", "ntia-sensor:overload",
                    "ntia-sensor:sigan_settings", "scos-gr:dropped_samples", "scos-gr:overflows"):
            if key not in capture:
                found.append(f"{where}: {key} missing")
        if isinstance(capture.get("ntia-sensor:sigan_settings"), Mapping) and "gain" not in capture["ntia-sensor:sigan_settings"]:
            found.append(f"{where}.ntia-sensor:sigan_settings: gain missing")
        for key in ("scos-gr:dropped_samples", "scos-gr:overflows", "scos-gr:overload_samples"):
            if key in capture and not (_is_int(capture[key]) and capture[key] >= 0):
                found.append(f"{where}.{key}: expected an integer >= 0, got {capture[key]!r}")
        count = capture.get("scos-gr:overload_samples")
        if _is_int(count) and isinstance(capture.get("ntia-sensor:overload"), bool) and \
                (count > 0) != capture["ntia-sensor:overload"]:
            found.append(f"{where}: ntia-sensor:overload is {capture['ntia-sensor:overload']} "
                         f"but scos-gr:overload_samples is {count}")
    for key in ("scos-gr:dropped_samples", "scos-gr:overflows"):
        total = sum(c.get(key, 0) for c in captures if _is_int(c.get(key, 0)))
        if g.get(key) != total:
            found.append(f"global.{key}: {g.get(key)!r}, expected the captures' sum {total}")
    datatype = g.get("core:datatype")
    products = g.get("ntia-algorithm:data_products")
    if datatype == "rf32_le":
        if not products:
            found.append("detection recording (rf32_le): ntia-algorithm:data_products missing")
        if not any(isinstance(p, Mapping) and p.get("type") == "DFT" for p in g.get("ntia-algorithm:processing_info", [])):
            found.append("detection recording (rf32_le): no DFT object in ntia-algorithm:processing_info")
    elif datatype == "cf32_le" and products:
        found.append("IQ recording (cf32_le): has data_products, but its data are the samples themselves")
    return found


# --- SigMF ------------------------------------------------------------------------------------------

def _sigmf(metadata: Mapping[str, Any]) -> list[str]:
    import jsonschema
    from sigmf import validate

    found = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            validate.validate(dict(metadata))
        except jsonschema.ValidationError as exc:
            where = "/".join(str(p) for p in exc.absolute_path)
            found.append(f"sigmf-python: {where}: {exc.message}")
    found += [f"sigmf-python: {w.message}" for w in caught]
    return found


# --- extensions ---------------------------------------------------------------------------------------

def _used_namespaces(metadata: Mapping[str, Any]) -> set[str]:
    used = set()
    for section in _sections(metadata):
        used |= {key.split(":", 1)[0] for key in section if ":" in key}
    used.discard("core")
    sensor = metadata["global"].get("ntia-sensor:sensor")
    if isinstance(sensor, Mapping) and "environment" in sensor:
        used.add("ntia-environment")
    return used


def _sections(metadata: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    captures = metadata.get("captures") if isinstance(metadata.get("captures"), list) else []
    annotations = metadata.get("annotations") if isinstance(metadata.get("annotations"), list) else []
    return [metadata["global"], *[c for c in captures if isinstance(c, Mapping)],
            *[a for a in annotations if isinstance(a, Mapping)]]


def _extensions(metadata: Mapping[str, Any]) -> list[str]:
    found = []
    declared: dict[str, Any] = {}
    for ext in metadata["global"].get("core:extensions", []) or []:
        if isinstance(ext, Mapping) and isinstance(ext.get("name"), str):
            declared[ext["name"]] = ext.get("version")
    used = _used_namespaces(metadata) | {"ntia-core"}  # classification is required: ntia-core always is
    for name in sorted(used):
        if not name.startswith("ntia-"):
            continue
        if name not in declared:
            found.append(f"core:extensions: {name} is used but not declared")
            continue
        want = VERSIONS.get(name)
        version = str(declared[name])
        if want is None:
            found.append(f"core:extensions: {name} is not a namespace of the documents this check knows")
        elif version.removeprefix("v") != want:
            found.append(f"core:extensions: {name} declared at {version!r}; the current document is v{want}")
    for name, version in declared.items():
        want = VERSIONS.get(name)
        if want is not None and name not in used and str(version).removeprefix("v") != want:
            found.append(f"core:extensions: {name} declared at {version!r}; the current document is v{want}")
    return found


# --- fields and types -----------------------------------------------------------------------------------

def _fields(metadata: Mapping[str, Any]) -> list[str]:
    found: list[str] = []
    scopes = [("global", metadata["global"], GLOBAL_FIELDS)]
    scopes += [(f"captures[{k}]", c, CAPTURE_FIELDS) for k, c in enumerate(metadata.get("captures") or [])]
    scopes += [(f"annotations[{k}]", a, ANNOTATION_FIELDS) for k, a in enumerate(metadata.get("annotations") or [])]
    for where, section, table in scopes:
        if not isinstance(section, Mapping):
            continue
        for key in section:
            if key.startswith("ntia-") and key not in table:
                found.append(f"{where}: {key} is not defined here by the NTIA v2 documents (a v1 field?)")
        for key, (required, kind) in table.items():
            if key not in section:
                if required:
                    found.append(f"{where}: {key} missing (required)")
                continue
            found += _check(section[key], kind, f"{where}.{key}")
    geo = metadata["global"].get("core:geolocation")
    if isinstance(geo, Mapping) and isinstance(geo.get("coordinates"), list) and len(geo["coordinates"]) >= 2:
        lon, lat = geo["coordinates"][:2]
        if _is_number(lon) and not -180 <= lon <= 180:
            found.append(f"global.core:geolocation: longitude {lon} is not within -180..180")
        if _is_number(lat) and not -90 <= lat <= 90:
            found.append(f"global.core:geolocation: latitude {lat} is not within -90..90 (coordinates are [lon, lat])")
    return found


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check(value: Any, kind: str, where: str) -> list[str]:
    if kind.endswith("[]"):
        if not isinstance(value, list):
            return [f"{where}: expected a list ({kind}), got {type(value).__name__}"]
        found = []
        for i, item in enumerate(value):
            found += _check(item, kind[:-2], f"{where}[{i}]")
        return found
    if kind == S:
        return [] if isinstance(value, str) else [f"{where}: expected a string, got {value!r}"]
    if kind == D:
        return [] if _is_number(value) else [f"{where}: expected a number (double), got {value!r}"]
    if kind == I:
        return [] if _is_int(value) else [f"{where}: expected an integer, got {value!r}"]
    if kind == B:
        return [] if isinstance(value, bool) else [f"{where}: expected true or false, got {value!r}"]
    if kind == T:
        ok = isinstance(value, str) and _DATETIME.match(value)
        return [] if ok else [f"{where}: expected an ISO-8601 UTC time ending in Z, got {value!r}"]
    if kind == "FilterType":
        return [] if value in ("FIR", "IIR") else [f"{where}: expected FIR or IIR, got {value!r}"]
    if kind == "axis":
        if not isinstance(value, list) or not value:
            return [f"{where}: expected a non-empty list, got {value!r}"]
        kinds = {"string" if isinstance(v, str) else "integer" if _is_int(v) else "double" if _is_number(v) else "other"
                 for v in value}
        return [] if len(kinds) == 1 and "other" not in kinds else [f"{where}: values must all be integers, doubles or strings"]
    if kind == "Processing":
        if not isinstance(value, Mapping):
            return [f"{where}: expected an object, got {value!r}"]
        if value.get("type") not in ("DFT", "DigitalFilter"):
            return [f"{where}: type must be DFT or DigitalFilter (every processing_info object has one), "
                    f"got {value.get('type')!r}"]
        kind = value["type"]
    table = OBJECTS.get(kind)
    if table is None:  # pragma: no cover - the tables above name only known kinds
        raise AssertionError(kind)
    if not isinstance(value, Mapping):
        return [f"{where}: expected a {kind} object, got {value!r}"]
    found = []
    for key in value:
        if key not in table:
            found.append(f"{where}: {key} is not a field of {kind}")
    for key, (required, sub) in table.items():
        if key not in value:
            if required:
                found.append(f"{where}: {key} missing (required in {kind})")
            continue
        found += _check(value[key], sub, f"{where}.{key}")
    return found


# --- consistency with the data -------------------------------------------------------------------------

def window_enbw_bins(window: str, size: int) -> float | None:
    """ENBW in bins of a window as GNU Radio computes it (N sum w^2 / (sum w)^2); None if unknown."""
    name = _GR_WINDOWS.get(str(window).strip().lower())
    if name is None:
        return None
    from gnuradio.fft import window as gr_window

    w = np.asarray(getattr(gr_window, name)(int(size)), dtype=float)
    return float(len(w) * np.sum(w * w) / np.sum(w) ** 2)


def _close(a: float, b: float, scale: float) -> bool:
    return abs(a - b) <= 1e-9 * max(abs(a), abs(b), 1.0) + 1e-6 * abs(scale)


def _data(metadata: Mapping[str, Any], data_bytes: int) -> list[str]:
    g = metadata["global"]
    found: list[str] = []
    itemsize = _ITEMSIZE.get(g.get("core:datatype"))
    rate = g.get("core:sample_rate")
    # SigMF: no captures means one capture at sample 0 with nothing more said
    captures = [c for c in metadata.get("captures") or [] if isinstance(c, Mapping)] or [{"core:sample_start": 0}]
    if itemsize is None or not _is_number(rate) or rate <= 0:
        return []  # sigmf-python's schema check has said what is wrong
    if data_bytes % itemsize:
        found.append(f"data: {data_bytes} bytes is not a whole number of {g['core:datatype']} samples ({itemsize} bytes)")
    total = data_bytes // itemsize
    starts = [c.get("core:sample_start") for c in captures]
    if not all(_is_int(s) for s in starts):
        return found
    if starts[0] != 0:
        found.append(f"captures[0]: starts at sample {starts[0]}; the data from sample 0 is described by no capture")
    if any(b <= a for a, b in zip(starts, starts[1:])):
        return found + ["captures: sample_start values must increase"]
    if starts[-1] >= total and total:
        found.append(f"captures[{len(starts) - 1}]: starts at {starts[-1]}, past the {total} samples of data")
    for key in sorted(k for k in g if k.startswith("ntia-nasctn-sea:")):  # "for each capture in a recording"
        if isinstance(g[key], list) and len(g[key]) != len(captures):
            found.append(f"global.{key}: {len(g[key])} values for {len(captures)} captures (one per capture)")
    sizes = [b - a for a, b in zip(starts, starts[1:] + [total])]

    products = g.get("ntia-algorithm:data_products")
    info = [p for p in g.get("ntia-algorithm:processing_info") or [] if isinstance(p, Mapping)]
    if not products or not isinstance(products, list) or _check(products, "Graph[]", "x"):
        for k, capture in enumerate(captures):  # raw samples: the duration is the capture's length
            found += _duration(capture, k, sizes[k], rate, "its samples")
        return found + _annotations_inside(metadata, total)

    ids = [p.get("id") for p in info]
    for dup in sorted({i for i in ids if ids.count(i) > 1}, key=str):
        found.append(f"ntia-algorithm:processing_info: id {dup!r} is used twice")
    known = {p.get("id"): p for p in info}
    for pid in g.get("ntia-algorithm:processing") or []:
        if pid not in known:
            found.append(f"ntia-algorithm:processing: {pid!r} names no processing_info object")

    per_capture = sum(len(p.get("series") or [p["name"]]) * p["length"] for p in products)
    for k, size in enumerate(sizes):
        if size != per_capture:
            found.append(f"captures[{k}]: holds {size} samples, but the data products describe {per_capture} "
                         f"per capture (series x length)")
    for n, product in enumerate(products):
        where = f"ntia-algorithm:data_products[{n}]"
        found += _axes(product, where, len(captures))
        for pid in product.get("processing") or []:
            if pid not in known:
                found.append(f"{where}.processing: {pid!r} names no processing_info object")
        dfts = [known[p] for p in [*(g.get("ntia-algorithm:processing") or []), *(product.get("processing") or [])]
                if p in known and known[p].get("type") == "DFT" and not _check(known[p], "Processing", "x")]
        for dft in dfts:
            found += _dft(dft, product, where, captures, rate)
    return found + _series_annotations(metadata, products, starts, total)


def _axes(product: Mapping[str, Any], where: str, n_captures: int) -> list[str]:
    found = []
    length = product["length"]
    for axis in ("x", "y"):
        parts = [product.get(f"{axis}_{p}") for p in ("start", "stop", "step")]
        given = [p is not None for p in parts]
        if (any(given) or product.get(f"{axis}_axis") is not None) and not product.get(f"{axis}_units"):
            found.append(f"{where}: {axis}_units missing (required with a {axis} axis)")
        if any(given) and not all(given):
            found.append(f"{where}: {axis}_start, {axis}_stop and {axis}_step go together (all three or none)")
            continue
        if all(given):
            lengths = {len(p) for p in parts}
            if len(lengths) != 1:
                found.append(f"{where}: {axis}_start, {axis}_stop, {axis}_step have different lengths")
                continue
            count = lengths.pop()
            if count not in (1, n_captures):
                found.append(f"{where}: {axis}_start has {count} values; expected 1 or one per capture ({n_captures})")
            if axis == "x":
                for k, (a, b, s) in enumerate(zip(*parts)):
                    if not _close(a + (length - 1) * s, b, s):
                        found.append(f"{where}: x axis {k}: {length} bins from {a} by {s} end at "
                                     f"{a + (length - 1) * s}, but x_stop is {b}")
    if isinstance(product.get("x_axis"), list) and len(product["x_axis"]) != length:
        found.append(f"{where}: x_axis has {len(product['x_axis'])} values for a length of {length}")
    return found


def _x_axis_usable(product: Mapping[str, Any], n_captures: int) -> bool:
    """Whether the x axis is in Hz and given per capture as the rules say (else _axes reported it)."""
    parts = [product.get(f"x_{p}") for p in ("start", "stop", "step")]
    return (product.get("x_units") == "Hz" and all(isinstance(p, list) and p for p in parts)
            and len({len(p) for p in parts}) == 1 and len(parts[0]) in (1, n_captures))


def _dft(dft: Mapping[str, Any], product: Mapping[str, Any], where: str, captures: list, rate: float) -> list[str]:
    found = []
    name = f"DFT {dft['id']!r}"
    samples, length = dft["samples"], product["length"]
    if samples < 1 or dft["dfts"] < 1:
        return [f"{name}: samples and dfts must be >= 1"]
    bins = window_enbw_bins(dft["window"], samples)
    if bins is None:
        found.append(f"{name}: window {dft['window']!r} is not one whose ENBW this check knows")
    else:
        expected = bins * rate / samples
        if not math.isclose(dft["equivalent_noise_bandwidth"], expected, rel_tol=1e-5):
            found.append(f"{name}: equivalent_noise_bandwidth {dft['equivalent_noise_bandwidth']} Hz, but a "
                         f"{samples}-point {dft['window']} window at {rate} S/s gives {expected:.6g} Hz")
    if length > samples:
        found.append(f"{where}: {length} values per series from a {samples}-point DFT")
    if _x_axis_usable(product, len(captures)):
        count = len(product["x_start"])
        for k, capture in enumerate(captures):
            pick = 0 if count == 1 else k
            if pick >= count:
                break
            start, step = product["x_start"][pick], product["x_step"][pick]
            if not math.isclose(step * samples, rate, rel_tol=1e-9):
                found.append(f"{where}: x_step {step} Hz times {samples} bins is not the sample rate {rate}")
            if length == samples and _is_number(capture.get("core:frequency")):
                centre = 0.0 if dft["baseband"] else capture["core:frequency"]
                at_centre = start + (samples // 2) * step
                if not _close(at_centre, centre, step):
                    found.append(f"{where}: bin {samples // 2} of capture {k} is at {at_centre} Hz, not at "
                                 f"{'0 (baseband)' if dft['baseband'] else 'the capture frequency'} {centre} Hz")
    for k, capture in enumerate(captures):
        found += _duration(capture, k, dft["dfts"] * samples, rate, f"{dft['dfts']} DFTs of {samples} samples")
    return found


def _duration(capture: Mapping[str, Any], k: int, samples: int, rate: float, what: str) -> list[str]:
    duration = capture.get("ntia-sensor:duration")
    if not _is_int(duration):
        return []
    dropped = capture.get("scos-gr:dropped_samples", 0)
    dropped = dropped if _is_int(dropped) else 0
    expected = (samples + dropped) / rate * 1000.0
    if abs(duration - expected) >= 1.0:
        return [f"captures[{k}]: ntia-sensor:duration {duration} ms, but {what} (+{dropped} dropped) at "
                f"{rate} S/s last {expected:.3f} ms"]
    return []


def _annotations_inside(metadata: Mapping[str, Any], total: int) -> list[str]:
    found = []
    for i, a in enumerate(metadata.get("annotations") or []):
        if not isinstance(a, Mapping):
            continue  # the schema check has said so
        start, count = a.get("core:sample_start"), a.get("core:sample_count", 0)
        if _is_int(start) and _is_int(count) and start + count > total:
            found.append(f"annotations[{i}]: samples {start}..{start + count - 1} reach past the {total} samples of data")
    return found


def _series_annotations(metadata: Mapping[str, Any], products: Sequence[Mapping[str, Any]], starts: list[int],
                        total: int) -> list[str]:
    """Each series of each capture has an annotation labelled with its name over exactly its samples."""
    expected: dict[tuple[int, int], tuple[str, Mapping[str, Any], int]] = {}
    for k, start in enumerate(starts):
        offset = start
        for product in products:
            for label in product.get("series") or [product["name"]]:
                expected[(offset, product["length"])] = (label, product, k)
                offset += product["length"]
    found = []
    seen = set()
    for i, a in enumerate(metadata.get("annotations") or []):
        if not isinstance(a, Mapping):
            continue
        key = (a.get("core:sample_start"), a.get("core:sample_count"))
        if key not in expected:
            found.append(f"annotations[{i}]: samples {key[0]} (+{key[1]}) are not one series of one capture")
            continue
        label, product, k = expected[key]
        seen.add(key)
        if a.get("core:label") != label:
            found.append(f"annotations[{i}]: core:label {a.get('core:label')!r}, but these samples are series "
                         f"{label!r} of capture {k}")
        if "core:freq_lower_edge" in a and _x_axis_usable(product, len(starts)):
            pick = 0 if len(product["x_start"]) == 1 else k
            half = product["x_step"][pick] / 2
            edges = (product["x_start"][pick] - half, product["x_stop"][pick] + half)
            got = (a.get("core:freq_lower_edge"), a.get("core:freq_upper_edge"))
            if not all(_is_number(v) and _close(v, e, half) for v, e in zip(got, edges)):
                found.append(f"annotations[{i}]: frequency edges {got} are not the bins' edges {edges}")
    for key, (label, _, k) in expected.items():
        if key not in seen and key[0] < max(total, 1):
            found.append(f"annotations: none for series {label!r} of capture {k} (samples {key[0]} +{key[1]})")
    return found
