"""Every rule of the spec's scheduler semantics, with injected time (no clock, no sleeping)."""
from __future__ import annotations

from dataclasses import replace

from scos_gr.scheduler.planner import (
    EntryPlan, advance, due_tasks, first_task_time, is_finished, latest_due, next_due, next_wake, queue_horizon,
    replan, task_queue,
)

T0 = 1_800_000_000


def entry(name="e", *, start=T0, stop=None, interval=None, priority=10, active=True, next_time="start", action="logger"):
    nt = first_task_time(start, stop, interval) if next_time == "start" else next_time
    return EntryPlan(name, action, priority, start, stop, interval, active, nt)


def test_a_new_entry_first_runs_at_its_start():
    assert first_task_time(T0, None, 10) == T0
    assert first_task_time(T0, T0 + 1, None) == T0
    assert first_task_time(T0, T0, 10) is None  # stop is exclusive: no run at all


def test_nothing_is_due_before_start_and_the_start_is_due_at_start():
    e = entry(interval=10)
    assert due_tasks([e], T0 - 1) == []
    [task] = due_tasks([e], T0)
    assert (task.entry_name, task.time, task.action) == ("e", T0, "logger")


def test_runs_follow_the_interval_grid_and_stop_is_exclusive():
    e = entry(interval=10, stop=T0 + 30)
    times, t = [], e.next_task_time
    while t is not None:
        times.append(t)
        t = advance(e, t)
    assert times == [T0, T0 + 10, T0 + 20]


def test_one_shot_runs_once():
    e = entry(interval=None)
    assert latest_due(e, T0 + 5) == T0
    assert advance(e, T0) is None


def test_missed_runs_are_compressed_to_the_latest():
    e = entry(interval=10)
    [task] = due_tasks([e], T0 + 35)  # runs at +0, +10, +20, +30 missed: only +30 is kept
    assert task.time == T0 + 30
    assert advance(e, task.time) == T0 + 40


def test_runs_due_while_the_sensor_was_starting_each_run_in_order():
    kept = (T0 + 5, T0 + 27)  # the process started at +5, its worker was ready at +27
    e = entry(interval=10)
    ran, t = [], None
    while True:  # what the loop does at +35: take the next due run, advance past it, again
        t = next_due(e, T0 + 35, kept)
        if t is None:
            break
        ran.append(t)
        e = replace(e, next_task_time=advance(e, t))
    # +0 (before the start: the sensor was down) alone; +10 and +20 (while starting) each;
    # +30 (after the worker was ready: the loop was busy with the others) compressed as usual
    assert ran == [T0, T0 + 10, T0 + 20, T0 + 30]
    assert [t.time for t in due_tasks([entry(interval=10)], T0 + 35, kept)] == [T0]
    missed = entry(interval=1, start=T0 - 100)  # 95 runs missed while down, 3 while starting
    ran, e = [], missed
    while (t := next_due(e, T0 + 7, (T0 + 5, T0 + 7))) is not None:
        ran.append(t)
        e = replace(e, next_task_time=advance(e, t))
    assert ran == [T0 + 4, T0 + 5, T0 + 6, T0 + 7]
    assert next_due(entry(interval=10), T0 + 35) == T0 + 30  # no window: plain compression


def test_compression_never_picks_a_time_at_or_after_stop():
    e = entry(interval=10, stop=T0 + 25)
    assert latest_due(e, T0 + 100) == T0 + 20
    assert advance(e, T0 + 20) is None


def test_inactive_entries_are_never_due():
    assert due_tasks([entry(interval=10, active=False)], T0 + 5) == []


def test_due_tasks_are_ordered_by_time_then_priority_then_name():
    a = entry("a", priority=5, start=T0 + 1)
    b = entry("b", priority=5)
    c = entry("c", priority=-3)
    d = entry("d", priority=5)
    order = [t.entry_name for t in due_tasks([a, b, c, d], T0 + 2)]
    assert order == ["c", "b", "d", "a"]


def test_replan_after_a_change_of_start_or_interval_or_a_reactivation_skips_missed_runs():
    # reactivated at T0 + 95 after being paused: next run on the grid at or after now + 1
    assert replan(T0, None, 10, T0 + 95) == T0 + 100
    assert replan(T0, None, 10, T0 + 99) == T0 + 100
    assert replan(T0, None, 10, T0 + 100) == T0 + 110
    # start moved into the future: the new start
    assert replan(T0 + 500, None, 10, T0) == T0 + 500
    # interval changed: the new grid from start
    assert replan(T0, None, 7, T0 + 20) == T0 + 21
    # a one-shot whose start passed has nothing left
    assert replan(T0, None, None, T0 + 5) is None
    # stop already behind
    assert replan(T0, T0 + 50, 10, T0 + 60) is None


def test_the_queue_spans_ten_smallest_intervals_in_run_order():
    fast = entry("fast", interval=2, priority=10)
    slow = entry("slow", interval=5, priority=0, start=T0 + 1)
    off = entry("off", interval=1, active=False)
    assert queue_horizon([fast, slow, off], T0) == T0 + 20
    q = task_queue([fast, slow, off], T0)
    assert all(T0 <= t.time <= T0 + 20 for t in q)
    assert [t.time for t in q] == sorted(t.time for t in q)
    assert [t.time for t in q if t.entry_name == "fast"] == list(range(T0, T0 + 21, 2))
    assert [t.time for t in q if t.entry_name == "slow"] == [T0 + 1, T0 + 6, T0 + 11, T0 + 16]
    assert "off" not in {t.entry_name for t in q}


def test_the_queue_without_repeating_entries_looks_60_s_ahead():
    once = entry("once", start=T0 + 59)
    later = entry("later", start=T0 + 61)
    assert [t.entry_name for t in task_queue([once, later], T0)] == ["once"]


def test_the_queue_starts_with_a_due_task_compressed():
    e = entry(interval=10)
    q = task_queue([e], T0 + 25)
    assert q[0].time == T0 + 20 and q[1].time == T0 + 30


def test_a_patched_entry_is_planned_from_its_new_values():
    e = entry(interval=10)
    patched = replace(e, interval=3, next_task_time=replan(e.start, e.stop, 3, T0 + 10))
    assert patched.next_task_time == T0 + 12
    assert due_tasks([patched], T0 + 11) == []
    assert due_tasks([patched], T0 + 12)[0].time == T0 + 12


def test_an_entry_whose_next_time_is_at_or_after_stop_is_finished_and_never_queued():
    # e.g. PATCH moved stop before the stored next_task_time
    stale = entry("stale", interval=10, next_time=T0 + 20, stop=T0 + 15)
    done = entry("done", interval=10, next_time=None)
    live = entry("live", interval=10, stop=T0 + 15)
    assert is_finished(stale) and is_finished(done) and not is_finished(live)
    assert not is_finished(replace(stale, is_active=False))  # already retired
    assert due_tasks([stale, done], T0 + 100) == []
    assert [t.entry_name for t in task_queue([stale, done, live], T0)] == ["live", "live"]


def test_the_loop_wakes_for_the_earliest_future_run_only():
    soon = entry("soon", start=T0 + 3)
    later = entry("later", start=T0 + 7, interval=5)
    due_now = entry("due", start=T0 - 4)
    stale = entry("stale", interval=10, next_time=T0 + 1, stop=T0 + 1)
    off = entry("off", start=T0 + 1, active=False)
    assert next_wake([later, soon, due_now, stale, off], T0) == T0 + 3
    assert next_wake([later, due_now], T0) == T0 + 7
    assert next_wake([due_now, stale, off], T0) is None
