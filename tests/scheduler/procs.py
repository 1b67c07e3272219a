"""Process helpers for the scheduler tests: which processes are workers or schedulers, and is a pid alive."""
from __future__ import annotations

import subprocess
from pathlib import Path


def alive(pid: int | str) -> bool:
    """True unless the process is gone or a zombie (an orphan waits for init to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _children(parent: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True).stdout.split()
    return [int(pid) for pid in out]


def _name(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except FileNotFoundError:
        return ""


def worker_pids(parent: int) -> list[int]:
    """The worker processes below ``parent`` (``scos-gr serve`` or ``scos-gr scheduler``): the
    worker names itself ``scos-gr-worker``; under ``serve`` it is the scheduler process's child."""
    found, todo = [], _children(parent)
    while todo:
        pid = todo.pop()
        if _name(pid) == "scos-gr-worker":
            found.append(pid)
        else:
            todo.extend(_children(pid))
    return sorted(found)


def scheduler_pids(parent: int) -> list[int]:
    """The scheduler process of ``scos-gr serve`` (``scos-gr-sched``)."""
    return [pid for pid in _children(parent) if _name(pid) == "scos-gr-sched"]
