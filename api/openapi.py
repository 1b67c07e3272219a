"""The OpenAPI document (``openapi.yaml``): served at ``/api/v1/schema/``, and the one place the
request bounds are written.

The validators read what a field accepts from the document instead of keeping their own copy:
the schedule entry fields from ``components.schemas.ScheduleEntryInput``, ``?limit=`` and
``?offset=`` and the ``task_id`` path segment from ``components.parameters``. So the bounds a
client reads (and schemathesis fuzzes) are the bounds the server enforces;
``tests/api/test_contract.py`` sends each documented bound to a live server to prove it.

A bound that depends on the caller's role (the spec's priority band: admins -20..19, users
0..19) is one more keyword on the field, ``x-user-minimum``, read here into :class:`FieldRule`
and chosen by the validator from the user it already has (:meth:`FieldRule.for_caller`).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Optional

import yaml

DOCUMENT_PATH = Path(__file__).resolve().parent / "openapi.yaml"


@functools.cache
def document() -> dict[str, Any]:
    """The parsed document (read once per process: it ships with the code and never changes)."""
    return yaml.safe_load(DOCUMENT_PATH.read_text(encoding="utf-8"))


def resolve(node: dict[str, Any]) -> dict[str, Any]:
    """``node`` with a local ``$ref`` followed (``#/components/...``)."""
    while "$ref" in node:
        target: Any = document()
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


@dataclass(frozen=True)
class FieldRule:
    """What the document says one request field or parameter accepts."""

    name: str
    type: str
    nullable: bool = False
    minimum: Optional[int] = None
    maximum: Optional[int] = None
    min_length: Optional[int] = None
    max_length: Optional[int] = None
    pattern: Optional[str] = None
    default: Any = None
    #: ``x-user-minimum``: the minimum for callers who are not admins (the priority band)
    user_minimum: Optional[int] = None

    @classmethod
    def of(cls, name: str, schema: dict[str, Any]) -> "FieldRule":
        schema = resolve(schema)
        return cls(name=name, type=schema["type"], nullable=bool(schema.get("nullable", False)),
                   minimum=schema.get("minimum"), maximum=schema.get("maximum"),
                   min_length=schema.get("minLength"), max_length=schema.get("maxLength"),
                   pattern=schema.get("pattern"), default=schema.get("default"),
                   user_minimum=schema.get("x-user-minimum"))

    def for_caller(self, is_admin: bool) -> "FieldRule":
        """The rule as it applies to an admin, or to anyone else (``x-user-minimum``)."""
        if is_admin or self.user_minimum is None:
            return self
        return replace(self, minimum=self.user_minimum)

    def bound_errors(self, value: int) -> list[str]:
        """The range message for an integer outside ``minimum..maximum`` (empty when inside)."""
        if self.minimum is not None and value < self.minimum:
            return [f"Ensure this value is greater than or equal to {self.minimum}."]
        if self.maximum is not None and value > self.maximum:
            return [f"Ensure this value is less than or equal to {self.maximum}."]
        return []

    def length_errors(self, value: str) -> list[str]:
        """The messages for a string outside ``minLength..maxLength``."""
        if self.min_length and len(value) < self.min_length:
            return ["This field may not be blank."] if len(value) == 0 else \
                [f"Ensure this field has at least {self.min_length} characters."]
        if self.max_length is not None and len(value) > self.max_length:
            return [f"Ensure this field has no more than {self.max_length} characters."]
        return []

    def matches_pattern(self, value: str) -> bool:
        """Whether ``value`` matches ``pattern`` as JSON Schema means it: ``$`` is the very end
        (Python's ``$`` also matches before a final newline, so the whole string must match)."""
        return self.pattern is None or re.fullmatch(self.pattern, value) is not None


def max_body_bytes() -> int:
    """``x-max-request-body-bytes``: the largest request body the server reads (1 MiB)."""
    return int(document()["x-max-request-body-bytes"])


@functools.cache
def schema_fields(schema_name: str) -> dict[str, FieldRule]:
    """The fields of a request body schema of ``components.schemas``, by name."""
    schema = resolve({"$ref": f"#/components/schemas/{schema_name}"})
    return {name: FieldRule.of(name, prop) for name, prop in schema["properties"].items()}


def input_fields() -> dict[str, FieldRule]:
    """The writable fields of a schedule entry (POST, PUT, PATCH bodies), by name."""
    return schema_fields("ScheduleEntryInput")


@functools.cache
def parameter(name: str) -> FieldRule:
    """A parameter of ``components.parameters`` (``limit``, ``offset``, ``task_id``...)."""
    param = resolve(document()["components"]["parameters"][name])
    return FieldRule.of(param["name"], param["schema"])
