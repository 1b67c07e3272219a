"""The scheduler loop with a real worker process and real flowgraphs (sim radio), no HTTP.

The end-to-end tests over the API are in test_end_to_end.py; these pin the loop's own rules:
task ids, recorded outcomes, failures, a crashed worker, recovery after a crash, the lock.
"""
from __future__ import annotations

import datetime
import json
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from scos_gr import store
from scos_gr.config import load_settings
from scos_gr.scheduler.service import Scheduler, SchedulerLockError
from tests.flowgraphs.grc_factory import write_crashing_flowgraph, write_stock_flowgraph
from tests.scheduler.procs import alive, worker_pids


@pytest.fixture
def make_settings(tmp_path):
    """Settings with a private data dir (``env`` overrides), the store opened on their database."""
    def make(**env):
        base = {"SCOS_DATA_DIR": str(tmp_path / "data"), "SCOS_TASK_TIMEOUT": "20"}
        base.update(env)
        settings = load_settings(base)
        store.init_store(settings.database_url)
        return settings
    return make


def add_entry(name, action="acquire700c", *, start=None, interval=None, stop=None, priority=10):
    start = int(time.time()) + 1 if start is None else start
    with store.database.connection_context():
        owner, _ = store.User.get_or_create(name="tester", defaults={"token_hash": "0" * 64, "is_admin": True})
        return store.ScheduleEntry.create(name=name, action=action, start=start, stop=stop, interval=interval,
                                          priority=priority, owner=owner, next_task_time=start)


def tasks_of(name):
    with store.database.connection_context():
        return list(store.Task.select().where(store.Task.entry_name == name).order_by(store.Task.task_id))


def acquisitions_of(name):
    with store.database.connection_context():
        return list(store.Acquisition.select().where(store.Acquisition.entry_name == name)
                    .order_by(store.Acquisition.task_id))


class Running:
    """A scheduler in a thread, stopped at the end of the test."""

    def __init__(self, settings):
        self.scheduler = Scheduler(settings)
        self.thread = threading.Thread(target=self.scheduler.run, daemon=True)

    def __enter__(self):
        """Start, and wait until warm (worker up, flowgraphs compiled): entries start after that."""
        self.thread.start()

        def idle():
            with store.database.connection_context():
                row = store.SchedulerState.get_or_none(store.SchedulerState.id == 1)
            return row is not None and row.state == "idle"

        assert wait_until(idle, 120), "the scheduler never became idle"
        return self.scheduler

    def __exit__(self, *exc):
        self.scheduler.stop()
        self.thread.join(30)


def wait_until(predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.1)
    return predicate()


def finished(name, count):
    return lambda: len([t for t in tasks_of(name) if t.status != store.TASK_IN_PROGRESS]) >= count


def test_three_runs_get_ids_1_2_3_with_recordings_that_show_the_sim_tone(make_settings):
    settings = make_settings()
    with Running(settings):
        now = int(time.time())
        add_entry("c-block", start=now + 1, interval=1, stop=now + 4)
        assert wait_until(finished("c-block", 3), 90)
        time.sleep(1.5)  # no fourth run may follow: stop is exclusive
    tasks = tasks_of("c-block")
    assert [t.task_id for t in tasks] == [1, 2, 3]
    assert all(t.status == store.TASK_SUCCESS for t in tasks), [t.detail for t in tasks]
    assert all(t.duration_s and t.finished for t in tasks)
    # warm-up happened before "idle": even the first task starts and ends on time (a cold worker
    # would import GNU Radio and compile the flowgraphs first, several seconds)
    first = tasks[0]
    started = first.started.replace(tzinfo=datetime.timezone.utc).timestamp()
    # (bounds loose enough for a loaded CI machine: a warm acquire700c takes ~0.2 s, a cold
    # worker's GNU Radio import and grcc runs take well over 2 s)
    assert 0 <= started - first.scheduled_time < 2.0 and first.duration_s < 2.0, (started, first.scheduled_time,
                                                                                 first.duration_s)
    acqs = acquisitions_of("c-block")
    assert [a.task_id for a in acqs] == [1, 2, 3]
    for a in acqs:
        data = np.fromfile(settings.data_dir / a.data_path, dtype="<f4")
        meta = json.loads((settings.data_dir / a.meta_path).read_text())
        mean = next(x for x in meta["annotations"] if x["core:label"] == "mean")
        spectrum = data[mean["core:sample_start"]:][: mean["core:sample_count"]]
        tone_bin = 512 + round(1e6 / (15.36e6 / 1024))
        watts = 10 ** (spectrum[tone_bin - 5: tone_bin + 6] / 10)
        assert abs(10 * np.log10(watts.sum()) - (-40.0)) <= 0.1
        assert meta["global"]["core:sha512"] == a.sha512
    with store.database.connection_context():
        entry = store.ScheduleEntry.get(store.ScheduleEntry.name == "c-block")
        assert entry.next_task_id == 4 and entry.next_task_time is None and not entry.is_active


