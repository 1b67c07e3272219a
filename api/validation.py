"""Validation of schedule entry bodies (POST, PUT, PATCH), with the spec's messages.

Validation collects every bad field before answering, one key per field with a list of
messages (the Django REST framework wording the original clients know).
"""
from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any, Optional

from scos_gr import store
from scos_gr.flowgraphs.catalogue import load_catalogue

from .web import NOT_INTEGER, ApiError, forbidden, integer_from_digits

REQUIRED = "This field is required."
NOT_BOOLEAN = "Must be a valid boolean."
SLUG = "Enter a valid 'slug' consisting of letters, numbers, underscores or hyphens."
NAME_TAKEN = "schedule entry with this name already exists."
STOP_BEFORE_START = "stop must be after start"
_SLUG_RE = re.compile(r"^[-a-zA-Z0-9_]+$")
_INT_RE = re.compile(r"^[-+]?\d+$")
#: epoch seconds are kept within what JavaScript clients can hold exactly
MAX_EPOCH = 2**53 - 1
MAX_INTERVAL = 2**31 - 1
PRIORITY_RANGE = (-20, 19)
DEFAULT_PRIORITY = 10
WRITABLE = ("action", "priority", "start", "stop", "interval", "is_active", "is_private")


def defaults() -> dict[str, Any]:
    """What an omitted optional field becomes on POST and PUT (which replaces every one)."""
    return {"priority": DEFAULT_PRIORITY, "interval": None, "stop": None, "is_active": True, "is_private": False}


def store_fields() -> tuple[str, ...]:
    """The body fields stored as they are."""
    return WRITABLE


# -- field parsers: (value, errors) -> parsed value or None with a message appended --------------
def _integer(value: Any, errors: list[str]) -> Optional[int]:
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


def _bounded(value: Optional[int], low: Optional[int], high: Optional[int], errors: list[str]) -> Optional[int]:
    if value is None:
        return None
    if low is not None and value < low:
        errors.append(f"Ensure this value is greater than or equal to {low}.")
        return None
    if high is not None and value > high:
        errors.append(f"Ensure this value is less than or equal to {high}.")
        return None
    return value


def _boolean(value: Any, errors: list[str]) -> Optional[bool]:
    if isinstance(value, bool):
        return value
    if value in (0, 1) and not isinstance(value, float):
        return bool(value)
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
        return value.lower() in ("true", "1")
    errors.append(NOT_BOOLEAN)
    return None


def _parse_name(value: Any, errors: list[str]) -> Optional[str]:
    if not isinstance(value, str):
        errors.append("Not a valid string.")
        return None
    if value == "":
        errors.append("This field may not be blank.")
        return None
    if len(value) > 50:
        errors.append("Ensure this field has no more than 50 characters.")
    if not _SLUG_RE.match(value):
        errors.append(SLUG)
    return None if errors else value


def _parse_action(value: Any, user: store.User, actions_file: Path, errors: list[str]) -> Optional[str]:
    if not isinstance(value, str) or value == "":
        errors.append("This field may not be blank." if value == "" else f'"{value}" is not a valid choice.')
        return None
    action = load_catalogue(actions_file).get(value)
    if action is None or (action.admin_only and not user.is_admin):
        errors.append(f'"{value}" is not a valid choice.')
        return None
    return value


def validate(body: dict[str, Any], user: store.User, actions_file: Path, *, creating: bool, partial: bool,
             current: Optional[store.ScheduleEntry] = None) -> dict[str, Any]:
    """Parsed, resolved fields to write; ApiError 400 (every bad field) or 403 (is_private)."""
    errors: dict[str, list[str]] = {}
    out: dict[str, Any] = {}

    def field_errors(key: str) -> list[str]:
        return errors.setdefault(key, [])

    if creating:
        if "name" not in body or body["name"] is None:
            field_errors("name").append(REQUIRED if "name" not in body else "This field may not be null.")
        else:
            name = _parse_name(body["name"], field_errors("name"))
            if name is not None:
                if store.ScheduleEntry.select().where(store.ScheduleEntry.name == name).exists():
                    field_errors("name").append(NAME_TAKEN)
                else:
                    out["name"] = name
    if "action" in body and body["action"] is not None:
        action = _parse_action(body["action"], user, actions_file, field_errors("action"))
        if action is not None:
            out["action"] = action
    elif not partial:
        field_errors("action").append(REQUIRED if "action" not in body else "This field may not be null.")

    if "priority" in body and body["priority"] is not None:
        errs = field_errors("priority")
        value = _bounded(_integer(body["priority"], errs), *PRIORITY_RANGE, errs)
        if value is not None:
            out["priority"] = value
    elif "priority" in body:
        field_errors("priority").append("This field may not be null.")
    for key, low, high in (("start", 0, MAX_EPOCH), ("stop", None, MAX_EPOCH), ("interval", 1, MAX_INTERVAL)):
        if key in body:
            if body[key] is None:
                out[key] = None
                continue
            errs = field_errors(key)
            value = _bounded(_integer(body[key], errs), low, high, errs)
            if value is not None:
                out[key] = value
    relative_stop = False
    if "relative_stop" in body and body["relative_stop"] is not None:
        parsed = _boolean(body["relative_stop"], field_errors("relative_stop"))
        relative_stop = bool(parsed)
    for key in ("is_private",) + (() if creating else ("is_active",)):
        if key in body and body[key] is not None:
            parsed = _boolean(body[key], field_errors(key))
            if parsed is not None:
                out[key] = parsed

    errors = {k: v for k, v in errors.items() if v}
    if errors:
        raise ApiError(400, errors)
    if out.get("is_private") and not user.is_admin:
        raise forbidden()

    # resolve start/stop against the defaults (POST, PUT) or the stored values (PATCH)
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
        if stop > MAX_EPOCH:
            raise ApiError(400, {"stop": [f"Ensure this value is less than or equal to {MAX_EPOCH}."]})
    if stop is not None and stop <= start:
        raise ApiError(400, {"stop": [STOP_BEFORE_START]})
    out["start"] = start
    if stop_given:
        out["stop"] = stop
    return out
