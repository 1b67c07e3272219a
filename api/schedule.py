"""Schedule entries: representation and routes (the body's validation is :mod:`.validation`).

Planning is the scheduler's planner's: the API only asks it for ``next_task_time`` on create
and re-plan.
"""
from __future__ import annotations

import time
from typing import Any, Optional

import peewee

from scos_gr import store
from scos_gr.config import Settings
from scos_gr.flowgraphs.catalogue import catalogue_for
from scos_gr.scheduler import planner

from .access import check_may_change, visible_entry
from .validation import NAME_TAKEN, VALIDATE_ONLY, defaults, store_fields, validate
from .web import ApiError, Routes, detail, entry_url, json_body, no_content, not_found, paginate, read_json_object, url

routes = Routes()

TASK_RUNNING = "a task of this entry is running; try again when it has finished"


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
        "callback_url": entry.callback_url,
    }


def _entries_visible_to(user: store.User):
    query = store.ScheduleEntry.select(store.ScheduleEntry, store.User).join(store.User)
    if not user.is_admin:
        query = query.where(store.ScheduleEntry.is_private == False)  # noqa: E712
    return query.order_by(store.ScheduleEntry.name)


def _create(body: dict[str, Any], user: store.User, settings: Settings) -> Optional[store.ScheduleEntry]:
    """The new entry; None when the body only asked for validation (nothing stored)."""
    with store.write_transaction():
        fields = {**defaults(), **validate(body, user, catalogue_for(settings), creating=True, partial=False),
                  "is_active": True}  # whatever the body says (spec)
        if fields.get(VALIDATE_ONLY):
            return None
        return store.ScheduleEntry.create(
            **{key: fields[key] for key in store_fields()},
            name=fields["name"],
            owner=user,
            next_task_time=planner.first_task_time(fields["start"], fields["stop"], fields["interval"]),
            next_task_id=1,
        )


def _update(user: store.User, name: str, settings: Settings, *, partial: bool) -> str:
    entry = visible_entry(user, name)
    check_may_change(user, entry)
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
        fields = validate(body, user, catalogue_for(settings), creating=False, partial=partial, current=entry)
        if fields.get(VALIDATE_ONLY):
            return no_content()
        if not partial:  # PUT: omitted optional fields take their defaults
            fields = {**defaults(), **fields}
        was_active = entry.is_active
        grid_changed = any(fields.get(k, getattr(entry, k)) != getattr(entry, k) for k in ("start", "interval"))
        stop_changed = fields.get("stop", entry.stop) != entry.stop
        writable = store_fields()
        for key, value in fields.items():
            if key in writable:
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
        entry.save(only=[getattr(store.ScheduleEntry, k) for k in (*writable, "next_task_time", "modified")])
    return json_body(represent(entry))


@routes.get("/schedule/")
def list_entries(*, user: store.User) -> str:
    return json_body(paginate([represent(e) for e in _entries_visible_to(user)]))


@routes.route("/schedule/", "POST")
def create_entry(*, user: store.User, settings: Settings) -> str:
    body = read_json_object()
    try:
        entry = _create(body, user, settings)
    except peewee.IntegrityError:
        # two requests for one new name at once: both passed the check, the unique index chose
        name = body.get("name")
        if isinstance(name, str) and store.ScheduleEntry.select().where(
                store.same_name(store.ScheduleEntry.name, name)).exists():
            raise ApiError(400, {"name": [NAME_TAKEN]}) from None
        raise
    if entry is None:  # validate_only
        return no_content()
    return json_body(represent(entry), 201, {"Location": entry_url(entry.name)})


@routes.get("/schedule/<name>/")
def get_entry(name: str, *, user: store.User) -> str:
    return json_body(represent(visible_entry(user, name)))


@routes.route("/schedule/<name>/", "PUT")
def put_entry(name: str, *, user: store.User, settings: Settings) -> str:
    return _update(user, name, settings, partial=False)


@routes.route("/schedule/<name>/", "PATCH")
def patch_entry(name: str, *, user: store.User, settings: Settings) -> str:
    return _update(user, name, settings, partial=True)


@routes.delete("/schedule/<name>/")
def delete_entry(name: str, *, user: store.User) -> str:
    entry = visible_entry(user, name)
    check_may_change(user, entry)
    with store.write_transaction():
        fresh = store.ScheduleEntry.select().where(store.ScheduleEntry.id == entry.id)
        if getattr(store.database.obj, "for_update", False):
            # PostgreSQL: lock the row, so a task claim either commits first (and is seen below)
            # or waits for this delete and then finds no entry; SQLite's write lock does the same
            fresh = fresh.for_update()
        if fresh.get_or_none() is None:  # deleted by a request that ran in between
            raise not_found()
        # (fix) a task running now would finish under a name that is free again: whoever took the
        # name next would receive its recording. Refuse until it has finished.
        if store.Task.select().where((store.Task.entry_name == name)
                                     & (store.Task.status == store.TASK_IN_PROGRESS)).exists():
            raise detail(409, TASK_RUNNING)
        acquisitions = list(store.Acquisition.select(store.Acquisition.task_id)
                            .where(store.Acquisition.entry_name == name).order_by(store.Acquisition.task_id))
        if acquisitions:
            raise ApiError(400, {
                "detail": f"Cannot delete schedule entry {name!r}: it has {len(acquisitions)} acquisition(s); "
                          "delete them first.",
                "protected_objects": [url(f"/acquisitions/{name}/{a.task_id}/") for a in acquisitions],
            })
        store.Task.delete().where(store.Task.entry_name == name).execute()  # the task log goes with it
        entry.delete_instance()
    return no_content()