def test_a_task_is_handed_to_the_worker_ahead_and_its_capture_starts_at_its_due_time(make_settings):
    from scos_gr.scheduler.service import CLAIM_LEAD_S

    settings = make_settings()
    with Running(settings) as scheduler:
        handed = []
        run = scheduler.worker.run
        scheduler.worker.run = lambda request: handed.append((time.time(), request, run(request))) or handed[-1][2]
        now = int(time.time())
        add_entry("on-time", start=now + 2, interval=1, stop=now + 5)
        assert wait_until(finished("on-time", 3), 90)
    tasks = tasks_of("on-time")
    assert [t.status for t in tasks] == [store.TASK_SUCCESS] * 3, [t.detail for t in tasks]
    for task, (sent, request, outcome), acq in zip(tasks, handed, acquisitions_of("on-time")):
        due = task.scheduled_time
        assert request.start_at == due and sent <= due + 1.0
        # the flowgraph, hence the capture, starts at the due time and never before it
        capture = json.loads((settings.data_dir / acq.meta_path).read_text())["captures"][0]
        captured = datetime.datetime.fromisoformat(capture["core:datetime"].rstrip("Z")).replace(
            tzinfo=datetime.timezone.utc).timestamp()
        assert due <= outcome.started_at <= captured < due + 1.0, (due, outcome.started_at, captured)
        started = task.started.replace(tzinfo=datetime.timezone.utc).timestamp()
        assert due <= started < due + 1.0  # the row's start is the flowgraph's, not the claim's
        # and its duration does not count the wait for the due time
        assert 0 < task.duration_s <= (task.finished - task.started).total_seconds(), task.duration_s
    # claimed and handed over ahead (CLAIM_LEAD_S): the worker waited for the due time, on an
    # idle machine in every task, on a loaded one in one of three at least
    waited = [outcome.steps.get("wait", 0.0) for _, _, outcome in handed]
    assert any(0 < w <= CLAIM_LEAD_S for w in waited), waited


def test_a_run_that_comes_due_during_a_pass_is_taken_at_once_not_a_second_later(make_settings):
    from scos_gr.scheduler import service

    scheduler = Scheduler(make_settings())
    now = int(time.time())
    add_entry("just-due", start=now + 3, interval=1)
    assert scheduler._sleep_time() == service.MAX_SLEEP_S  # not due for 3 s: the loop's longest sleep
    with store.database.connection_context():  # the pass found nothing; then the second turned
        store.ScheduleEntry.update(next_task_time=now).where(store.ScheduleEntry.name == "just-due").execute()
    assert scheduler._sleep_time() == service.DUE_AGAIN_S  # not a sleep to the run after it


def test_runs_that_come_due_while_the_sensor_starts_are_run_not_compressed(make_settings):
    # opening the radio takes 4 s at warm-up, so the entry's three runs (+1, +2, +3 s) all come
    # due while the scheduler is starting: each must run, in order, once it is ready
    settings = make_settings(SCOS_RADIO="sim,open_delay=4")
    scheduler = Scheduler(settings)
    start = math.ceil(scheduler.started) + 1
    add_entry("early", action="logger", start=start, interval=1, stop=start + 3)
    thread = threading.Thread(target=scheduler.run, daemon=True)
    thread.start()
    try:
        assert wait_until(finished("early", 3), 60)
    finally:
        scheduler.stop()
        thread.join(30)
    tasks = tasks_of("early")
    assert [(t.task_id, t.scheduled_time, t.status) for t in tasks] == \
        [(i, start + i - 1, store.TASK_SUCCESS) for i in (1, 2, 3)]
    assert scheduler.kept[1] >= start + 2  # the radio's open delay did hold the start-up back


