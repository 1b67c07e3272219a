"""The scheduler loop: due tasks -> task ids -> the worker -> recorded outcomes, one at a time.

All state lives in the store, so a restart (even after ``kill -9``) carries on: task ids come
from each entry's ``next_task_id``, which is incremented in the same transaction that creates
the task row (whether the task later succeeds or fails); a task left ``in-progress`` by a dead
process is recorded as failed ("interrupted") at start-up and its files are removed.

Only one scheduler may run per database: the heartbeat row (``SchedulerState``, id 1) doubles as
a lock. A scheduler takes it with one conditional UPDATE (free, stale, or already its own) so
two schedulers starting together cannot both win, on SQLite and PostgreSQL alike; the
heartbeat thread renews it every second and a scheduler that finds the lock taken over stops.
"""
from __future__ import annotations

import logging
import math
import os
import socket
import threading
import time
import uuid
from pathlib import Path
from typing import Any, Optional

import peewee

from scos_gr import store, tally
from scos_gr.config import Settings
from scos_gr.errors import SchedulerError
from scos_gr.faults import FaultClock
from scos_gr.outage import outage_of
from scos_gr.scheduler import planner, retention
from scos_gr.scheduler.callbacks import CallbackSender, enqueue
from scos_gr.scheduler.worker import TaskOutcome, TaskRequest, Worker, WorkerFailure
from scos_gr.sigmf_out.context import ScheduleInfo, TaskContext
from scos_gr.sigmf_out.writer import DATA_EXT, META_EXT, remove_recording, sweep_leftovers
from scos_gr.task_json import API_PATH, task_json

log = logging.getLogger(__name__)

#: a heartbeat older than this means its scheduler is gone (the lock can be taken over)
LOCK_STALE_S = 5.0
HEARTBEAT_EVERY_S = 1.0
#: the loop wakes at least this often even when nothing is due (spec: at least once a second)
MAX_SLEEP_S = 1.0
#: Seconds before a task's due time at which the scheduler wakes, claims it and hands it to the
#: worker, which prepares it and starts its flowgraph at the due time itself (not before): the
#: claim's transaction, the state write, the pipe and the flowgraph's last settings are off the
#: path from due time to capture (about 3-4 ms here). A task claimed this early runs even if its
#: entry is changed in these last milliseconds, as it would have once started.
CLAIM_LEAD_S = 0.02
#: the loop's pause when a run is due as it goes to sleep (it came due during the pass, or could
#: not be claimed: never a busy loop)
DUE_AGAIN_S = 0.002
STATE_ROW_ID = 1
#: runs of one entry recorded one by one as not run after a database outage (beyond: compressed)
MAX_MISSED_RECORDED = 1000


