"""The sensor definition: what this sensor is made of and where it stands.

Every recording carries the sensor's description as the NTIA ``ntia-sensor:sensor`` object
(ntia-sensor v2.0.0), and ``/api/v1/capabilities/`` serves it as ``sensor_definition``. An
operator writes it once, in a file named by ``SCOS_SENSOR_DEFINITION`` (YAML, or JSON when the
name ends in ``.json``); ``deploy/sensor_definition.example.yml`` documents every key. The file
holds the keys of the NTIA ``Sensor`` object (``sensor_spec``, ``antenna``, ``preselector``,
``signal_analyzer``, ``computer_spec``, ``mobile``, ``environment``) with the fields the NTIA
documents define for each (ntia-core v2.0.0 ``HardwareSpec``/``Antenna``, ntia-sensor v2.0.0,
ntia-environment v1.0.0), plus ``location`` (``latitude``, ``longitude``, ``altitude``,
``description``), which recordings carry as SigMF's ``core:geolocation`` instead.

The file is checked completely at start-up, so that a typo is an error naming the file and the
key (``sensor.yml: antenna.antenna_spec.id: required ...``) rather than a field silently
missing from months of recordings: unknown keys, wrong types, non-finite numbers, coordinates
off the globe, a low frequency above its high one, and RF paths naming components that do not
exist are all refused with :class:`SensorDefinitionError` (a :class:`~scos_gr.errors.ConfigError`).

``sensor_sha512`` identifies a definition: the SHA-512 of the definition as canonical JSON
(``json.dumps(document, sort_keys=True)``, UTF-8), the way scos-sensor computes it, so the same
definition gives the same hash in either system whatever its file's layout, comments or format.
It is computed here and never read from the file.

This module reads no environment variable: ``scos_gr.config`` names the file, and passes the
``SCOS_SENSOR_ID`` to :func:`default_sensor_definition` when there is none.
"""
from __future__ import annotations

import copy
import hashlib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Mapping

import yaml

from scos_gr.errors import ConfigError

__all__ = [
    "Location",
    "SensorDefinition",
    "SensorDefinitionError",
    "SENSOR_KEYS",
    "default_sensor_definition",
    "key_paths",
    "load_sensor_definition",
    "parse_sensor_definition",
    "sensor_sha512",
]


class SensorDefinitionError(ConfigError):
    """The sensor definition file is unusable; the message names the file and the key."""


# --- what a definition may hold ---------------------------------------------------------------

@dataclass(frozen=True)
class _Field:
    """One key of a definition object: its JSON kind, whether it must be there, and its parts.

    ``kind``: ``string``, ``number`` (the documents' "double"), ``integer``, ``boolean``,
    ``number[]``, ``object`` or ``object[]`` (``members`` then describes the object).
    """

    kind: str
    required: bool = False
    members: Mapping[str, "_Field"] | None = None


def _obj(members: Mapping[str, _Field], required: bool = False) -> _Field:
    return _Field("object", required, members)


def _objs(members: Mapping[str, _Field]) -> _Field:
    return _Field("object[]", False, members)


_S, _N, _I, _B, _NS = _Field("string"), _Field("number"), _Field("integer"), _Field("boolean"), _Field("number[]")

