"""The worker process: GNU Radio imported once, flowgraphs compiled once, one task at a time.

Flowgraphs (and the SDR drivers under them) can crash or hang a process. They therefore never
run in the scheduler's or the web server's process: a long-lived child process started with the
``spawn`` method (fork after GNU Radio's and peewee's threads exist is unsafe) runs them through
:func:`scos_gr.flowgraphs.runner.run_action`. The parent talks to it over a pipe, gives each task
a deadline, and kills and replaces the worker when it dies or does not answer in time; the task
is then recorded as failed with that reason and the schedule goes on.
"""
from __future__ import annotations

import collections
import gc
import logging
import multiprocessing
import multiprocessing.connection
import os
import sys
import threading
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

from scos_gr.config import Settings
from scos_gr.errors import SchedulerError, ScosGrError
from scos_gr.sigmf_out.context import TaskContext
from scos_gr.sigmf_out.writer import Recording
from scos_gr.scheduler.lifeline import die_with_parent

log = logging.getLogger(__name__)

#: seconds the worker gets beyond the task's own timeout (the runner stops a flowgraph itself at
#: the timeout; this margin only catches a worker that no longer answers at all)
HANG_MARGIN_S = 15.0
#: seconds a new worker may take to import GNU Radio and compile every catalogue flowgraph
WARM_UP_TIMEOUT_S = 300.0
#: lines of a worker's stderr kept for the detail of a task it dies in
STDERR_LINES = 12
#: seconds the worker waits, after answering, before it tears the task's flowgraph down and builds
#: the next one (so the scheduler records the task on a quiet machine); a request arriving
#: meanwhile goes first
PREPARE_AFTER_S = 0.05


class WorkerFailure(SchedulerError):
    """The worker process died or hung; ``str()`` is the reason recorded on the task."""


@dataclass(frozen=True)
class TaskRequest:
    """One task for the worker: which action, where its recording goes, what it says about itself."""

    action: str
    output_dir: Path
    basename: str
    context: TaskContext
    timeout_s: float
    #: epoch seconds before which the flowgraph must not start (its due time: the scheduler hands a
    #: task over a little ahead, and the worker prepares it meanwhile); 0: at once
    start_at: float = 0.0


@dataclass
class TaskOutcome:
    """What became of a task: the worker's answer over the pipe (or the parent's, when the worker
    died or hung). ``recordings`` are complete on disk when ``ok``."""

    ok: bool
    error: str = ""
    radio_failure: bool = False
    radio_ok: bool = False
    recordings: list[Recording] = field(default_factory=list)
    log: str = ""
    capture_seconds: float = 0.0
    #: seconds each step took in the worker: ``catalogue`` (the checked catalogue and the
    #: calibration looked up) and the runner's (``runner.STEPS`` and the blocks' own)
    steps: dict[str, float] = field(default_factory=dict)
    #: when the flowgraph started (``time.time()``; 0: none did): its due time or just after
    started_at: float = 0.0
    #: when the worker took the request and when it sent this answer (``time.time()``): what the
    #: pipe adds to a task is the rest
    received_at: float = 0.0
    replied_at: float = 0.0


@dataclass(frozen=True)
class WorkerReady:
    """The worker's first message: warmed up (flowgraphs compiled), and what it found of the radio."""

    prepared: list[str]
    warning: str = ""
    radio: dict[str, Any] | None = None
    radio_error: str | None = None


#: the parent's request to end the worker
_STOP = "stop"


def _worker_main(conn: multiprocessing.connection.Connection, settings: Settings, parent_pid: int,
                 stderr: multiprocessing.connection.Connection) -> None:
    """Child process: warm up, then answer task requests until told to stop or the pipe closes."""
    die_with_parent(parent_pid)
    from scos_gr.scheduler.process import set_process_name

    set_process_name("scos-gr-worker")  # what ps and top show
    os.dup2(stderr.fileno(), 2)  # what C++ blocks, drivers and Qt print lands in the parent's StderrTail
    stderr.close()
    logging.basicConfig(level=getattr(logging, settings.log_level, logging.INFO),
                        format="%(asctime)s %(levelname)s worker[%(process)d] %(name)s: %(message)s")
    from scos_gr.flowgraphs import runner
    from scos_gr.flowgraphs.catalogue import catalogue_for

    catalogue = catalogue_for(settings)
    prepared = runner.warm_up(list(catalogue.actions.values()), settings.flowgraph_cache_dir, settings.radio)
    warning = "; ".join(catalogue.problems())  # a broken entry must not stop the other actions
    radio, radio_error = None, None
    try:  # open the radio once: a missing or busy device shows in /status before the first task
        radio = runner.radio_info(settings.radio)
    except ScosGrError as exc:
        radio_error = str(exc)
    _settle()
    conn.send(WorkerReady(prepared=prepared, warning=warning, radio=radio, radio_error=radio_error))
    while True:
        try:
            request = conn.recv()
        except EOFError:
            request = _STOP
        if request == _STOP:
            runner.discard_prepared()  # its radio released, its temp files gone
            return
        received = time.time()
        gc.disable()  # no collection in the middle of a task (see _settle)
        outcome, action = _run(request, settings)
        outcome.received_at, outcome.replied_at = received, time.time()
        conn.send(outcome)
        # off the task's path, once the scheduler has had time to record it on a quiet machine
        # (tearing a flowgraph down unmaps its buffers, which interrupts every CPU): tear the
        # task's flowgraph down, collect, and build the next one for the same action unless
        # another request is already waiting (runner.prepare)
        waiting = conn.poll(PREPARE_AFTER_S)
        runner.release_finished()
        gc.enable()
        gc.collect()
        if action is not None and not waiting and not conn.poll(0):
            runner.prepare(action, radio=settings.radio, output_dir=request.output_dir,
                           cache_dir=settings.flowgraph_cache_dir)


