"""Validation of schedule entry bodies (POST, PUT, PATCH) against the OpenAPI document.

What each field accepts (type, nullability, bounds, length, pattern, default) is read from
``ScheduleEntryInput`` in ``openapi.yaml`` through :mod:`scos_gr.api.openapi`; this module
parses, resolves start and stop, and words the answer. It collects every bad field before
answering, one key per field with a list of messages (the Django REST framework wording the
original clients know).
"""
from __future__ import annotations

import re
import time
from typing import Any, Optional

from scos_gr import store
from scos_gr.flowgraphs.catalogue import Action, Catalogue

from . import openapi
from .openapi import FieldRule
from .web import NOT_INTEGER, ApiError, forbidden, integer_from_digits

REQUIRED = "This field is required."
NOT_NULL = "This field may not be null."
NOT_BOOLEAN = "Must be a valid boolean."
NOT_STRING = "Not a valid string."
SLUG = "Enter a valid 'slug' consisting of letters, numbers, underscores or hyphens."
NOT_URL = "Enter a valid URL."
#: what a string field that does not match its document pattern is told
PATTERN_MESSAGES = {"name": SLUG, "callback_url": NOT_URL}
NAME_TAKEN = "schedule entry with this name already exists."
STOP_BEFORE_START = "stop must be after start"
#: fields a body cannot set on creation (spec: an entry is always active when created)
NOT_ON_CREATE = ("is_active",)
#: the body field that asks for validation only: nothing stored, 204 (as the original server)
VALIDATE_ONLY = "validate_only"
_INT_RE = re.compile(r"^[-+]?\d+$")


# -- field parsers: (value, errors) -> parsed value or None with a message appended --------------
def _integer(value: Any, errors: list[str]) -> Optional[int]:
    """An integer, a float without a fraction, or a string of digits (DRF's IntegerField)."""
    if isinstance(value, bool):
        errors.append(NOT_INTEGER)
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        errors.append(NOT_INTEGER)
        return None
    if isinstance(value, str) and _INT_RE.match(value.strip()):
        return integer_from_digits(value)
    errors.append(NOT_INTEGER)
    return None


def parse_boolean(value: Any, errors: list[str]) -> Optional[bool]:
    if isinstance(value, bool):
        return value
    if value in (0, 1) and not isinstance(value, float):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    errors.append(NOT_BOOLEAN)
    return None


def _parse(rule: FieldRule, value: Any, errors: list[str]) -> Optional[int | bool]:
    """An integer within the rule's bounds, or a boolean; None with a message appended if not."""
    if rule.type == "boolean":
        return parse_boolean(value, errors)
    parsed = _integer(value, errors)
    if parsed is None:
        return None
    errors.extend(rule.bound_errors(parsed))
    return None if errors else parsed


def parse_text(rule: FieldRule, value: Any, errors: list[str]) -> Optional[str]:
    """A string within the rule's length and pattern (a name, a URL); None with a message if not."""
    if not isinstance(value, str):
        errors.append(NOT_STRING)
        return None
    errors.extend(rule.length_errors(value))
    if (value or not rule.min_length) and not rule.matches_pattern(value):  # a blank name is told it is blank
        errors.append(PATTERN_MESSAGES[rule.name])
    return None if errors else value


def _parse_name(value: Any, errors: list[str]) -> Optional[str]:
    return parse_text(openapi.input_fields()["name"], value, errors)


def name_errors(value: str) -> list[str]:
    """What is wrong with ``value`` as a name (of a schedule entry or a user: the document's
    ``Name``, a slug matched whole); empty when it is one."""
    errors: list[str] = []
    _parse_name(value, errors)
    return errors


def may_schedule(user: store.User, action: Optional[Action]) -> bool:
    """Admins may schedule every action; users those not marked admin-only (an action whose entry
    could not even be read counts as admin-only: nothing about it is shown to users)."""
    return user.is_admin or (action is not None and not action.admin_only)


def _parse_action(value: Any, user: store.User, catalogue: Catalogue, errors: list[str]) -> Optional[str]:
    if not isinstance(value, str) or value == "":
        errors.append("This field may not be blank." if value == "" else f'"{value}" is not a valid choice.')
        return None
    action = catalogue.get(value)
    problem = catalogue.unavailable.get(value)
    if action is None and problem is not None and may_schedule(user, catalogue.declared.get(value)):
        errors.append(f'"{value}" is unavailable: {problem}')
        return None
    if action is None or not may_schedule(user, action):
        errors.append(f'"{value}" is not a valid choice.')
        return None
    return value