def test_a_radio_failure_fails_only_its_task_and_leaves_no_file(make_settings):
    settings = make_settings(SCOS_RADIO="sim,fail_every=2")
    with Running(settings):
        now = int(time.time())
        add_entry("flaky", start=now + 1, interval=1, stop=now + 4)
        assert wait_until(finished("flaky", 3), 90)
        with store.database.connection_context():
            state = store.SchedulerState.get_by_id(1)
    statuses = [(t.task_id, t.status) for t in tasks_of("flaky")]
    assert statuses == [(1, "success"), (2, "failure"), (3, "success")]
    failed = tasks_of("flaky")[1]
    assert "radio" in failed.detail.lower() and "fail_every" in failed.detail
    files = sorted(p.name for p in (settings.acquisitions_dir / "flaky").iterdir())
    assert files == ["flaky_1.sigmf-data", "flaky_1.sigmf-meta", "flaky_3.sigmf-data", "flaky_3.sigmf-meta"]
    assert state.radio_healthy  # task 3 succeeded after the failure


@pytest.fixture
def stock_catalogue(tmp_path):
    """A catalogue of stock-block flowgraphs (fast warm-up): `slow` runs ~4 s, `quick` at once."""
    folder = tmp_path / "catalogue"
    folder.mkdir()
    write_stock_flowgraph(folder / "slow.grc", "slow_fg", num_items="4000", throttled=True)
    write_stock_flowgraph(folder / "quick.grc", "quick_fg", num_items="1000")
    (folder / "actions.yml").write_text(
        "actions:\n"
        "  logger: {kind: log, summary: log}\n"
        "  slow: {summary: slow, flowgraph: slow.grc, records: false}\n"
        "  quick: {summary: quick, flowgraph: quick.grc, records: false}\n")
    return folder / "actions.yml"


def state_row():
    with store.database.connection_context():
        return store.SchedulerState.get_or_none(store.SchedulerState.id == 1) or store.SchedulerState(state="none")


def running(name):
    return lambda: state_row().state == "running" and state_row().current_entry == name


def test_the_logger_action_logs_and_records_nothing(make_settings, stock_catalogue):
    settings = make_settings(SCOS_ACTIONS=str(stock_catalogue))
    with Running(settings) as scheduler:
        assert sorted(scheduler.worker.prepared) == ["quick", "slow"]  # warm-up compiled the catalogue
        add_entry("note", action="logger", interval=1, start=int(time.time()) + 1, stop=int(time.time()) + 3)
        assert wait_until(finished("note", 2), 30)
    tasks = tasks_of("note")
    assert [(t.task_id, t.status) for t in tasks] == [(1, "success"), (2, "success")]
    assert "task 2 of 'note'" in tasks[1].detail
    assert acquisitions_of("note") == [] and not (settings.acquisitions_dir / "note").exists()


def test_a_worker_killed_mid_task_fails_that_task_and_the_next_task_succeeds(make_settings, stock_catalogue):
    settings = make_settings(SCOS_ACTIONS=str(stock_catalogue))
    with Running(settings) as scheduler:
        now = int(time.time())
        add_entry("victim", action="slow", start=now + 1)
        add_entry("after", action="quick", start=now + 2)
        assert wait_until(running("victim"), 30)
        first_pid = scheduler.worker.pid
        os.kill(first_pid, signal.SIGKILL)  # as a segfaulting driver would
        assert wait_until(finished("after", 1), 60)
        second_pid = scheduler.worker.pid
    [victim], [after] = tasks_of("victim"), tasks_of("after")
    assert victim.status == "failure" and "crashed" in victim.detail and "signal 9" in victim.detail
    assert after.status == "success", after.detail
    assert second_pid not in (None, first_pid) and scheduler.worker.starts == 2


