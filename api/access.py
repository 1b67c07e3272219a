"""Who may see and change what: the spec's owner rule and private entries, in one place.

A private entry, its acquisitions and its tasks are invisible to non-admins everywhere: a direct
request answers 404 exactly as for a missing one, so a name leaks nothing.
"""
from __future__ import annotations

from typing import Callable, Optional

from scos_gr import store

from . import openapi
from .web import forbidden, not_found


def entry_named(name: str) -> Optional[store.ScheduleEntry]:
    return store.ScheduleEntry.get_or_none(store.ScheduleEntry.name == name)


def visible_entry(user: store.User, name: str) -> store.ScheduleEntry:
    """The entry if it exists and the caller may see it (private ones: admins only), else 404."""
    entry = entry_named(name)
    if entry is None or (entry.is_private and not user.is_admin):
        raise not_found()
    return entry


def may_see_entry_name(user: store.User, name: str) -> bool:
    """For rows that refer to an entry by name (acquisitions, tasks), which may be deleted."""
    entry = entry_named(name)
    if entry is None:
        return user.is_admin  # an entry deleted while its task ran: its owner is unknown
    return not entry.is_private or user.is_admin


def may_change(user: store.User, entry: Optional[store.ScheduleEntry]) -> bool:
    """Owner rule: the owner or an admin."""
    if user.is_admin:
        return True
    return entry is not None and entry.owner_id == user.id


def check_may_change(user: store.User, entry: Optional[store.ScheduleEntry]) -> None:
    """403 unless the owner rule lets ``user`` change ``entry`` (or its rows)."""
    if not may_change(user, entry):
        raise forbidden()


def entry_name_filter(user: store.User) -> Callable[[str], bool]:
    """For lists grouped by entry name: which names the caller may see (one query each, not per row)."""
    if user.is_admin:
        return lambda name: True
    public = {e.name for e in store.ScheduleEntry.select(store.ScheduleEntry.name)
              .where(store.ScheduleEntry.is_private == False)}  # noqa: E712
    return public.__contains__  # deleted entries' rows (owner unknown) are for admins only


def private_entry_names() -> set[str]:
    return {e.name for e in store.ScheduleEntry.select(store.ScheduleEntry.name)
            .where(store.ScheduleEntry.is_private == True)}  # noqa: E712


def task_row_or_404(model: type[store.BaseModel], user: store.User, entry: str, task_id: int) -> store.BaseModel:
    """The ``model`` row (an acquisition or a task) of ``entry``'s task ``task_id`` the caller may see.

    An id outside the document's ``task_id`` range (the store's 32-bit integers) does not exist:
    404 without asking the database, which would refuse to compare it.
    """
    task_ids = openapi.parameter("task_id")
    if task_ids.bound_errors(task_id) or not may_see_entry_name(user, entry):
        raise not_found()
    row = model.get_or_none((model.entry_name == entry) & (model.task_id == task_id))
    if row is None:
        raise not_found()
    return row
