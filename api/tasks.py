"""The task log (ext): every executed task of an entry, successful or not, with why it failed.

Same visibility rules as acquisitions. A task links its recording when it made one.
"""
from __future__ import annotations

from typing import Any

from peewee import Case, fn

from scos_gr import store
from scos_gr.task_json import task_json

from .access import entry_name_filter, entry_named, may_see_entry_name, task_row_or_404
from .web import Routes, entry_url, json_body, not_found, paginate, sql_page, url

T = store.Task
routes = Routes()


def _task_repr(task: store.Task, acquired: set[int], deliveries: dict[int, store.CallbackDelivery]) -> dict[str, Any]:
    return task_json(task, api_url=url(""), acquired=task.task_id in acquired, delivery=deliveries.get(task.id))


def _acquired_ids(entry: str) -> set[int]:
    A = store.Acquisition
    return {r.task_id for r in A.select(A.task_id).where(A.entry_name == entry)}


def _deliveries(tasks: list[store.Task]) -> dict[int, store.CallbackDelivery]:
    """The callback deliveries of ``tasks``, by task row id (one query per page)."""
    C = store.CallbackDelivery
    ids = [t.id for t in tasks]
    if not ids:
        return {}
    rows = C.select(C.task, C.state, C.attempts, C.last_error).where(C.task.in_(ids))
    return {row.task_id: row for row in rows}


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
    tasks = list(page)
    deliveries = _deliveries(tasks)
    return json_body([_task_repr(t, done, deliveries) for t in tasks])


@routes.get("/tasks/<entry>/<task_id:int>/")
def task_detail(entry: str, task_id: int, *, user: store.User) -> str:
    task = task_row_or_404(T, user, entry, task_id)
    return json_body(_task_repr(task, _acquired_ids(entry), _deliveries([task])))
