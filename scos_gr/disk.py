"""The data filesystem as an operator sees it: how full, whether it can be written at all.

Read by ``/status`` (``disk`` and its ``disk`` faults) and by the scheduler (data retention and
the check before each task), so both say the same thing with the same numbers. Percentages are
``df``'s: used / (used + available to us), so blocks reserved for root count as full.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

#: below this many free bytes the filesystem is full: no recording fits any more
MIN_FREE_BYTES = 1 << 20


@dataclass(frozen=True)
class DiskUsage:
    used_bytes: int
    free_bytes: int
    read_only: bool

    @property
    def percent(self) -> float:
        total = self.used_bytes + self.free_bytes
        return 100.0 * self.used_bytes / total if total else 100.0

    @property
    def full(self) -> bool:
        return self.free_bytes < MIN_FREE_BYTES


def usage(path: Path) -> DiskUsage:
    """The filesystem holding ``path`` (``OSError`` if it cannot be asked)."""
    st = os.statvfs(path)
    used = (st.f_blocks - st.f_bfree) * st.f_frsize
    return DiskUsage(used_bytes=used, free_bytes=st.f_bavail * st.f_frsize, read_only=bool(st.f_flag & os.ST_RDONLY))


def fault_details(data_dir: Path) -> list[str]:
    """What is wrong with the data filesystem now (read-only, full), one sentence each."""
    try:
        now = usage(data_dir)
    except OSError as exc:
        return [f"the data directory {data_dir} cannot be examined: {exc.strerror or exc}"]
    problems = []
    if now.read_only:
        problems.append(f"the data filesystem ({data_dir}) is read-only: no recording, and no change to a "
                        "database kept there, can be written")
    if now.full:
        problems.append(f"the data filesystem ({data_dir}) is full: {now.free_bytes} bytes free, "
                        f"{now.percent:.0f}% used")
    return problems
