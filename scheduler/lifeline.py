"""A child process of the sensor dies with its parent: the scheduler with ``serve``, the worker
with the scheduler.

A ``kill -9`` (or a power cut) of the parent skips every clean-up; an orphan would hold the
radio, or the database's scheduler lock, and could write a recording after the next start-up's
recovery. On Linux the kernel sends the child SIGKILL when its parent goes (PR_SET_PDEATHSIG);
elsewhere this is a no-op (a pipe's EOF still ends an idle child).
"""
from __future__ import annotations

import os
import signal


def die_with_parent(parent_pid: int) -> None:
    """Have the kernel SIGKILL this process when the thread that started it dies; exit at once if
    the parent (``parent_pid``) is already gone."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_PDEATHSIG = 1
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent_pid:  # the parent died before prctl took effect
        os._exit(1)
