"""Schedule entries: validation with the spec's messages, representation, and the routes.

Validation collects every bad field before answering, one key per field with a list of
messages (the Django REST framework wording the original clients know). Planning is the
scheduler's planner's: the API only asks it for ``next_task_time`` on create and re-plan.
"""
from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any, Optional

import bottle
import peewee

from scos_gr import store
from scos_gr.config import Settings
from scos_gr.flowgraphs.catalogue import load_catalogue
from scos_gr.scheduler import planner

from .web import (
    ApiError, api_route, forbidden, integer_from_digits, json_body, may_change, not_found, paginate, read_json_object,
    url, visible_entry,
)

REQUIRED = "This field is required."
NOT_INTEGER = "A valid integer is required."
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


def entry_url(name: str) -> str:
    return url(f"/schedule/{name}/")


def represent(entry: store.ScheduleEntry) -> dict[str, Any]:
    return {
        "url": entry_url(entry.name),
        "name": entry.name,
        "action": entry.action,
        "priority": entry.priority,
        "start": entry.start,
        "stop": entry.stop,
        "interval": entry.interval,
        "is_active": entry.is_active,
        "is_private": entry.is_private,
        "owner": url(f"/users/{entry.owner.name}/"),
        "acquisitions": url(f"/acquisitions/{entry.name}/"),
        "next_task_time": entry.next_task_time,
        "next_task_id": entry.next_task_id,
        "created": store.iso(entry.created),
        "modified": store.iso(entry.modified),
    }


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


def _parse_action(value: Any, user: store.User, catalogue: Path, errors: list[str]) -> Optional[str]:
    if not isinstance(value, str) or value == "":
        errors.append("This field may not be blank." if value == "" else f'"{value}" is not a valid choice.')
        return None
    action = load_catalogue(catalogue).get(value)
    if action is None or (action.admin_only and not user.is_admin):
        errors.append(f'"{value}" is not a valid choice.')
        return None
    return value


def validate(body: dict[str, Any], user: store.User, catalogue: Path, *, creating: bool, partial: bool,
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
        action = _parse_action(body["action"], user, catalogue, field_errors("action"))
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


def _entries_visible_to(user: store.User):
    query = store.ScheduleEntry.select(store.ScheduleEntry, store.User).join(store.User)
    if not user.is_admin:
        query = query.where(store.ScheduleEntry.is_private == False)  # noqa: E712
    return query.order_by(store.ScheduleEntry.name)


def install(app: bottle.Bottle, settings: Settings) -> None:
    @app.get("/api/v1/schedule/")
    @api_route
    def list_entries(user):
        return json_body(paginate([represent(e) for e in _entries_visible_to(user)]))

    @app.post("/api/v1/schedule/")
    @api_route
    def create_entry(user):
        body = read_json_object()
        try:
            entry = _create(body, user)
        except peewee.IntegrityError:
            # two requests for one new name at once: both passed the check, the unique index chose
            if store.ScheduleEntry.select().where(store.ScheduleEntry.name == body.get("name")).exists():
                raise ApiError(400, {"name": [NAME_TAKEN]}) from None
            raise
        return json_body(represent(entry), 201, {"Location": entry_url(entry.name)})

    def _create(body: dict[str, Any], user: store.User) -> store.ScheduleEntry:
        with store.write_transaction():
            fields = validate(body, user, settings.actions_file, creating=True, partial=False)
            return store.ScheduleEntry.create(
                name=fields["name"],
                action=fields["action"],
                priority=fields.get("priority", DEFAULT_PRIORITY),
                start=fields["start"],
                stop=fields.get("stop"),
                interval=fields.get("interval"),
                is_active=True,
                is_private=fields.get("is_private", False),
                owner=user,
                next_task_time=planner.first_task_time(fields["start"], fields.get("stop"), fields.get("interval")),
                next_task_id=1,
            )

    @app.get("/api/v1/schedule/<name>/")
    @api_route
    def get_entry(user, name):
        entry = visible_entry(user, name)
        return json_body(represent(entry))

    def update(user, name, partial):
        entry = visible_entry(user, name)
        if not may_change(user, entry):
            raise forbidden()
        body = read_json_object()
        with store.write_transaction():
            fresh = store.ScheduleEntry.select().where(store.ScheduleEntry.id == entry.id)
            if getattr(store.database.obj, "for_update", False):
                # PostgreSQL: lock the row, so a scheduler claim waits for (or precedes) this change;
                # on SQLite write_transaction already holds the database's write lock
                fresh = fresh.for_update()
            entry = fresh.get_or_none()
            if entry is None:  # deleted by a request that ran in between
                raise not_found()
            fields = validate(body, user, settings.actions_file, creating=False, partial=partial, current=entry)
            if not partial:  # PUT: omitted optional fields take their defaults
                fields.setdefault("priority", DEFAULT_PRIORITY)
                fields.setdefault("interval", None)
                fields.setdefault("stop", None)
                fields.setdefault("is_active", True)
                fields.setdefault("is_private", False)
            was_active = entry.is_active
            grid_changed = any(fields.get(k, getattr(entry, k)) != getattr(entry, k) for k in ("start", "interval"))
            stop_changed = fields.get("stop", entry.stop) != entry.stop
            for key, value in fields.items():
                if key in WRITABLE:
                    setattr(entry, key, value)
            now = int(time.time())
            reactivated = entry.is_active and not was_active
            if grid_changed or reactivated or (not partial):
                entry.next_task_time = planner.replan(entry.start, entry.stop, entry.interval, now)
            elif stop_changed and entry.next_task_time is not None and entry.stop is not None \
                    and entry.next_task_time >= entry.stop:
                entry.next_task_time = None
            entry.modified = store.utcnow()
            # only what the API owns: next_task_id and the rest belong to the scheduler
            entry.save(only=[getattr(store.ScheduleEntry, k) for k in (*WRITABLE, "next_task_time", "modified")])
        return json_body(represent(entry))

    @app.put("/api/v1/schedule/<name>/")
    @api_route
    def put_entry(user, name):
        return update(user, name, partial=False)

    @app.patch("/api/v1/schedule/<name>/")
    @api_route
    def patch_entry(user, name):
        return update(user, name, partial=True)

    @app.delete("/api/v1/schedule/<name>/")
    @api_route
    def delete_entry(user, name):
        entry = visible_entry(user, name)
        if not may_change(user, entry):
            raise forbidden()
        with store.write_transaction():
            acquisitions = list(store.Acquisition.select(store.Acquisition.task_id)
                                .where(store.Acquisition.entry_name == name).order_by(store.Acquisition.task_id))
            if acquisitions:
                raise ApiError(400, {
                    "detail": f"Cannot delete schedule entry {name!r}: it has {len(acquisitions)} acquisition(s); "
                              "delete them first.",
                    "protected_objects": [url(f"/acquisitions/{name}/{a.task_id}/") for a in acquisitions],
                })
            # the task log goes with the entry, except a task running now: the scheduler records
            # it (and its recording) under the entry's name when it finishes
            store.Task.delete().where((store.Task.entry_name == name)
                                      & (store.Task.status != store.TASK_IN_PROGRESS)).execute()
            entry.delete_instance()
        bottle.response.status = 204
        return ""
