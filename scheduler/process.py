"""`scos-gr serve`'s scheduler: a process of its own beside the web server, kept running.

Why a process: in the web server's process the scheduler competed for the interpreter lock with
16 request threads. Under 50 API clients its runs started up to 160-320 ms late and some were
compressed away (bench/scheduler_under_load.py). In its own process nothing of the API's load
stands between it and the clock but the operating system's scheduler.

The operations contract is unchanged: ``scos-gr serve`` runs the whole sensor, ``--no-scheduler``
the API alone, ``scos-gr scheduler`` the scheduler alone, one per database (the heartbeat lock).
The child takes the lock before ``serve`` opens the API (another scheduler: ``serve`` exits 1),
dies with ``serve`` (a ``kill -9`` of ``serve`` leaves no scheduler behind, so its restart finds
the lock free), and is restarted by ``serve`` if it ever exits on its own, after 1, 2, 4 ... 60
seconds (reset after a minute of running): ``/status`` shows it dead meanwhile.
"""
from __future__ import annotations

import logging
import multiprocessing
import multiprocessing.connection
import os
import signal
import sys
import threading
import time
from typing import Optional

from scos_gr.config import Settings
from scos_gr.errors import SchedulerError
from scos_gr.scheduler.lifeline import die_with_parent

log = logging.getLogger(__name__)

#: seconds the child may take to start (import, open the store, take the lock)
START_TIMEOUT_S = 120.0
#: restart delays after the child exits: doubling from the first to the last
RESTART_DELAY_S = (1.0, 60.0)
#: a child that ran this long was healthy: the next restart waits the first delay again
HEALTHY_AFTER_S = 60.0
#: the child's name in ps/top (the worker is "scos-gr-worker")
PROCESS_NAME = "scos-gr-sched"


def set_process_name(name: str) -> None:
    """Linux: the name ``ps``, ``top`` and ``/proc/<pid>/comm`` show (15 characters at most)."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_NAME = 15
        libc.prctl(PR_SET_NAME, name.encode()[:15], 0, 0, 0)
    except (OSError, AttributeError):
        pass


def _child_main(settings: Settings, conn: multiprocessing.connection.Connection, parent_pid: int) -> None:
    """The scheduler process: take the lock, say so (or why not), then schedule until SIGTERM."""
    die_with_parent(parent_pid)
    set_process_name(PROCESS_NAME)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the whole group: serve stops us
    logging.basicConfig(level=getattr(logging, settings.log_level, logging.INFO),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    from scos_gr.scheduler import service

    try:
        service._prepare_store(settings)
        scheduler = service.Scheduler(settings)
        signal.signal(signal.SIGTERM, lambda *_: scheduler.stop())
        scheduler.acquire_lock()
    except service.SchedulerLockError as exc:
        conn.send(("refused", str(exc)))
        return
    except Exception as exc:
        log.exception("the scheduler could not start")
        conn.send(("failed", f"{type(exc).__name__}: {exc}"))
        return
    conn.send(("locked", os.getpid()))
    conn.close()
    scheduler.run()


class SchedulerProcess:
    """The scheduler child of ``serve``: :meth:`start` (raises what the child could not get past,
    ``SchedulerLockError`` when another scheduler holds the database), :meth:`stop`, :meth:`join`."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._context = multiprocessing.get_context("spawn")
        self._process: Optional[multiprocessing.process.BaseProcess] = None
        self._stopping = threading.Event()
        self._supervisor: Optional[threading.Thread] = None
        self.restarts = 0

    @property
    def pid(self) -> Optional[int]:
        return self._process.pid if self._process is not None else None

    def _spawn(self) -> None:
        """Start a child and wait until it holds the lock; raise what kept it from it."""
        from scos_gr.scheduler.service import SchedulerLockError

        ours, theirs = self._context.Pipe(duplex=False)
        process = self._context.Process(target=_child_main, args=(self.settings, theirs, os.getpid()),
                                        name=PROCESS_NAME, daemon=False)  # it has a child (the worker)
        process.start()
        theirs.close()
        try:
            if not ours.poll(START_TIMEOUT_S):
                process.kill()
                raise SchedulerError(f"the scheduler process did not start within {START_TIMEOUT_S:g} s")
            try:
                answer = ours.recv()
            except EOFError:
                process.join(5)
                raise SchedulerError(f"the scheduler process exited at start (exit code {process.exitcode}); "
                                     "its log is above") from None
        finally:
            ours.close()
        if answer[0] == "refused":
            process.join(10)
            raise SchedulerLockError(answer[1])
        if answer[0] == "failed":
            process.join(10)
            raise SchedulerError(f"the scheduler could not start: {answer[1]}")
        self._process = process

    def start(self) -> "SchedulerProcess":
        self._spawn()
        self._supervisor = threading.Thread(target=self._supervise, name="scheduler-supervisor", daemon=True)
        self._supervisor.start()
        return self

    def _supervise(self) -> None:
        delay = RESTART_DELAY_S[0]
        started = time.monotonic()
        while not self._stopping.is_set():
            process = self._process
            assert process is not None
            process.join()
            if self._stopping.is_set():
                return
            if time.monotonic() - started >= HEALTHY_AFTER_S:
                delay = RESTART_DELAY_S[0]
            if not isinstance(process, _Exited):
                code = process.exitcode
                how = f"signal {-code}" if code is not None and code < 0 else f"exit code {code}"
                log.error("the scheduler process %s stopped (%s); restarting it in %g s", process.pid, how, delay)
            if self._stopping.wait(delay):
                return
            delay = min(delay * 2, RESTART_DELAY_S[1])
            try:
                self._spawn()
            except Exception as exc:  # another scheduler took the database meanwhile, a start failure...
                log.error("the scheduler could not be restarted: %s", exc)
                self._process = _Exited()
                continue
            self.restarts += 1
            started = time.monotonic()
            log.warning("scheduler process restarted (pid %s)", self._process.pid)

    def stop(self) -> None:
        """Ask the child to finish its task and stop (it frees the lock and stops its worker)."""
        self._stopping.set()
        process = self._process
        if process is not None and process.is_alive():
            try:
                os.kill(process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass

    def join(self, timeout: float | None = None) -> None:
        process = self._process
        if process is not None:
            process.join(timeout)
            if process.is_alive():
                log.warning("the scheduler process %s did not stop within %s s; killing it", process.pid, timeout)
                process.kill()
                process.join(5)


class _Exited:
    """Stands for a child that could not be started: joins at once, so the supervisor retries."""

    pid = None
    exitcode = None

    def join(self, timeout: float | None = None) -> None:
        return None

    def is_alive(self) -> bool:
        return False