def test_a_worker_that_dies_in_a_task_leaves_its_last_stderr_lines_in_the_detail(make_settings, tmp_path):
    folder = tmp_path / "catalogue"
    folder.mkdir()
    write_crashing_flowgraph(folder / "crash.grc", "crash_fg", "usb driver: device fell off the bus")
    write_stock_flowgraph(folder / "quick.grc", "quick_fg", num_items="1000")
    (folder / "actions.yml").write_text("actions:\n"
                                        "  crash: {summary: crash, flowgraph: crash.grc, records: false}\n"
                                        "  quick: {summary: quick, flowgraph: quick.grc, records: false}\n")
    settings = make_settings(SCOS_ACTIONS=str(folder / "actions.yml"))
    with Running(settings):
        now = int(time.time())
        add_entry("doomed", action="crash", start=now + 1)
        add_entry("after", action="quick", start=now + 2)
        assert wait_until(finished("after", 1), 60)
    [doomed], [after] = tasks_of("doomed"), tasks_of("after")
    assert doomed.status == "failure" and "signal 6" in doomed.detail, doomed.detail
    assert "last words on stderr: " in doomed.detail and "usb driver: device fell off the bus" in doomed.detail
    assert after.status == "success", after.detail


def test_a_hung_worker_is_killed_its_task_fails_and_the_next_task_succeeds(make_settings, stock_catalogue):
    settings = make_settings(SCOS_ACTIONS=str(stock_catalogue), SCOS_TASK_TIMEOUT="2")
    with Running(settings) as scheduler:
        scheduler.worker.hang_margin_s = 0.5
        now = int(time.time())
        add_entry("stuck", action="slow", start=now + 1)
        add_entry("after", action="quick", start=now + 2)
        assert wait_until(running("stuck"), 30)
        first_pid = scheduler.worker.pid
        os.kill(first_pid, signal.SIGSTOP)  # alive but answering nothing, as a wedged driver
        started = time.monotonic()
        assert wait_until(finished("stuck", 1), 30)
        waited = time.monotonic() - started
        assert wait_until(finished("after", 1), 60)
    [stuck], [after] = tasks_of("stuck"), tasks_of("after")
    assert stuck.status == "failure" and "hung" in stuck.detail, stuck.detail
    assert waited < 2 + 0.5 + 2  # the task timeout plus the margin, not more
    assert after.status == "success", after.detail
    assert scheduler.worker.starts == 2
    with pytest.raises(ProcessLookupError):
        os.kill(first_pid, 0)  # the hung worker was killed and reaped


def test_an_entry_left_with_no_run_is_made_inactive_by_the_loop(make_settings):
    settings = make_settings()
    now = int(time.time())
    add_entry("cut-short", action="logger", start=now - 100, interval=10)
    with store.database.connection_context():  # as after a PATCH that moved stop before the next run
        store.ScheduleEntry.update(stop=now - 95, next_task_time=now - 90).execute()
    add_entry("alive", action="logger", start=now + 3600, interval=10)
    scheduler = Scheduler(settings)
    assert scheduler.run_due_tasks() == 0  # nothing due: the worker is not even started
    assert scheduler.worker.pid is None
    with store.database.connection_context():
        rows = {e.name: e for e in store.ScheduleEntry.select()}
    assert not rows["cut-short"].is_active and rows["cut-short"].next_task_time is None
    assert rows["alive"].is_active and rows["alive"].next_task_time == now + 3600
    assert scheduler._sleep_time() == 1.0  # the finished entry no longer wakes the loop


def test_recovery_fails_interrupted_tasks_and_removes_unrecorded_files(make_settings):
    settings = make_settings()
    entry = add_entry("cut", start=int(time.time()) + 3600)
    with store.database.connection_context():
        store.Task.create(entry_name="cut", task_id=1, action="acquire700c", status=store.TASK_IN_PROGRESS)
    folder = settings.acquisitions_dir / "cut"
    folder.mkdir(parents=True)
    for name in ("cut_1.sigmf-meta", "cut_1.sigmf-data", ".cut_2.sigmf-data.tmp-0a1b2c"):
        (folder / name).write_text("{}")
    with store.database.connection_context():  # a row whose data file was lost: reported, kept
        store.Acquisition.create(entry_name="kept", task_id=4, meta_path="acquisitions/kept/kept_4.sigmf-meta",
                                 data_path="acquisitions/kept/kept_4.sigmf-data", sigmf_metadata={})
    (settings.acquisitions_dir / "kept").mkdir()
    (settings.acquisitions_dir / "kept" / "kept_4.sigmf-meta").write_text("{}")
    notes = Scheduler(settings).recover()
    [task] = tasks_of("cut")
    assert task.status == "failure" and task.detail.startswith("interrupted")
    assert list(folder.iterdir()) == []
    assert "acquisition kept/4 has lost its file(s): acquisitions/kept/kept_4.sigmf-data" in notes
    assert [a.task_id for a in acquisitions_of("kept")] == [4]
    assert (settings.acquisitions_dir / "kept" / "kept_4.sigmf-meta").is_file()
    assert any("interrupted" in n for n in notes)
    assert entry.next_task_id == 1


