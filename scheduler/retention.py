"""Data retention (spec): keep the data filesystem under ``SCOS_MAX_DISK_USAGE`` percent by
removing the oldest recordings, so an unattended sensor keeps measuring instead of filling its
disk and stopping.

Run by the scheduler before each task. While the filesystem is fuller than the limit, the oldest
acquisition (by creation, any entry) goes: its files first (that is what frees the space, and a
database on the same full disk may need it to write), then its row; its task row stays, marked
``retention: removed``. A recording being downloaded is left alone (an archive holds its data
file share-locked; this takes the lock exclusively, without waiting, or skips the recording).
Removal never follows a symbolic link out of the data directory.
"""
from __future__ import annotations

import errno
import fcntl
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from scos_gr import disk, store
from scos_gr.config import Settings
from scos_gr.sigmf_out.archive import DamagedRecording
from scos_gr.sigmf_out.writer import remove_recording

log = logging.getLogger(__name__)

#: oldest acquisitions read per query while removing
BATCH = 50


@dataclass
class Retention:
    """What one pass did: recordings removed (entry, task id), and the filesystem afterwards."""

    removed: list[tuple[str, int]] = field(default_factory=list)
    usage: Optional[disk.DiskUsage] = None
    limit_percent: float = 100.0

    @property
    def over_limit(self) -> bool:
        """Still above the limit: nothing (removable) was left."""
        return self.usage is not None and self.usage.percent > self.limit_percent


def _lock_exclusively(path: Path) -> Optional[int]:
    """An open descriptor of ``path`` holding an exclusive lock, None when there is no file to
    lock (missing, or a symbolic link: nothing to protect); ``BlockingIOError`` when someone
    holds it (a download)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ENOENT, errno.ELOOP, errno.ENOTDIR):
            return None
        raise
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _remove(settings: Settings, row: store.Acquisition) -> bool:
    """Remove one acquisition (files, row; its task row marked); False if it is being downloaded."""
    data_dir = settings.data_dir
    try:
        fd = _lock_exclusively(data_dir / row.data_path)
    except BlockingIOError:
        return False
    try:
        try:
            remove_recording(data_dir / row.meta_path, data_dir / row.data_path, data_dir)
        except DamagedRecording as exc:  # planted below a symlinked directory: the row goes, no file elsewhere
            log.warning("retention: acquisition %s/%s: %s", row.entry_name, row.task_id, exc)
        with store.database.connection_context(), store.database.atomic():
            store.Acquisition.delete().where(store.Acquisition.id == row.id).execute()
            store.Task.update(retention=store.RETENTION_REMOVED).where(
                (store.Task.entry_name == row.entry_name) & (store.Task.task_id == row.task_id)).execute()
    finally:
        if fd is not None:
            os.close(fd)
    return True


def enforce(settings: Settings) -> Retention:
    """Remove the oldest recordings while the data filesystem is above the limit (see the module)."""
    limit = settings.max_disk_usage_percent
    result = Retention(usage=disk.usage(settings.data_dir), limit_percent=limit)
    skipped: set[int] = set()  # being downloaded
    A = store.Acquisition
    while result.over_limit:
        with store.database.connection_context():
            query = A.select(A.id, A.entry_name, A.task_id, A.meta_path, A.data_path).order_by(A.created, A.id)
            if skipped:
                query = query.where(A.id.not_in(list(skipped)))
            oldest = list(query.limit(BATCH))
        if not oldest:
            break
        for row in oldest:
            if _remove(settings, row):
                result.removed.append((row.entry_name, row.task_id))
            else:
                skipped.add(row.id)
            result.usage = disk.usage(settings.data_dir)
            if not result.over_limit:
                break
    if result.removed:
        log.warning("retention: the data filesystem was above SCOS_MAX_DISK_USAGE=%g%%: removed %d oldest "
                    "recording(s) (%s); now %.1f%% used", limit, len(result.removed),
                    ", ".join(f"{e}/{t}" for e, t in result.removed[:10]) + (" ..." if len(result.removed) > 10 else ""),
                    result.usage.percent if result.usage else float("nan"))
    return result