#: ntia-core v2.0.0 HardwareSpec
_HARDWARE_SPEC: dict[str, _Field] = {
    "id": _Field("string", required=True),
    "model": _S, "version": _S, "description": _S, "supplemental_information": _S,
}
#: ntia-core v2.0.0 Antenna (``polarization`` is a string: the document's table says "double"
#: in its type column but "string" in its unit column, and every example value is a word)
_ANTENNA: dict[str, _Field] = {
    "antenna_spec": _obj(_HARDWARE_SPEC, required=True),
    "type": _S, "frequency_low": _N, "frequency_high": _N, "polarization": _S,
    "cross_polar_discrimination": _N, "gain": _N, "horizontal_gain_pattern": _NS,
    "vertical_gain_pattern": _NS, "horizontal_beamwidth": _N, "vertical_beamwidth": _N,
    "voltage_standing_wave_ratio": _N, "cable_loss": _N, "steerable": _B, "azimuth_angle": _N,
    "elevation_angle": _N,
}
#: ntia-sensor v2.0.0 SignalAnalyzer
_SIGNAL_ANALYZER: dict[str, _Field] = {
    "sigan_spec": _obj(_HARDWARE_SPEC), "frequency_low": _N, "frequency_high": _N,
    "noise_figure": _N, "max_power": _N, "a2d_bits": _I,
}
#: ntia-sensor v2.0.0 CalSource, Amplifier, Filter, RFPath, Preselector
_CAL_SOURCE: dict[str, _Field] = {"cal_source_spec": _obj(_HARDWARE_SPEC), "type": _S, "enr": _N}
_AMPLIFIER: dict[str, _Field] = {"amplifier_spec": _obj(_HARDWARE_SPEC), "gain": _N, "noise_figure": _N, "max_power": _N}
_FILTER: dict[str, _Field] = {
    "filter_spec": _obj(_HARDWARE_SPEC), "frequency_low_passband": _N, "frequency_high_passband": _N,
    "frequency_low_stopband": _N, "frequency_high_stopband": _N,
}
_RF_PATH: dict[str, _Field] = {"id": _Field("string", required=True), "cal_source_id": _S, "filter_id": _S, "amplifier_id": _S}
_PRESELECTOR: dict[str, _Field] = {
    "preselector_spec": _obj(_HARDWARE_SPEC), "cal_sources": _objs(_CAL_SOURCE),
    "amplifiers": _objs(_AMPLIFIER), "filters": _objs(_FILTER), "rf_paths": _objs(_RF_PATH),
}
#: ntia-environment v1.0.0 Environment
_ENVIRONMENT: dict[str, _Field] = {"category": _S, "temperature": _N, "humidity": _N, "weather": _S, "description": _S}
#: scos-gr's own: where the sensor stands (WGS84 degrees, metres above the ellipsoid)
_LOCATION: dict[str, _Field] = {
    "latitude": _Field("number", required=True), "longitude": _Field("number", required=True),
    "altitude": _N, "description": _S,
}
#: the file: the ntia-sensor v2.0.0 Sensor object's keys (less the computed sensor_sha512) + location
_DEFINITION: dict[str, _Field] = {
    "sensor_spec": _obj(_HARDWARE_SPEC, required=True),
    "antenna": _obj(_ANTENNA),
    "preselector": _obj(_PRESELECTOR),
    "signal_analyzer": _obj(_SIGNAL_ANALYZER),
    "computer_spec": _obj(_HARDWARE_SPEC),
    "mobile": _B,
    "environment": _obj(_ENVIRONMENT),
    "location": _obj(_LOCATION),
}

#: the keys of the definition that make up the NTIA ``Sensor`` object of a recording
SENSOR_KEYS: tuple[str, ...] = tuple(k for k in _DEFINITION if k != "location")

#: (RFPath key, Preselector list, spec key inside each list item): what an RF path may name
_RF_PATH_TARGETS = (
    ("cal_source_id", "cal_sources", "cal_source_spec"),
    ("filter_id", "filters", "filter_spec"),
    ("amplifier_id", "amplifiers", "amplifier_spec"),
)

_KIND_WORDS = {
    "string": "a string", "number": "a number", "integer": "an integer", "boolean": "true or false",
    "number[]": "a list of numbers", "object": "a mapping", "object[]": "a list of mappings",
}


def key_paths() -> list[str]:
    """Every key a definition may hold, as dotted paths (``preselector.rf_paths[].id``).

    For documentation and for the test that the shipped example documents every key.
    """
    def walk(members: Mapping[str, _Field], prefix: str) -> Iterator[str]:
        for name, spec in members.items():
            path = f"{prefix}{name}"
            yield path
            if spec.members is not None:
                yield from walk(spec.members, f"{path}[]." if spec.kind == "object[]" else f"{path}.")
    return list(walk(_DEFINITION, ""))


# --- the validated definition -----------------------------------------------------------------

@dataclass(frozen=True)
class Location:
    """Where the sensor stands: WGS84 decimal degrees, altitude in metres above the ellipsoid."""

    latitude: float
    longitude: float
    altitude: float | None = None
    description: str | None = None


@dataclass(frozen=True, eq=False)
class SensorDefinition:
    """A validated sensor definition. ``source`` is its file, or says it is the default."""

    document: Mapping[str, Any] = field(repr=False)
    sha512: str
    source: str

    @property
    def sensor_id(self) -> str:
        return str(self.document["sensor_spec"]["id"])

    @property
    def mobile(self) -> bool:
        """Whether the sensor moves (``mobility`` in the capabilities); false unless it says so."""
        return bool(self.document.get("mobile", False))

    @property
    def location(self) -> Location | None:
        where = self.document.get("location")
        if where is None:
            return None
        return Location(latitude=float(where["latitude"]), longitude=float(where["longitude"]),
                        altitude=None if where.get("altitude") is None else float(where["altitude"]),
                        description=where.get("description"))

    def sensor(self) -> dict[str, Any]:
        """The NTIA ``Sensor`` keys of the definition (a copy; no location, no hash)."""
        return {k: copy.deepcopy(v) for k, v in self.document.items() if k in SENSOR_KEYS}

    def capabilities(self) -> dict[str, Any]:
        """What ``/api/v1/capabilities/`` serves: the definition as written (location included)
        with its ``sensor_sha512``, and ``mobility``."""
        definition = copy.deepcopy(dict(self.document))
        definition["sensor_sha512"] = self.sha512
        return {"sensor_definition": definition, "mobility": self.mobile}


