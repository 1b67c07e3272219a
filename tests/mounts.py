"""Small real filesystems for the fault tests: a tmpfs of a given size mounted by the test, filled
on purpose, remounted read-only. Tests that need one are skipped, with the reason, where the
kernel refuses to mount (no root, no CAP_SYS_ADMIN); everywhere else they run.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time
from pathlib import Path
from typing import Iterator

import pytest


@contextlib.contextmanager
def small_filesystem(path: Path, size_bytes: int) -> Iterator[Path]:
    """A tmpfs of ``size_bytes`` mounted on ``path`` for the duration of the block."""
    if shutil.which("mount") is None:
        pytest.skip("no mount command: cannot make the small filesystem this test needs")
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_bytes},mode=0755", "tmpfs", str(path)],
                          capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"mounting a tmpfs is not permitted here ({done.stderr.strip() or done.returncode}); "
                    "this test needs root or CAP_SYS_ADMIN")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def remount(path: Path, mode: str, attempts: int = 50) -> None:
    """Remount ``path`` ``ro`` or ``rw`` (a file open for writing makes ``ro`` busy: retried)."""
    for _ in range(attempts):
        done = subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], capture_output=True, text=True)
        if done.returncode == 0:
            return
        time.sleep(0.1)
    raise AssertionError(f"cannot remount {path} {mode}: {done.stderr}")


def free_bytes(path: Path) -> int:
    st = os.statvfs(path)
    return st.f_bavail * st.f_frsize


def fill(path: Path, leave: int = 0, name: str = "filler") -> Path:
    """Grow the file ``name`` on ``path``'s filesystem until about ``leave`` bytes stay free."""
    filler = path / name
    with open(filler, "ab") as f:
        while free_bytes(path) > leave:
            step = max(4096, min(1 << 20, free_bytes(path) - leave))
            try:
                f.write(b"\0" * step)
                f.flush()
            except OSError:
                break
    return filler
