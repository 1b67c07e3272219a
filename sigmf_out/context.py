"""What a recording says about the task that made it: one typed context, from scheduler to metadata.

The scheduler (or ``scos-gr acquire``) builds a :class:`TaskContext` for each task; the runner
completes it with the calibration values it applies and hands it to the flowgraph as the JSON
text of its ``metadata_json`` Parameter (GRC Parameters are strings, numbers or lists); the sinks
read it back with :meth:`TaskContext.from_json` and give it to the metadata builders. One shape
end to end: an unknown key or a value of the wrong type is an error that names it, never a
silently empty field in a recording. A flowgraph run by hand (GRC, ``python flowgraph.py``)
keeps the default ``{}``: a recording with no task, schedule, sensor or calibration information
(classified ``UNCLASSIFIED``).

The sensor travels as its definition (the ``SCOS_SENSOR_DEFINITION`` document, location
included) and is validated again on arrival with :func:`scos_gr.sensor_definition.parse_sensor_definition`,
so a recording's ``ntia-sensor:sensor``, ``sensor_sha512`` and ``core:geolocation`` are the
definition the sensor started with.
"""
from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Mapping

from scos_gr.errors import RecordingError
from scos_gr.sensor_definition import SensorDefinition, SensorDefinitionError, parse_sensor_definition

#: ``ntia-core:classification`` of a recording whose task says none (``SCOS_CLASSIFICATION``'s default)
DEFAULT_CLASSIFICATION = "UNCLASSIFIED"


class ContextError(RecordingError, ValueError):
    """The task context (``metadata_json``) is not what the metadata builders read."""


@dataclass(frozen=True)
class ActionInfo:
    """The catalogue's action: ``ntia-scos:action``."""

    name: str
    summary: str = ""
    description: str = ""


@dataclass(frozen=True)
class ScheduleInfo:
    """The schedule entry a task ran for: ``ntia-scos:schedule``. Times are epoch seconds."""

    name: str
    start: int | None = None
    stop: int | None = None
    interval: int | None = None
    priority: int | None = None


@dataclass(frozen=True)
class TaskContext:
    """Everything a recording's metadata says about its task beyond the signal itself.

    - ``action``, ``schedule``, ``task_id``: which action ran, for which entry, as which task;
    - ``sensor``: the sensor definition (``ntia-sensor:sensor`` with its ``sensor_sha512``, and
      its location as ``core:geolocation``); None says nothing of the sensor;
    - ``classification``: ``ntia-core:classification`` (``SCOS_CLASSIFICATION``);
    - ``radio``: the radio string the task used (``SCOS_RADIO``);
    - ``calibration``: the calibration values applied at the action's frequency
      (:meth:`scos_gr.calibration.Calibration.at`), None when uncalibrated.
    """

    action: ActionInfo | None = None
    schedule: ScheduleInfo | None = None
    task_id: int | None = None
    sensor: SensorDefinition | None = None
    classification: str = DEFAULT_CLASSIFICATION
    radio: str = ""
    calibration: Mapping[str, Any] | None = None

    def __post_init__(self) -> None:
        if self.sensor is not None and not isinstance(self.sensor, SensorDefinition):
            raise ContextError(f"TaskContext.sensor: expected a SensorDefinition, got {type(self.sensor).__name__}")
        if not isinstance(self.classification, str) or not self.classification.strip():
            raise ContextError(f"TaskContext.classification: expected a non-empty string, got {self.classification!r}")

    def to_json(self) -> str:
        """The JSON text for a flowgraph's ``metadata_json`` Parameter."""
        values = {
            "action": None if self.action is None else dataclasses.asdict(self.action),
            "schedule": None if self.schedule is None else dataclasses.asdict(self.schedule),
            "task_id": self.task_id,
            "sensor": None if self.sensor is None else dict(self.sensor.document),
            "classification": self.classification,
            "radio": self.radio,
            "calibration": None if self.calibration is None else dict(self.calibration),
        }
        return json.dumps(values, separators=(",", ":"), allow_nan=False)

    @classmethod
    def from_json(cls, text: str | bytes | Mapping[str, Any] | None) -> "TaskContext":
        """Parse ``metadata_json`` (its text, or the object already parsed); ContextError naming
        the key that is wrong."""
        if text is None or (isinstance(text, (str, bytes)) and not text.strip()):
            return cls()
        if isinstance(text, (str, bytes)):
            try:
                text = json.loads(text)
            except ValueError as exc:
                raise ContextError(f"metadata_json is not JSON: {exc}") from None
        if not isinstance(text, Mapping):
            raise ContextError(f"metadata_json must be a JSON object, not {type(text).__name__}")
        values = dict(text)
        _check_keys(cls, values, "metadata_json")
        try:
            return cls(
                action=_nested(ActionInfo, values.get("action"), "action"),
                schedule=_nested(ScheduleInfo, values.get("schedule"), "schedule"),
                task_id=_optional(int, values.get("task_id"), "task_id"),
                sensor=_sensor(values.get("sensor")),
                classification=_typed(str, values.get("classification", DEFAULT_CLASSIFICATION), "classification"),
                radio=_typed(str, values.get("radio", ""), "radio"),
                calibration=None if values.get("calibration") is None
                else _mapping(values["calibration"], "calibration"),
            )
        except TypeError as exc:
            raise ContextError(f"metadata_json: {exc}") from None


def _sensor(value: Any) -> SensorDefinition | None:
    if value is None:
        return None
    try:
        return parse_sensor_definition(_mapping(value, "sensor"), source="metadata_json.sensor")
    except SensorDefinitionError as exc:
        raise ContextError(str(exc)) from None


def _check_keys(kind: type, values: Mapping[str, Any], where: str) -> None:
    unknown = sorted(set(values) - {f.name for f in dataclasses.fields(kind)})
    if unknown:
        raise ContextError(f"{where}: unknown key(s) {unknown}")


def _typed(kind: type, value: Any, where: str) -> Any:
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ContextError(f"metadata_json.{where}: expected {kind.__name__}, got {value!r}")
    return value


def _optional(kind: type, value: Any, where: str) -> Any:
    return None if value is None else _typed(kind, value, where)


def _mapping(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ContextError(f"metadata_json.{where}: expected an object, got {value!r}")
    return dict(value)


def _nested(kind: type, value: Any, where: str) -> Any:
    if value is None:
        return None
    values = _mapping(value, where)
    _check_keys(kind, values, f"metadata_json.{where}")
    for f in dataclasses.fields(kind):
        if f.name in values and values[f.name] is not None:
            expected = str if f.name in ("name", "summary", "description") else int
            _typed(expected, values[f.name], f"{where}.{f.name}")
    return kind(**values)