def sensor_sha512(document: Mapping[str, Any]) -> str:
    """SHA-512 (hex) of a definition as canonical JSON: sorted keys, ``json.dumps`` defaults, UTF-8."""
    return hashlib.sha512(json.dumps(document, sort_keys=True).encode("utf-8")).hexdigest()


def parse_sensor_definition(document: Any, source: str = "<sensor definition>") -> SensorDefinition:
    """Validate a parsed definition (a mapping) and return it with its hash.

    Raises :class:`SensorDefinitionError` naming ``source`` and the first bad key.
    """
    if not isinstance(document, Mapping):
        raise SensorDefinitionError(
            f"{source}: expected a mapping of sensor_spec, antenna, ... (see deploy/sensor_definition.example.yml), "
            f"got {_kind_of(document)}")
    if "sensor_sha512" in document:
        raise SensorDefinitionError(
            f"{source}: sensor_sha512: scos-gr computes the definition's hash itself; remove this key")
    _check_object(document, _DEFINITION, source, "")
    _check_ranges(document, source)
    _check_rf_paths(document, source)
    clean = copy.deepcopy(dict(document))
    return SensorDefinition(document=clean, sha512=sensor_sha512(clean), source=source)


def default_sensor_definition(sensor_id: str) -> SensorDefinition:
    """The definition of a sensor without a definition file: only its id (``SCOS_SENSOR_ID``)."""
    if not isinstance(sensor_id, str) or not sensor_id.strip():
        raise SensorDefinitionError(f"sensor id {sensor_id!r} (SCOS_SENSOR_ID): must be a non-empty string")
    return parse_sensor_definition({"sensor_spec": {"id": sensor_id}}, source="default (no sensor definition file)")


