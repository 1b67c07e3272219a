"""The pure planner: schedule entries + a time -> which tasks are due, and the task queue.

No clock, no database: every function takes ``now`` (integer epoch seconds) and plain
:class:`EntryPlan` values, so each rule of the spec's "Scheduler semantics" is unit-tested with
injected time and no sleeping.

Rules (spec, "Scheduler semantics" and "PUT/PATCH"):
- An entry runs at ``start, start + interval, ...`` while ``< stop`` (stop is exclusive); once
  when ``interval`` is None.
- ``next_task_time`` is stored on the entry. POST sets it to ``start``; a change of ``start`` or
  ``interval``, or a reactivation, re-plans it to the first grid time at or after
  ``max(start, now + 1)`` (:func:`replan`). The API calls these functions; the loop only advances.
- Several missed runs of one entry are compressed to the latest one due (:func:`due_tasks`),
  except runs that came due while the sensor was starting (the ``kept`` window: after its
  process started, before its worker was ready): those are not missed, and run one by one, in
  order, as soon as it is ready (:func:`next_due`).
- Due tasks run in the order (time, priority, entry name); lower priority values run first.
- After a run the entry's next time is the next grid time after the one that ran
  (:func:`advance`); None, and the entry inactive, when no run is left.
- An active entry with no run left (``next_task_time`` None or at/after ``stop``, e.g. after a
  PATCH of ``stop``) is finished (:func:`is_finished`): the loop deactivates it, and it never
  shows in the queue nor wakes the loop (:func:`next_wake`).

Who plans: ``next_task_time`` is computed where the entry is written. The API calls
:func:`first_task_time` on POST and :func:`replan` on PUT/PATCH (same transaction as the
write); the loop only reads it, advances it after each run (:func:`advance`, in the transaction
that takes the task id) and retires finished entries. So there is one writer per event and no
"has this row changed?" polling: the loop re-reads every active entry each time it wakes.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Optional, Sequence

#: the queue looks ahead this many times the smallest active interval ...
QUEUE_INTERVALS = 10
#: ... or this many seconds when no active entry repeats (spec: /status)
QUEUE_DEFAULT_HORIZON_S = 60


@dataclass(frozen=True)
class EntryPlan:
    """What the planner needs to know of a schedule entry."""

    name: str
    action: str
    priority: int
    start: int
    stop: Optional[int]
    interval: Optional[int]
    is_active: bool
    next_task_time: Optional[int]


@dataclass(frozen=True)
class DueTask:
    """One run of an entry: at ``time`` (the grid time it stands for, not when it is executed)."""

    entry_name: str
    action: str
    priority: int
    time: int

    @property
    def order(self) -> tuple[int, int, str]:
        return (self.time, self.priority, self.entry_name)


def _on_grid_at_or_after(start: int, interval: Optional[int], stop: Optional[int], t: int) -> Optional[int]:
    """First run time ``>= t`` of the grid (start, interval, stop); None when none is left."""
    if interval is None:
        candidate = start if start >= t else None
    elif t <= start:
        candidate = start
    else:
        steps = -(-(t - start) // interval)  # ceil division on integers
        candidate = start + steps * interval
    if candidate is None or (stop is not None and candidate >= stop):
        return None
    return candidate


def first_task_time(start: int, stop: Optional[int], interval: Optional[int]) -> Optional[int]:
    """``next_task_time`` of a new entry: its start, unless stop leaves no run at all."""
    return _on_grid_at_or_after(start, interval, stop, start)


def replan(start: int, stop: Optional[int], interval: Optional[int], now: int) -> Optional[int]:
    """``next_task_time`` after a change of start/interval/stop or a reactivation at ``now``.

    The first grid time at or after ``max(start, now + 1)``: runs missed meanwhile are not made up.
    """
    return _on_grid_at_or_after(start, interval, stop, max(start, now + 1))


def latest_due(entry: EntryPlan, now: int) -> Optional[int]:
    """The latest run time of ``entry`` that is due at ``now`` (missed runs compressed), or None."""
    first = entry.next_task_time
    if not entry.is_active or first is None or first > now:
        return None
    if entry.stop is not None and first >= entry.stop:
        return None
    if not entry.interval:
        return first
    latest = first + ((now - first) // entry.interval) * entry.interval
    if entry.stop is not None and latest >= entry.stop:
        # the last grid time before the (exclusive) stop
        latest = first + ((entry.stop - 1 - first) // entry.interval) * entry.interval
    return latest


def next_due(entry: EntryPlan, now: int, kept: Optional[tuple[int, int]] = None) -> Optional[int]:
    """The run of ``entry`` to take now, or None: the latest of the runs missed before the ``kept``
    window (compressed), else the first run inside it (each runs), else the latest due after it.

    ``kept``: (first, last) epoch seconds, both included, of the sensor's start-up; None: plain
    compression (:func:`latest_due`).
    """
    latest = latest_due(entry, now)
    if kept is None or latest is None:
        return latest
    first = entry.next_task_time
    assert first is not None  # latest_due found a run
    start, stop = kept
    if first < start:  # runs missed while the sensor was down: the latest of them
        return latest_due(entry, min(now, start - 1))
    if first <= stop:  # the sensor was starting: this one, then the next, each in turn
        return first
    return latest


def is_finished(entry: EntryPlan) -> bool:
    """True for an active entry that has no run left (the loop then marks it inactive)."""
    if not entry.is_active:
        return False
    return entry.next_task_time is None or (entry.stop is not None and entry.next_task_time >= entry.stop)


def next_wake(entries: Iterable[EntryPlan], now: int) -> Optional[int]:
    """The earliest time after ``now`` at which a task of ``entries`` becomes due, or None.

    Entries due already, inactive or finished are left out: they must not make the loop spin.
    """
    times = [e.next_task_time for e in entries
             if e.is_active and not is_finished(e) and e.next_task_time is not None and e.next_task_time > now]
    return min(times) if times else None


def due_tasks(entries: Iterable[EntryPlan], now: int, kept: Optional[tuple[int, int]] = None) -> list[DueTask]:
    """Every task due at ``now``, one per entry at most, in the order they must run (``kept``: see
    :func:`next_due`)."""
    tasks = []
    for entry in entries:
        t = next_due(entry, now, kept)
        if t is not None:
            tasks.append(DueTask(entry.name, entry.action, entry.priority, t))
    return sorted(tasks, key=lambda task: task.order)


def advance(entry: EntryPlan, ran_at: int) -> Optional[int]:
    """The entry's ``next_task_time`` after the run at ``ran_at``; None when it has no run left."""
    if not entry.interval:
        return None
    return _on_grid_at_or_after(entry.start, entry.interval, entry.stop, ran_at + 1)


