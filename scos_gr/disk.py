"""The data filesystem as an operator sees it: how full, whether it can be written at all; and
:func:`replace_atomically`, the one way a small file is written whole or not at all.

Read by ``/status`` (``disk`` and its ``disk`` faults) and by the scheduler (data retention and
the check before each task), so both say the same thing with the same numbers. Percentages are
``df``'s: used / (used + available to us), so blocks reserved for root count as full.
"""
from __future__ import annotations

import os
import tempfile
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


def replace_atomically(path: Path | str, data: bytes, *, durable: bool) -> None:
    """Write ``data`` as ``path``, whole or not at all: into a hidden temp file in the same folder
    (``.{name}.*.tmp``, removed on any failure), then renamed over ``path``.

    ``durable``: fsync the file before the rename and the folder after it, so the new content
    survives a power loss (the onboard calibration); a cache that can be made again skips both.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    if durable:
        directory = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