def test_only_one_scheduler_per_database(make_settings):
    settings = make_settings()
    first = Scheduler(settings)
    first.acquire_lock()
    second = Scheduler(settings)
    with pytest.raises(SchedulerLockError, match="another scheduler is running"):
        second.acquire_lock()
    first.release_lock()
    second.acquire_lock()  # a cleanly stopped scheduler frees the lock at once


def test_kill_9_of_the_scheduler_mid_task_kills_its_worker_and_the_restart_fails_the_task(make_settings,
                                                                                          stock_catalogue, tmp_path):
    """`scos-gr scheduler` as a process: SIGKILL skips every clean-up, yet no worker may live on."""
    settings = make_settings(SCOS_ACTIONS=str(stock_catalogue))
    env = {**os.environ, "SCOS_DATA_DIR": str(settings.data_dir), "SCOS_ACTIONS": str(stock_catalogue)}
    env.pop("DATABASE_URL", None)
    scos_gr = str(Path(sys.executable).with_name("scos-gr"))

    def start():
        return subprocess.Popen([scos_gr, "scheduler"], env=env, stdout=subprocess.DEVNULL,
                                stderr=open(tmp_path / "scheduler.log", "a"))

    proc = start()
    try:
        assert wait_until(lambda: state_row().state == "idle" and state_row().pid == proc.pid, 60)
        add_entry("long", action="slow", start=int(time.time()) + 1, interval=30)
        assert wait_until(running("long"), 30)
        children = worker_pids(proc.pid)
        assert len(children) == 1
        proc.kill()
        proc.wait(10)
        # the slow task had ~4 s to go: a worker gone within 1 s died with its parent
        assert wait_until(lambda: not any(alive(pid) for pid in children), 1.0), children
    finally:
        proc.kill()
        proc.wait(10)
    proc = start()
    try:
        assert wait_until(lambda: state_row().state == "idle" and state_row().pid == proc.pid, 60)
        [task] = tasks_of("long")
        assert task.status == "failure" and task.detail.startswith("interrupted"), task.detail
        with store.database.connection_context():
            entry = store.ScheduleEntry.get(store.ScheduleEntry.name == "long")
        assert entry.next_task_id == 2 and entry.is_active
    finally:
        proc.terminate()
        assert proc.wait(30) == 0


def test_an_outcome_the_store_refuses_fails_its_task_removes_its_files_and_the_loop_goes_on(make_settings):
    settings = make_settings()
    with Running(settings):
        now = int(time.time())
        add_entry("clash", start=now + 1, interval=1, stop=now + 3)
        with store.database.connection_context():  # a stray row for task 1: its insert must fail
            store.Acquisition.create(entry_name="clash", task_id=1, meta_path="elsewhere.sigmf-meta",
                                     data_path="elsewhere.sigmf-data", sigmf_metadata={})
        assert wait_until(finished("clash", 2), 60)
        assert wait_until(lambda: state_row().state == "idle", 5)
    first, second = tasks_of("clash")
    assert first.status == "failure" and first.detail.startswith("could not record the outcome"), first.detail
    assert second.status == "success", second.detail
    files = sorted(p.name for p in (settings.acquisitions_dir / "clash").iterdir())
    assert files == ["clash_2.sigmf-data", "clash_2.sigmf-meta"]


def test_a_stale_next_task_id_written_back_never_makes_a_task_id_repeat(make_settings, stock_catalogue):
    settings = make_settings(SCOS_ACTIONS=str(stock_catalogue))
    with Running(settings):
        now = int(time.time())
        add_entry("ids", action="logger", start=now + 1, interval=1, stop=now + 5)
        assert wait_until(finished("ids", 2), 30)
        with store.database.connection_context():  # a writer saves the entry as it read it earlier
            store.ScheduleEntry.update(next_task_id=1).where(store.ScheduleEntry.name == "ids").execute()
        assert wait_until(finished("ids", 4), 30)
    ids = [t.task_id for t in tasks_of("ids")]
    assert ids == sorted(set(ids)) and ids[:2] == [1, 2] and len(ids) == 4, ids
    assert all(t.status == "success" for t in tasks_of("ids"))