def load_sensor_definition(path: Path | str) -> SensorDefinition:
    """Read and validate the definition file at ``path`` (JSON if it ends in ``.json``, else YAML)."""
    path = Path(path)
    shown = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise SensorDefinitionError(f"{shown}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise SensorDefinitionError(f"{shown}: cannot read the sensor definition file: {exc.strerror or exc}") from None
    if path.suffix.lower() == ".json":
        document = _parse_json(text, shown)
    else:
        document = _parse_yaml(text, shown)
    if document is None:
        raise SensorDefinitionError(f"{shown}: the file is empty; it needs at least sensor_spec.id")
    return parse_sensor_definition(document, source=shown)


# --- checks -----------------------------------------------------------------------------------

def _kind_of(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"{str(value).lower()} (a boolean)"
    if isinstance(value, (int, float)):
        return f"{value!r} (a number)"
    if isinstance(value, str):
        return f"{value!r} (a string)"
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, (list, tuple)):
        return "a list"
    return f"{value!r} ({type(value).__name__})"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_value(value: Any, spec: _Field, source: str, path: str) -> None:
    def wrong() -> SensorDefinitionError:
        return SensorDefinitionError(f"{source}: {path}: expected {_KIND_WORDS[spec.kind]}, got {_kind_of(value)}")

    if spec.kind == "string":
        if not isinstance(value, str):
            raise wrong()
    elif spec.kind == "boolean":
        if not isinstance(value, bool):
            raise wrong()
    elif spec.kind == "integer":
        if not isinstance(value, int) or isinstance(value, bool):
            raise wrong()
    elif spec.kind == "number":
        if not _is_number(value):
            raise wrong()
        if not math.isfinite(value):
            raise SensorDefinitionError(f"{source}: {path}: expected a finite number, got {value!r}")
    elif spec.kind == "number[]":
        if not isinstance(value, list):
            raise wrong()
        for i, item in enumerate(value):
            _check_value(item, _N, source, f"{path}[{i}]")
    elif spec.kind == "object":
        if not isinstance(value, Mapping):
            raise wrong()
        _check_object(value, spec.members or {}, source, f"{path}.")
    elif spec.kind == "object[]":
        if not isinstance(value, list):
            raise wrong()
        for i, item in enumerate(value):
            _check_value(item, _Field("object", members=spec.members), source, f"{path}[{i}]")
    else:  # pragma: no cover - the tables above use only the kinds handled here
        raise AssertionError(spec.kind)


def _check_object(value: Mapping[str, Any], members: Mapping[str, _Field], source: str, prefix: str) -> None:
    for key in value:
        if key not in members:
            raise SensorDefinitionError(
                f"{source}: {prefix}{key}: unknown key; {prefix.rstrip('.') or 'the top level'} may hold "
                f"{', '.join(members)}")
    for key, spec in members.items():
        path = f"{prefix}{key}"
        if key not in value or value[key] is None:
            if spec.required:
                raise SensorDefinitionError(f"{source}: {path}: required ({_KIND_WORDS[spec.kind]})")
            if key in value:
                raise SensorDefinitionError(f"{source}: {path}: empty; give {_KIND_WORDS[spec.kind]} or leave the key out")
            continue
        _check_value(value[key], spec, source, path)
        if key == "id" and spec.required and not value[key].strip():
            raise SensorDefinitionError(f"{source}: {path}: must not be empty")


def _check_ranges(document: Mapping[str, Any], source: str) -> None:
    where = document.get("location")
    if where is not None:
        if not -90.0 <= where["latitude"] <= 90.0:
            raise SensorDefinitionError(f"{source}: location.latitude: {where['latitude']!r} is not within -90..90 degrees")
        if not -180.0 <= where["longitude"] <= 180.0:
            raise SensorDefinitionError(f"{source}: location.longitude: {where['longitude']!r} is not within -180..180 degrees")
    pairs = [("antenna", "frequency_low", "frequency_high"), ("signal_analyzer", "frequency_low", "frequency_high")]
    for part, low_key, high_key in pairs:
        obj = document.get(part) or {}
        low, high = obj.get(low_key), obj.get(high_key)
        if low is not None and high is not None and low > high:
            raise SensorDefinitionError(f"{source}: {part}.{low_key}: {low!r} Hz is above {part}.{high_key} ({high!r} Hz)")
    for i, item in enumerate((document.get("preselector") or {}).get("filters") or []):
        for edge in ("passband", "stopband"):
            low, high = item.get(f"frequency_low_{edge}"), item.get(f"frequency_high_{edge}")
            if low is not None and high is not None and low > high:
                raise SensorDefinitionError(
                    f"{source}: preselector.filters[{i}].frequency_low_{edge}: {low!r} Hz is above "
                    f"frequency_high_{edge} ({high!r} Hz)")


def _check_rf_paths(document: Mapping[str, Any], source: str) -> None:
    preselector = document.get("preselector") or {}
    seen: set[str] = set()
    for i, path in enumerate(preselector.get("rf_paths") or []):
        if path["id"] in seen:
            raise SensorDefinitionError(f"{source}: preselector.rf_paths[{i}].id: {path['id']!r} is used by two RF paths")
        seen.add(path["id"])
        for key, collection, spec_key in _RF_PATH_TARGETS:
            if path.get(key) is None:
                continue
            ids = [item[spec_key]["id"] for item in preselector.get(collection) or [] if item.get(spec_key)]
            if path[key] not in ids:
                known = ", ".join(repr(x) for x in ids) or "none"
                raise SensorDefinitionError(
                    f"{source}: preselector.rf_paths[{i}].{key}: {path[key]!r} is not the {spec_key}.id of any of "
                    f"preselector.{collection} (ids: {known})")


# --- parsing ----------------------------------------------------------------------------------

class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int | None):
        super().__init__(key, line)
        self.key, self.line = key, line


def _parse_json(text: str, source: str) -> Any:
    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key, value in items:
            if key in result:
                raise _DuplicateKey(key, None)
            result[key] = value
        return result

    def no_constant(name: str) -> Any:
        raise SensorDefinitionError(f"{source}: {name} is not a number JSON allows")

    try:
        return json.loads(text, object_pairs_hook=pairs, parse_constant=no_constant)
    except _DuplicateKey as dup:
        raise SensorDefinitionError(f"{source}: key {dup.key!r} appears twice in one object") from None
    except json.JSONDecodeError as exc:
        raise SensorDefinitionError(f"{source}: not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})") from None


class _StrictLoader(yaml.SafeLoader):
    """Safe YAML without timestamps (a date stays the text written) and without duplicate keys."""


_StrictLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _mapping_without_duplicates(loader: _StrictLoader, node: yaml.MappingNode) -> dict[Any, Any]:
    loader.flatten_mapping(node)
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, (dict, list)):
            raise _DuplicateKey(f"<{type(key).__name__} used as a key>", key_node.start_mark.line + 1)
        if key in seen:
            raise _DuplicateKey(key, key_node.start_mark.line + 1)
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _mapping_without_duplicates)


def _parse_yaml(text: str, source: str) -> Any:
    try:
        document = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except _DuplicateKey as dup:
        raise SensorDefinitionError(f"{source}: line {dup.line}: key {dup.key!r} appears twice in one mapping") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SensorDefinitionError(f"{source}: not valid YAML: {problem}{where}") from None
    if isinstance(document, Mapping):
        bad = [k for k in document if not isinstance(k, str)]
        if bad:
            raise SensorDefinitionError(f"{source}: {bad[0]!r}: keys must be names (strings)")
    return document
