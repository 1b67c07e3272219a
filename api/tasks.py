"""The task log (ext): every executed task of an entry, successful or not, with why it failed.

Same visibility rules as acquisitions. A task links its recording when it made one.
"""
from __future__ import annotations

from typing import Any

from peewee import Case, fn

from scos_gr import store

from .access import entry_name_filter, entry_named, may_see_entry_name, task_row_or_404
from .acquisitions import acquisition_url
from .web import Routes, entry_url, json_body, not_found, paginate, sql_page, url

T = store.Task
routes = Routes()


def _task_repr(task: store.Task, acquired: set[int]) -> dict[str, Any]:
    return {
        "url": url(f"/tasks/{task.entry_name}/{task.task_id}/"),
        "task_id": task.task_id,
        "schedule_entry": entry_url(task.entry_name),
        "action": task.action,
        "status": task.status,
        "detail": task.detail,
        "scheduled_time": task.scheduled_time,
        "started": store.iso(task.started),
        "finished": store.iso(task.finished) if task.finished else None,
        "duration_s": task.duration_s,
        "acquisition": acquisition_url(task.entry_name, task.task_id) if task.task_id in acquired else None,
        "retention": task.retention,  # "removed": data retention removed its recording (spec)
    }


def _acquired_ids(entry: str) -> set[int]:
    A = store.Acquisition
    return {r.task_id for r in A.select(A.task_id).where(A.entry_name == entry)}


@routes.get("/tasks/")
def overview(*, user: store.User) -> str:
    visible = entry_name_filter(user)
    rows = T.select(T.entry_name, fn.COUNT(T.id).alias("n"),
                    fn.SUM(Case(None, [(T.status == store.TASK_FAILURE, 1)], 0)).alias("failed")) \
        .group_by(T.entry_name).order_by(T.entry_name)
    return json_body(paginate([{"schedule_entry": entry_url(row.entry_name), "tasks": row.n,
                                "failures": int(row.failed or 0), "url": url(f"/tasks/{row.entry_name}/")}
                               for row in rows if visible(row.entry_name)]))


@routes.get("/tasks/<entry>/")
def task_list(entry: str, *, user: store.User) -> str:
    if not may_see_entry_name(user, entry):
        raise not_found()
    query = T.select().where(T.entry_name == entry).order_by(T.task_id)
    page = sql_page(query)
    if not query.exists() and entry_named(entry) is None:
        raise not_found()
    done = _acquired_ids(entry)
    return json_body([_task_repr(t, done) for t in page])


@routes.get("/tasks/<entry>/<task_id:int>/")
def task_detail(entry: str, task_id: int, *, user: store.User) -> str:
    task = task_row_or_404(T, user, entry, task_id)
    return json_body(_task_repr(task, _acquired_ids(entry)))
