"""Process helpers for the scheduler tests: which children are workers, and is a pid alive."""
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


def worker_pids(parent: int) -> list[int]:
    """The spawn-started worker processes of ``parent`` (not multiprocessing's resource tracker)."""
    children = subprocess.run(["pgrep", "-P", str(parent)], capture_output=True, text=True).stdout.split()
    pids = []
    for pid in children:
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except FileNotFoundError:
            continue
        if b"spawn_main" in cmdline:
            pids.append(int(pid))
    return pids