def _process_alive(pid: int) -> bool:
    """Whether ``pid`` is a running process. A zombie is not: a scheduler killed with its
    ``serve`` (kill -9) stays one until something reaps it, and must not hold the lock meanwhile."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:  # "pid (comm) state ...": comm may hold spaces
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True  # no /proc: os.kill's answer stands


class SchedulerLockError(SchedulerError):
    """Another scheduler is running for this database."""


class Scheduler:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.owner = uuid.uuid4().hex
        self.host = socket.gethostname()
        self.worker = Worker(settings)
        #: delivers the callbacks queue; runs while this scheduler holds the lock (one per database)
        self.callbacks = CallbackSender(settings)
        self._stop = threading.Event()
        self._heartbeat_thread: Optional[threading.Thread] = None
        #: the thread a caller runs this scheduler in, when it says so (join waits for it)
        self.thread: Optional[threading.Thread] = None
        self._state_lock = threading.RLock()
        self._state: dict[str, Any] = {"state": "starting", "current_entry": None, "current_task_id": None,
                                       "faults": []}
        self.started = time.time()
        #: the start-up window (process start, worker ready): runs due in it are not compressed
        self.kept: Optional[tuple[int, int]] = None
        #: the database outage in progress: (first second whose runs could not be recorded, the cause)
        self.outage: Optional[tuple[int, str]] = None
        self._last_good_pass = int(time.time())
        #: what this scheduler finds wrong, by kind (reported through the heartbeat row to /status)
        self._fault_clock = FaultClock()
        self._fault_details: dict[tuple[str, str], Optional[str]] = {}
        self._disk_problem: Optional[str] = None
        #: (task row id, why it failed, finished, duration) of outcomes the database refused
        self._unrecorded: list[tuple[int, str, Any, float]] = []

    # -- lock and heartbeat ------------------------------------------------------------------
    def acquire_lock(self) -> None:
        now = time.time()
        with store.database.connection_context():
            store.SchedulerState.get_or_create(id=STATE_ROW_ID, defaults={"state": "stopped", "heartbeat": 0.0})
            S = store.SchedulerState
            taken = (S.update(owner=self.owner, host=self.host, pid=os.getpid(), heartbeat=now, started=now,
                              state="starting", current_entry=None, current_task_id=None,
                              radio_args=self.settings.radio, faults=[])
                     .where((S.id == STATE_ROW_ID)
                            & ((S.owner.is_null()) | (S.owner == self.owner) | (S.state == "stopped")
                               | (S.heartbeat < now - LOCK_STALE_S)))
                     .execute())
            if taken != 1:
                row = S.get_by_id(STATE_ROW_ID)
                if row.host == self.host and row.pid and not _process_alive(row.pid):
                    # its holder died on this machine (kill -9, power cut): no need to wait
                    taken = (S.update(owner=self.owner, pid=os.getpid(), heartbeat=now, started=now,
                                      state="starting", radio_args=self.settings.radio, faults=[])
                             .where((S.id == STATE_ROW_ID) & (S.owner == row.owner)).execute())
                    if taken == 1:
                        log.warning("took over the lock of scheduler pid %s, which is gone", row.pid)
                        return
                raise SchedulerLockError(
                    f"another scheduler is running for this database (pid {row.pid} on {row.host or '?'}, "
                    f"heartbeat {now - row.heartbeat:.1f} s ago); stop it first, or run `scos-gr serve "
                    "--no-scheduler` to serve the API beside it"
                )

    def _set_state(self, **changes: Any) -> None:
        with self._state_lock:
            self._state.update(changes)
            self._beat()

    def _set_fault(self, kind: str, detail: Optional[str], source: str = "loop") -> None:
        """Report (a sentence) or clear (None) what ``source`` finds wrong, a fault of ``kind``;
        the heartbeat carries this scheduler's faults to /status."""
        if self._fault_details.get((kind, source)) == detail:
            return
        self._fault_details[(kind, source)] = detail
        faults = []
        for k in sorted({k for k, _ in self._fault_details}):
            details = [d for (kk, _), d in sorted(self._fault_details.items()) if kk == k and d]
            faults += [f.to_json() for f in self._fault_clock.faults(k, details)]
        with self._state_lock:
            self._state["faults"] = faults

    def _beat(self) -> bool:
        """Write the heartbeat; False when another scheduler has taken the lock over.

        Copy and write under one lock: otherwise the heartbeat thread could write a "running"
        it read just before the loop wrote "idle", and /status would say running for a second.
        """
        S = store.SchedulerState
        with self._state_lock:
            with store.database.connection_context():
                updated = (S.update(heartbeat=time.time(), **self._state)
                           .where((S.id == STATE_ROW_ID) & (S.owner == self.owner)).execute())
        return updated == 1

    def _heartbeat_loop(self) -> None:
        while not self._stop.wait(HEARTBEAT_EVERY_S):
            try:
                if not self._beat():
                    log.error("the scheduler lock was taken over by another scheduler; stopping")
                    self._stop.set()
            except peewee.PeeweeException as exc:
                log.warning("heartbeat not written: %s", exc)

    def release_lock(self) -> None:
        S = store.SchedulerState
        with store.database.connection_context():
            S.update(state="stopped", owner=None, current_entry=None, current_task_id=None,
                     heartbeat=time.time()).where((S.id == STATE_ROW_ID) & (S.owner == self.owner)).execute()

    # -- start-up ----------------------------------------------------------------------------
    def recover(self) -> list[str]:
        """Fail tasks a dead scheduler left running and remove files no acquisition row owns."""
        notes = []
        with store.database.connection_context(), store.write_transaction():
            stale = list(store.Task.select().where(store.Task.status == store.TASK_IN_PROGRESS))
            for task in stale:
                task.status = store.TASK_FAILURE
                task.detail = "interrupted: the scheduler stopped while this task was running"
                task.finished = store.utcnow()
                task.save()
                self._after_outcome(task, acquired=False, recordings=[], capture_s=None)
                notes.append(f"task {task.entry_name}/{task.task_id} recorded as failed (interrupted)")
        notes += self._remove_orphan_files()
        notes += self._report_missing_files()
        for note in notes:
            log.warning("recovery: %s", note)
        return notes

    def _remove_orphan_files(self) -> list[str]:
        root = self.settings.acquisitions_dir
        if not root.is_dir():
            return []
        removed = [f"removed leftover {p}" for p in sweep_leftovers(root)]
        with store.database.connection_context():
            known = {row.meta_path for row in store.Acquisition.select(store.Acquisition.meta_path)}
        data_dir = self.settings.data_dir
        for meta in root.glob(f"*/*{META_EXT}"):
            relative = str(meta.relative_to(data_dir))
            if relative not in known:
                remove_recording(meta, meta.with_name(meta.name[: -len(META_EXT)] + DATA_EXT))
                removed.append(f"removed recording without an acquisition row {relative}")
        return removed

    def _report_missing_files(self) -> list[str]:
        """Acquisition rows whose files are gone (deleted by hand, lost disk): reported, kept.

        The row is the record that the task ran; removing it would hide the loss.
        """
        data_dir = self.settings.data_dir
        A = store.Acquisition
        with store.database.connection_context():
            rows = list(A.select(A.entry_name, A.task_id, A.meta_path, A.data_path).tuples())
        return [f"acquisition {entry}/{task_id} has lost its file(s): "
                + ", ".join(p for p in (meta, data) if not (data_dir / p).is_file())
                for entry, task_id, meta, data in rows
                if not (data_dir / meta).is_file() or not (data_dir / data).is_file()]

    def warm_up(self) -> None:
        """Start the worker (GNU Radio imported, flowgraphs compiled, radio opened) and say so."""
        self.worker.start()
        info = self.worker.radio_info or {}
        radio = {"radio_driver": info.get("driver", ""),
                 "radio_min_frequency": info.get("min_frequency"),
                 "radio_max_frequency": info.get("max_frequency"),
                 "radio_healthy": self.worker.radio_error is None,
                 "radio_detail": self.worker.radio_error or ""}
        with store.database.connection_context():
            store.SchedulerState.update(**radio).where(store.SchedulerState.id == STATE_ROW_ID).execute()

    # -- the loop ------------------------------------------------------------------------------
    def run(self) -> None:
        """Take the lock, recover, warm up, then schedule until stopped."""
        self.acquire_lock()
        self._heartbeat_thread = threading.Thread(target=self._heartbeat_loop, name="scheduler-heartbeat", daemon=True)
        self._heartbeat_thread.start()
        self.callbacks.start()
        try:
            self.recover()
            self.warm_up()
            self.kept = (math.ceil(self.started), int(time.time()))
            self._set_state(state="idle")
            log.info("scheduler ready (radio %r)", self.settings.radio)
            while not self._stop.is_set():
                try:
                    ran = self.run_due_tasks()
                    self._set_fault("scheduler", None)
                    if not ran:
                        self._stop.wait(self._sleep_time())
                except Exception as exc:  # keep scheduling whatever happens: log it, say it, retry
                    self._loop_failed(exc)
                    self._stop.wait(MAX_SLEEP_S)
        finally:
            self._stop.set()
            self.callbacks.stop()
            self.worker.stop()
            try:
                self.release_lock()
            except peewee.PeeweeException:
                pass

    def _loop_failed(self, exc: Exception) -> None:
        """A pass of the loop failed. A database outage is remembered (the runs it keeps from
        being recorded are recorded as not run once it is over); anything else is a defect:
        logged with its trace and shown in /status, and the loop goes on."""
        outage = outage_of(exc)
        if outage is not None:
            if self.outage is None:
                self.outage = (self._last_good_pass + 1, outage.detail)
                log.error("scheduler: %s; retrying every %g s (runs due meanwhile are recorded as not run "
                          "once it can write again)", outage.detail, MAX_SLEEP_S)
            else:
                self.outage = (self.outage[0], outage.detail)
            return
        log.exception("scheduler loop: unexpected error (the loop goes on)")
        self._set_fault("scheduler", f"the scheduler loop met an unexpected error, retrying every "
                                     f"{MAX_SLEEP_S:g} s: {type(exc).__name__}: {exc}")
        try:
            self._beat()
        except Exception:  # the heartbeat thread will write it
            pass

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        """Wait for a scheduler run in ``self.thread`` to finish its task and stop."""
        if self.thread is not None:
            self.thread.join(timeout)

    def _entries(self) -> list[planner.EntryPlan]:
        with store.database.connection_context():
            rows = store.ScheduleEntry.select().where(store.ScheduleEntry.is_active == True)  # noqa: E712
            return [planner.plan_of(row) for row in rows]

    def _sleep_time(self) -> float:
        """Until the next due time (so tasks start on time), at most MAX_SLEEP_S.

        A run that came due (within CLAIM_LEAD_S) after the pass that found none began is
        taken after DUE_AGAIN_S: next_wake leaves due runs out, and sleeping to the one after
        would start it up to a second late."""
        entries, horizon = self._entries(), _claim_horizon()
        if planner.due_tasks(entries, horizon, self.kept):
            return DUE_AGAIN_S
        wake = planner.next_wake(entries, horizon)
        if wake is None:
            return MAX_SLEEP_S
        return max(0.0, min(MAX_SLEEP_S, wake - CLAIM_LEAD_S - time.time()))

    def retire_finished(self, entries: list[planner.EntryPlan]) -> list[str]:
        """Mark inactive the active entries with no run left (e.g. stop moved before their next run).

        Conditional on the row still holding what was read, so a concurrent PATCH wins.
        """
        E = store.ScheduleEntry
        retired = []
        for entry in entries:
            if not planner.is_finished(entry):
                continue
            with store.database.connection_context():
                changed = (E.update(is_active=False, next_task_time=None)
                           .where((E.name == entry.name) & (E.is_active == True)  # noqa: E712
                                  & ((E.next_task_time == entry.next_task_time) if entry.next_task_time is not None
                                     else E.next_task_time.is_null())
                                  & ((E.stop == entry.stop) if entry.stop is not None else E.stop.is_null()))
                           .execute())
            if changed:
                log.info("schedule entry %s has no run left; now inactive", entry.name)
                retired.append(entry.name)
        return retired

    def run_due_tasks(self) -> int:
        """Run every task due now, in order; return how many ran."""
        now = int(time.time())
        self._record_unrecorded()
        if self.outage is not None:
            self._record_missed(now)
        entries = self._entries()
        self.retire_finished(entries)
        due = planner.due_tasks(entries, _claim_horizon(), self.kept)
        ran = 0
        for task in due:
            if self._stop.is_set():
                break
            self._disk_problem = self._make_room()
            claimed = self._claim(task, _claim_horizon())
            if claimed is not None:
                self._execute(*claimed)
                ran += 1
        self._last_good_pass = now
        return ran

    def _record_missed(self, now: int) -> None:
        """After a database outage: each run that came due while no task could be recorded gets
        its task id and a failed task saying why (spec: nothing vanishes), up to
        MAX_MISSED_RECORDED per entry; later runs are planned as usual."""
        assert self.outage is not None
        first, cause = self.outage
        window = (first, now - 1)
        detail = (f"not run: {cause} (no task could be recorded from {_iso(window[0])} to {_iso(now)}; "
                  "the scheduler went on as soon as the database could be written)")
        for entry in self._entries():
            for _ in range(MAX_MISSED_RECORDED):
                due = planner.next_due(entry, now, window)
                if due is None or due > window[1]:
                    break
                claimed = self._claim(planner.DueTask(entry.name, entry.action, entry.priority, due), now, window)
                if claimed is None:
                    break
                self._record(claimed[0], TaskOutcome(ok=False, error=detail), 0.0)
                entry = self._entry_plan(entry.name) or entry
        log.warning("scheduler: the database can be written again (it could not since %s: %s)", _iso(first), cause)
        self.outage = None
        # runs that came due while these were being recorded are not missed: each runs, in order
        self.kept = (now, int(time.time()))

    def _record_unrecorded(self) -> None:
        """Tasks whose outcome the database refused: failed, with why (never left in progress)."""
        while self._unrecorded:
            task_id, detail, finished, duration = self._unrecorded[0]
            with store.database.connection_context():
                store.Task.update(status=store.TASK_FAILURE, finished=finished, detail=detail,
                                  duration_s=duration).where(store.Task.id == task_id).execute()
            self._unrecorded.pop(0)

    def _entry_plan(self, name: str) -> Optional[planner.EntryPlan]:
        with store.database.connection_context():
            row = store.ScheduleEntry.get_or_none(store.ScheduleEntry.name == name)
        return planner.plan_of(row) if row is not None and row.is_active else None

    def _make_room(self) -> Optional[str]:
        """Data retention, then whether a recording can be written at all: None if it can, else
        why not (the reason a recording task then fails with, writing nothing)."""
        try:
            kept = retention.enforce(self.settings)
        except OSError as exc:
            problem = f"the data directory cannot be examined: {exc}"
            self._set_fault("disk", problem)
            return problem
        usage = kept.usage
        assert usage is not None
        problem = None
        if usage.read_only:
            problem = f"read-only filesystem: the data filesystem ({self.settings.data_dir}) cannot be written"
        elif kept.over_limit:
            problem = (f"disk full: the data filesystem is {usage.percent:.0f}% full, above SCOS_MAX_DISK_USAGE="
                       f"{kept.limit_percent:g}%, and no recording is left to remove")
        elif usage.full:
            problem = f"disk full: {usage.free_bytes} bytes free on the data filesystem"
        self._set_fault("disk", problem)
        return problem

    def _claim(self, due: planner.DueTask, now: int,
               kept: Optional[tuple[int, int]] = None) -> Optional[tuple[store.Task, TaskContext]]:
        """In one transaction: re-check the entry, take its task id, advance it, create the task.

        ``kept``: the window whose runs are each taken (default: the start-up window)."""
        E = store.ScheduleEntry
        with store.database.connection_context(), store.write_transaction():
            entry = E.get_or_none(E.name == due.entry_name)
            if entry is None or not entry.is_active:
                return None
            plan = planner.plan_of(entry)
            run_time = planner.next_due(plan, now, kept or self.kept)
            if run_time is None:
                return None
            # never reuse an id, even if a writer put back a stale next_task_id (a full-row save
            # of an entry read before our last claim): the task log knows the ids already taken
            last = (store.Task.select(peewee.fn.MAX(store.Task.task_id))
                    .where(store.Task.entry_name == entry.name).scalar()) or 0
            task_id = max(entry.next_task_id, last + 1)
            if task_id != entry.next_task_id:
                log.warning("entry %s: next_task_id %s was already used; taking %s", entry.name,
                            entry.next_task_id, task_id)
            next_time = planner.advance(plan, run_time)
            changes = {E.next_task_id: task_id + 1, E.next_task_time: next_time}
            if next_time is None:
                changes[E.is_active] = False
            # conditional on the id we read: a concurrent writer makes this claim fail, not repeat
            updated = (E.update(changes)
                       .where((E.id == entry.id) & (E.next_task_id == entry.next_task_id)).execute())
            if updated != 1:
                return None
            # claimed up to CLAIM_LEAD_S ahead, it starts at its due time (the worker waits for it)
            task = store.Task.create(entry_name=entry.name, task_id=task_id, action=entry.action,
                                     status=store.TASK_IN_PROGRESS, scheduled_time=run_time,
                                     started=max(store.utcnow(), store.utc_of(run_time)))
            context = TaskContext(
                task_id=task_id,
                schedule=ScheduleInfo(name=entry.name, start=entry.start, stop=entry.stop, interval=entry.interval,
                                      priority=entry.priority),
                # the definition checked at start-up (config.check_startup), read once: its
                # location, id and hash go into every recording, with the classification
                sensor=self.settings.sensor_definition,
                classification=self.settings.classification.strip(),
                radio=self.settings.radio,
            )
        return task, context

    def _set_state_quietly(self, **changes: Any) -> None:
        """Like _set_state, but a database hiccup only delays the write to the next heartbeat."""
        try:
            self._set_state(**changes)
        except peewee.PeeweeException as exc:
            log.warning("state %s not written now (the heartbeat will): %s", changes.get("state"), exc)

    def _execute(self, task: store.Task, context: TaskContext) -> None:
        """Run a claimed task and record it; the state is idle again afterwards, whatever happens."""
        self._set_state_quietly(state="running", current_entry=task.entry_name, current_task_id=task.task_id)
        try:
            self._run_and_record(task, context)
        finally:
            self._set_state_quietly(state="idle", current_entry=None, current_task_id=None)

    def _run_and_record(self, task: store.Task, context: TaskContext) -> None:
        started = time.monotonic()
        if self._disk_problem is not None and self._records(task.action):
            outcome = TaskOutcome(ok=False, error=f"{self._disk_problem}; nothing was written")
        else:
            try:
                outcome = self.worker.run(TaskRequest(
                    action=task.action, output_dir=self.settings.acquisitions_dir / task.entry_name,
                    basename=f"{task.entry_name}_{task.task_id}", context=context,
                    timeout_s=self.settings.task_timeout_s, start_at=float(task.scheduled_time or 0)))
            except WorkerFailure as exc:
                outcome = TaskOutcome(ok=False, error=str(exc))
            except Exception as exc:  # a defect here must fail the task, not the scheduler
                log.exception("task %s/%s: unexpected error in the scheduler", task.entry_name, task.task_id)
                self.worker.stop()  # its pipe may hold a late answer: the next task gets a fresh worker
                reason = f"{type(exc).__name__}: {exc}"
                self._set_fault("scheduler", f"task {task.entry_name}/{task.task_id} failed on an unexpected "
                                             f"error in the scheduler: {reason}", source="task")
                outcome = TaskOutcome(ok=False, error=f"scheduler error: {reason}")
            else:
                self._set_fault("scheduler", None, source="task")
        duration = time.monotonic() - started
        if outcome.started_at:  # handed over ahead of its due time: the task's time begins with its flowgraph
            duration = min(duration, max(0.0, time.time() - outcome.started_at))
        self._record(task, outcome, duration)

    def _records(self, action: str) -> bool:
        """Whether ``action`` writes a recording (a log action or a check does not: it runs even
        on a full disk)."""
        from scos_gr.flowgraphs.catalogue import KIND_LOG, catalogue_for

        try:
            found = catalogue_for(self.settings).get(action)
        except Exception:  # the catalogue's trouble is the task's own to report
            return True
        return found is None or (found.records and found.kind != KIND_LOG)

    def _record(self, task: store.Task, outcome: TaskOutcome, duration: float) -> None:
        """Task status and its acquisition rows in one transaction (files exist already)."""
        finished = store.utcnow()
        data_dir = self.settings.data_dir
        try:
            with store.database.connection_context(), store.database.atomic():
                for rec in outcome.recordings if outcome.ok else []:
                    store.Acquisition.create(
                        entry_name=task.entry_name, task_id=task.task_id, created=finished,
                        meta_path=str(Path(rec.meta_path).relative_to(data_dir)),
                        data_path=str(Path(rec.data_path).relative_to(data_dir)),
                        data_bytes=rec.data_bytes, sha512=rec.sha512, sigmf_metadata=rec.metadata,
                    )
                task.status = store.TASK_SUCCESS if outcome.ok else store.TASK_FAILURE
                task.detail = outcome.log if outcome.ok else outcome.error
                task.finished, task.duration_s = finished, round(duration, 6)
                if outcome.started_at:  # the flowgraph's start: the task's, more exactly than its claim
                    task.started = store.utc_of(outcome.started_at)
                store.Task.update(status=task.status, detail=task.detail, finished=task.finished,
                                  duration_s=task.duration_s, started=task.started).where(
                    store.Task.id == task.id).execute()
                recordings = outcome.recordings if outcome.ok else []
                self._after_outcome(task, acquired=bool(recordings), recordings=[r.metadata for r in recordings],
                                    capture_s=outcome.capture_seconds if outcome.ok else None)
                radio: dict[str, Any] = {}
                if outcome.radio_failure:
                    radio = {"radio_healthy": False, "radio_detail": outcome.error}
                elif outcome.ok and outcome.radio_ok:
                    radio = {"radio_healthy": True, "radio_detail": ""}
                last = {"schedule_entry": task.entry_name, "task_id": task.task_id,
                        "status": store.TASK_SUCCESS if outcome.ok else store.TASK_FAILURE,
                        "detail": outcome.log if outcome.ok else outcome.error, "finished": store.iso(finished)}
                store.SchedulerState.update(last_task=last, **radio).where(
                    store.SchedulerState.id == STATE_ROW_ID).execute()
        except Exception as exc:
            # the row could not be written: the files must not outlive it (nothing half-recorded)
            log.exception("could not record task %s/%s", task.entry_name, task.task_id)
            for rec in outcome.recordings:
                remove_recording(rec.meta_path, rec.data_path)
            outage = outage_of(exc)
            reason = outage.detail if outage is not None else f"{type(exc).__name__}: {exc}"
            # say so on the task as soon as the database lets us (now, or before the next task)
            self._unrecorded.append((task.id, f"could not record the outcome: {reason}", finished,
                                     round(duration, 6)))
            try:
                self._record_unrecorded()
            except peewee.PeeweeException:
                pass
            raise
        self.callbacks.wake()
        if outcome.ok:
            log.info("task %s/%s done in %.3f s: %s", task.entry_name, task.task_id, duration, outcome.log)
        else:
            log.warning("task %s/%s failed: %s", task.entry_name, task.task_id, outcome.error)

    def _after_outcome(self, task: store.Task, *, acquired: bool, recordings: list[dict[str, Any]],
                       capture_s: Optional[float]) -> None:
        """What a recorded outcome brings with it, in the same transaction: the totals of
        ``/metrics`` and, when the entry has a ``callback_url``, the callback's delivery."""
        tally.record_task(task.action, task.status, task.duration_s or 0.0, capture_s, recordings)
        entry = store.ScheduleEntry.get_or_none(store.ScheduleEntry.name == task.entry_name)
        if entry is not None and entry.callback_url:
            pending = store.CallbackDelivery(state=store.CALLBACK_PENDING, attempts=0, last_error="")
            payload = task_json(task, api_url=self.settings.api_base_url + API_PATH, acquired=acquired,
                                delivery=pending)
            enqueue(task, entry.callback_url, payload)


def _claim_horizon() -> int:
    """The latest due time (epoch s) whose tasks are claimed now: CLAIM_LEAD_S ahead."""
    return int(time.time() + CLAIM_LEAD_S)


def _iso(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def _prepare_store(settings: Settings) -> None:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store.init_store(settings.database_url)


def run_forever(settings: Settings) -> int:
    """`scos-gr scheduler`: run the scheduler in this process until interrupted."""
    import signal

    _prepare_store(settings)
    scheduler = Scheduler(settings)
    signal.signal(signal.SIGTERM, lambda *_: scheduler.stop())
    try:
        scheduler.run()
    except SchedulerLockError as exc:
        log.error("%s", exc)
        print(f"error: {exc}", flush=True)
        return 1
    except KeyboardInterrupt:
        scheduler.stop()
    return 0


def start_in_background(settings: Settings) -> Any:
    """`scos-gr serve`: the scheduler in a process of its own (:mod:`.process`: why), holding the
    lock when this returns (raising SchedulerLockError when another scheduler has it), kept
    running; ``stop()`` and ``join(timeout)`` end it."""
    from scos_gr.scheduler.process import SchedulerProcess

    return SchedulerProcess(settings).start()