# -- unattended operation: the loop never dies, nothing vanishes ------------------------------------
def test_an_unexpected_error_fails_its_task_with_the_reason_and_the_loop_goes_on(make_settings, stock_catalogue):
    import dataclasses

    # a timeout load_settings would refuse (inf): the worker's pipe cannot wait that long
    settings = dataclasses.replace(make_settings(SCOS_ACTIONS=str(stock_catalogue)), task_timeout_s=math.inf)
    with Running(settings) as scheduler:
        now = int(time.time())
        add_entry("odd", action="quick", start=now + 1, interval=1, stop=now + 3)
        assert wait_until(finished("odd", 2), 60), tasks_of("odd")
        assert scheduler.thread is None or scheduler.thread.is_alive()
        assert wait_until(lambda: state_row().state == "idle" and time.time() - state_row().heartbeat < 3, 10)
        faults = state_row().faults
        assert [f["kind"] for f in faults] == ["scheduler"], faults
        assert "OverflowError" in faults[0]["detail"] and "odd/" in faults[0]["detail"]
    odd = tasks_of("odd")
    assert [t.status for t in odd] == ["failure", "failure"], [(t.status, t.detail) for t in odd]
    assert all(t.detail.startswith("scheduler error: OverflowError") for t in odd), [t.detail for t in odd]


def test_an_unexpected_error_in_the_loop_is_a_fault_until_a_pass_succeeds(make_settings, stock_catalogue):
    settings = make_settings(SCOS_ACTIONS=str(stock_catalogue))

    class Flaky(Scheduler):
        failures = 3

        def _entries(self):
            if Flaky.failures:
                Flaky.failures -= 1
                raise ValueError("a defect in the planner")
            return super()._entries()

    runner = Running(settings)
    runner.scheduler = Flaky(settings)
    runner.thread = threading.Thread(target=runner.scheduler.run, daemon=True)
    with runner:
        assert wait_until(lambda: [f["detail"] for f in state_row().faults or []] == [
            "the scheduler loop met an unexpected error, retrying every 1 s: ValueError: a defect in the planner"], 10)
        now = int(time.time())
        add_entry("after", action="logger", start=now + 1)
        assert wait_until(finished("after", 1), 30)
        assert runner.thread.is_alive() and wait_until(lambda: state_row().faults == [], 5)
    assert Flaky.failures == 0 and tasks_of("after")[0].status == "success"


def test_runs_due_while_the_database_is_locked_are_recorded_as_not_run_not_lost(make_settings, stock_catalogue):
    """A lock held longer than the busy timeout (a backup, a sqlite3 shell): the scheduler cannot
    record anything; when it can again, each run that came due meanwhile is a failed task saying
    why, and the next runs happen as usual (before: ~22 runs of 25 s vanished, compressed)."""
    import sqlite3

    settings = make_settings(SCOS_ACTIONS=str(stock_catalogue))
    with Running(settings):
        now = int(time.time())
        add_entry("steady", action="logger", start=now + 1, interval=1)
        assert wait_until(finished("steady", 2), 30)
        locker = sqlite3.connect(settings.data_dir / "scos.db", isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        locked_at = time.time()
        time.sleep(store.LOCK_WAIT_S + 4)
        locker.execute("ROLLBACK")
        released_at = time.time()
        locker.close()
        assert wait_until(lambda: any(t.scheduled_time and t.scheduled_time > released_at + 1 and t.status == "success"
                                      for t in tasks_of("steady")), 30)
        with store.database.connection_context():
            store.ScheduleEntry.update(is_active=False).where(store.ScheduleEntry.name == "steady").execute()
    tasks = [t for t in tasks_of("steady") if t.status != store.TASK_IN_PROGRESS]
    times = [t.scheduled_time for t in tasks]
    assert [t.task_id for t in tasks] == list(range(1, len(tasks) + 1))
    assert times == list(range(times[0], times[0] + len(times))), times  # every second has its task
    missed = [t for t in tasks if t.status == "failure"]
    assert len(missed) >= store.LOCK_WAIT_S, [(t.scheduled_time, t.status) for t in tasks]
    assert all(t.detail.startswith("not run: the database is locked") for t in missed), missed[0].detail
    assert all(locked_at - 2 <= t.scheduled_time <= released_at + 1 for t in missed)