def defaults() -> dict[str, Any]:
    """What an omitted stored field becomes on POST and PUT (which replaces every one): its
    documented default, or null where null is allowed (``start`` is resolved apart: now + 1)."""
    rules = openapi.input_fields()
    return {key: rules[key].default for key in store_fields()
            if key != "start" and (rules[key].default is not None or rules[key].nullable)}


def store_fields() -> tuple[str, ...]:
    """The body fields stored as they are (``name`` is only set on creation, ``relative_stop``
    only changes how ``stop`` is read, ``validate_only`` whether anything is stored)."""
    return tuple(key for key in openapi.input_fields() if key not in ("name", "relative_stop", VALIDATE_ONLY))


def validate(body: dict[str, Any], user: store.User, catalogue: Catalogue, *, creating: bool, partial: bool,
             current: Optional[store.ScheduleEntry] = None) -> dict[str, Any]:
    """Parsed, resolved fields to write; ApiError 400 (every bad field) or 403 (is_private).

    With ``validate_only: true`` in the body the result holds ``VALIDATE_ONLY: True``: the caller
    stores nothing and answers 204."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}

    def field_errors(key: str) -> list[str]:
        return errors.setdefault(key, [])

    if creating:
        if "name" not in body or body["name"] is None:
            field_errors("name").append(REQUIRED if "name" not in body else NOT_NULL)
        else:
            name = _parse_name(body["name"], field_errors("name"))
            if name is not None:
                if store.ScheduleEntry.select().where(store.same_name(store.ScheduleEntry.name, name)).exists():
                    field_errors("name").append(NAME_TAKEN)
                else:
                    out["name"] = name
    if "action" in body and body["action"] is not None:
        action = _parse_action(body["action"], user, catalogue, field_errors("action"))
        if action is not None:
            out["action"] = action
    elif not partial:
        field_errors("action").append(REQUIRED if "action" not in body else NOT_NULL)

    for key, rule in openapi.input_fields().items():
        if rule.type == "string" and key not in ("name", "action") and key in body:
            if body[key] is None:
                if rule.nullable:
                    out[key] = None
                else:
                    field_errors(key).append(NOT_NULL)
            else:
                text = parse_text(rule, body[key], field_errors(key))
                if text is not None:
                    out[key] = text
            continue
        if rule.type not in ("integer", "boolean") or key not in body or (creating and key in NOT_ON_CREATE):
            continue
        rule = rule.for_caller(user.is_admin)
        if body[key] is None:
            if rule.type == "integer" and rule.nullable:
                # null: the field's default (priority), else its "none" (start: now, stop: never,
                # interval: once)
                out[key] = rule.default
            elif not rule.nullable:
                field_errors(key).append(NOT_NULL)
            continue  # a null boolean is as if absent
        value = _parse(rule, body[key], field_errors(key))
        if value is not None:
            out[key] = value
    relative_stop = bool(out.pop("relative_stop", False))
    validate_only = bool(out.pop(VALIDATE_ONLY, False))

    errors = {k: v for k, v in errors.items() if v}
    if errors:
        raise ApiError(400, errors)
    if out.get("is_private") and not user.is_admin:
        raise forbidden()
    resolved = _resolve_start_stop(out, relative_stop, partial, current)
    if validate_only:
        resolved[VALIDATE_ONLY] = True
    return resolved


def _resolve_start_stop(out: dict[str, Any], relative_stop: bool, partial: bool,
                        current: Optional[store.ScheduleEntry]) -> dict[str, Any]:
    """``start`` against its default (POST, PUT: now + 1) or the stored value (PATCH), ``stop``
    made absolute when ``relative_stop``; 400 when stop is not after start."""
    now = int(time.time())
    if partial and current is not None:
        start = out.get("start", current.start)
        if "start" in out and out["start"] is None:
            start = now + 1
        stop = out["stop"] if "stop" in out else current.stop
        stop_given = "stop" in out
    else:
        start = out.get("start")
        start = now + 1 if start is None else start
        stop = out.get("stop")
        stop_given = True
    if relative_stop and stop_given and stop is not None:
        stop = start + stop
        errors = openapi.input_fields()["stop"].bound_errors(stop)
        if errors:
            raise ApiError(400, {"stop": errors})
    if stop is not None and stop <= start:
        raise ApiError(400, {"stop": [STOP_BEFORE_START]})
    out["start"] = start
    if stop_given:
        out["stop"] = stop
    return out