def queue_horizon(entries: Sequence[EntryPlan], now: int) -> int:
    """now + 10 x the smallest active interval (now + 60 s when no active entry repeats)."""
    intervals = [e.interval for e in entries if e.is_active and e.interval]
    span = QUEUE_INTERVALS * min(intervals) if intervals else QUEUE_DEFAULT_HORIZON_S
    return now + span


def task_queue(entries: Sequence[EntryPlan], now: int) -> list[DueTask]:
    """The tasks that will run from now until the horizon, in the order they will run.

    A due task (compressed, possibly a little in the past) heads the queue; then each entry's
    future grid times up to and including the horizon.
    """
    horizon = queue_horizon(entries, now)
    queue: list[DueTask] = []
    for entry in entries:
        if not entry.is_active or is_finished(entry):
            continue
        first = entry.next_task_time
        assert first is not None  # not finished
        t: Optional[int] = latest_due(entry, now) if first <= now else first
        while t is not None and t <= horizon:
            queue.append(DueTask(entry.name, entry.action, entry.priority, t))
            t = advance(entry, t)
    return sorted(queue, key=lambda task: task.order)


def plan_of(entry: object) -> EntryPlan:
    """An :class:`EntryPlan` from anything with the entry's attributes (a store row)."""
    return EntryPlan(
        name=str(getattr(entry, "name")),
        action=str(getattr(entry, "action")),
        priority=int(getattr(entry, "priority")),
        start=int(getattr(entry, "start")),
        stop=None if getattr(entry, "stop") is None else int(getattr(entry, "stop")),
        interval=None if getattr(entry, "interval") is None else int(getattr(entry, "interval")),
        is_active=bool(getattr(entry, "is_active")),
        next_task_time=None if getattr(entry, "next_task_time") is None else int(getattr(entry, "next_task_time")),
    )