def _settle() -> None:
    """Make the process's memory quiet for the tasks to come, once it has warmed up.

    - Every object that exists now (GNU Radio, numpy, the flowgraphs' modules: about 40,000) is
      moved out of the garbage collector's sight (``gc.freeze``): a full collection over them
      takes 20-35 ms, and one could start in the middle of any task. The worker also holds the
      collector off while a task runs and collects after answering.
    - glibc gives memory blocks of 128 KiB and more back to the kernel when they are freed, so
      the next task's arrays (a capture's frames: 1.2 MB for 300 x 1024) are fresh pages, each
      faulted in at about 3 us: 1-2 ms per task. Blocks up to 32 MiB now come from the heap,
      which keeps up to 256 MiB of freed memory for reuse (``mallopt``; glibc only).
    """
    gc.collect()
    gc.freeze()
    try:
        import ctypes

        libc = ctypes.CDLL(None)
        M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
        libc.mallopt(M_MMAP_THRESHOLD, 32 << 20)
        libc.mallopt(M_TRIM_THRESHOLD, 256 << 20)
    except (OSError, AttributeError):  # not glibc: only the page faults stay
        pass


def _run(request: TaskRequest, settings: Settings) -> tuple[TaskOutcome, Any]:
    """One task in the worker; every failure becomes a failed outcome with its reason. Also
    returns the catalogue's action (None when there was none)."""
    from scos_gr.calibration import load_sensor_calibration
    from scos_gr.flowgraphs import runner
    from scos_gr.flowgraphs.catalogue import KIND_LOG, catalogue_for

    began = time.perf_counter()
    action = None
    try:
        catalogue = catalogue_for(settings)
        action = catalogue.get(request.action)
        if action is None:
            reason = catalogue.unavailable.get(request.action)
            return TaskOutcome(ok=False, error=f"action {request.action!r} is unavailable: {reason}" if reason
                               else f"unknown action {request.action!r} (not in the catalogue)"), None
        calibration = load_sensor_calibration(settings.calibration_file, settings.onboard_calibration_file)
        looked_up = time.perf_counter() - began
        result = runner.run_action(
            action,
            calibration=calibration,
            radio=settings.radio,
            output_dir=request.output_dir,
            basename=request.basename,
            context=request.context,
            timeout_s=request.timeout_s,
            start_at=request.start_at,
            cache_dir=settings.flowgraph_cache_dir,
            catalogue_frequencies=catalogue.measurement_frequencies(),
            calibration_file=settings.onboard_calibration_file,
        )
    except runner.ActionError as exc:
        return TaskOutcome(ok=False, error=str(exc), radio_failure=isinstance(exc, runner.RadioFailure)), action
    except ScosGrError as exc:  # the catalogue or the calibration file is broken: the task says which
        return TaskOutcome(ok=False, error=str(exc)), action
    except Exception as exc:  # never let a surprise kill the worker silently
        log.error("task failed unexpectedly:\n%s", traceback.format_exc())
        return TaskOutcome(ok=False, error=f"{type(exc).__name__}: {exc}"), action
    return TaskOutcome(ok=True, radio_ok=action.kind != KIND_LOG,  # the radio delivered: it is healthy
                       log=result.log, capture_seconds=result.capture_seconds, recordings=result.recordings,
                       started_at=result.started_at,
                       steps={"catalogue": looked_up, **result.steps}), action


class StderrTail:
    """Reads a worker's standard error (file descriptor 2: Python's logging, and what GNU Radio's
    C++ blocks, drivers or Qt print before an abort), passes it on to this process's stderr, and
    keeps the last lines, so a worker that dies says why in its task's detail."""

    def __init__(self, conn: multiprocessing.connection.Connection, keep: int = STDERR_LINES) -> None:
        self._conn = conn
        self._lines: collections.deque[str] = collections.deque(maxlen=keep)
        self._since = 0  # lines read before the current task began
        self._count = 0
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._pump, name="worker-stderr", daemon=True)
        self._thread.start()

    def _pump(self) -> None:
        pending = b""
        fd = self._conn.fileno()
        while True:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                break
            try:
                sys.stderr.buffer.write(chunk)
                sys.stderr.flush()
            except (AttributeError, OSError, ValueError):
                pass
            pending += chunk
            *lines, pending = pending.split(b"\n")
            self._keep(lines)
        self._keep([pending] if pending else [])
        self._conn.close()

    def _keep(self, lines: list[bytes]) -> None:
        with self._lock:
            for line in lines:
                text = line.decode("utf-8", "replace").rstrip()
                if text:
                    self._lines.append(text)
                    self._count += 1

    def mark(self) -> None:
        """A task begins: its detail will hold only what is written from now on."""
        with self._lock:
            self._since = self._count

    def since_mark(self, wait_s: float = 1.0) -> list[str]:
        """The lines written since :meth:`mark` (at most the last ``keep``), after waiting up to
        ``wait_s`` for the worker's end of the pipe to close (a dead worker's last words)."""
        self._thread.join(wait_s)
        with self._lock:
            new = self._count - self._since
            return list(self._lines)[-new:] if new > 0 else []


class Worker:
    """Handle on the worker process; restarts it whenever it is lost."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._context = multiprocessing.get_context("spawn")
        self._process: Optional[multiprocessing.process.BaseProcess] = None
        self._conn: Optional[multiprocessing.connection.Connection] = None
        self.prepared: list[str] = []
        self.radio_info: Optional[dict[str, Any]] = None
        self.radio_error: Optional[str] = None
        self.starts = 0
        #: seconds beyond a task's timeout before the worker counts as hung (tests shorten it)
        self.hang_margin_s = HANG_MARGIN_S
        self._stderr: Optional[StderrTail] = None

    @property
    def pid(self) -> Optional[int]:
        return self._process.pid if self._process else None

    def start(self) -> None:
        """Start a worker and wait until it has imported GNU Radio and compiled the flowgraphs."""
        parent, child = self._context.Pipe()
        stderr_read, stderr_write = self._context.Pipe(duplex=False)
        process = self._context.Process(target=_worker_main, args=(child, self.settings, os.getpid(), stderr_write),
                                        name="scos-gr-worker", daemon=True)
        process.start()
        child.close()
        stderr_write.close()
        self._stderr = StderrTail(stderr_read)
        self._process, self._conn = process, parent
        self.starts += 1
        if not parent.poll(WARM_UP_TIMEOUT_S):
            self._kill()
            raise WorkerFailure(f"worker did not warm up within {WARM_UP_TIMEOUT_S:g} s")
        try:
            hello: WorkerReady = parent.recv()
        except EOFError:
            self._kill()
            raise WorkerFailure("worker died while warming up") from None
        self.prepared = list(hello.prepared)
        self.radio_info = hello.radio
        self.radio_error = hello.radio_error
        if hello.warning:
            log.warning("worker warm-up: %s", hello.warning)
        log.info("worker %s ready (flowgraphs compiled: %s)", process.pid, ", ".join(self.prepared) or "none")

    def ensure_started(self) -> None:
        if self._process is None or not self._process.is_alive():
            if self._process is not None:
                log.warning("worker %s is gone (exit code %s); starting a new one", self._process.pid,
                            self._process.exitcode)
            self.start()

    def run(self, request: TaskRequest) -> TaskOutcome:
        """Run one task; a dead or hung worker becomes a failed outcome and a fresh worker."""
        self.ensure_started()
        assert self._conn is not None and self._process is not None
        timeout = request.timeout_s + self.hang_margin_s + max(0.0, request.start_at - time.time())
        assert self._stderr is not None
        self._stderr.mark()
        try:
            self._conn.send(request)
            if not self._conn.poll(timeout):
                pid = self._process.pid
                self._kill()
                return TaskOutcome(ok=False, error=f"worker {pid} hung: no answer within {timeout:g} s; killed and "
                                                   "restarted" + self._last_words())
            outcome: TaskOutcome = self._conn.recv()
        except (EOFError, BrokenPipeError, ConnectionResetError, OSError):
            self._process.join(2.0)
            code = self._process.exitcode
            pid = self._process.pid
            self._kill()
            reason = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
            return TaskOutcome(ok=False, error=f"worker {pid} crashed during the task ({reason}); restarted"
                                               + self._last_words())
        return outcome

    def _last_words(self) -> str:
        """What the lost worker wrote to stderr during the task, for the task's detail."""
        lines = self._stderr.since_mark() if self._stderr is not None else []
        return f"; its last words on stderr: {' | '.join(lines)}" if lines else "; it wrote nothing to stderr"

    def stop(self) -> None:
        if self._process is None:
            return
        try:
            if self._conn is not None:
                self._conn.send(_STOP)
            self._process.join(5.0)
        except (OSError, BrokenPipeError):
            pass
        self._kill()

    def _kill(self) -> None:
        process, conn = self._process, self._conn
        self._process, self._conn = None, None
        if process is not None and process.is_alive():
            process.kill()
            process.join(5.0)
        if conn is not None:
            conn.close()


