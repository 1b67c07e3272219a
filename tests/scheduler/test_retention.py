"""Data retention on a real small filesystem: the oldest recordings go first, files then row,
the task rows stay marked; a recording being downloaded is never removed."""
from __future__ import annotations

import dataclasses

from scos_gr import disk, store
from scos_gr.config import load_settings
from scos_gr.scheduler import retention
from scos_gr.sigmf_out.archive import ArchiveMember, ArchiveStream
from tests.api.helpers import add_acquisition
from tests.mounts import fill, small_filesystem

MiB = 1 << 20


def test_the_oldest_go_first_except_one_being_downloaded(tmp_path):
    with small_filesystem(tmp_path / "fs", 16 * MiB) as fs:
        settings = load_settings({"SCOS_DATA_DIR": str(fs / "data")})
        settings.data_dir.mkdir()
        store.init_store(settings.database_url)
        with store.database.connection_context():
            owner = store.User.create(name="o", token_hash="1" * 64)
            store.ScheduleEntry.create(name="e", action="acquire700c", start=0, owner=owner)
        rows = [add_acquisition(settings.data_dir, "e", task_id, fft_size=16384) for task_id in range(1, 7)]
        assert disk.usage(fs).percent < 50
        fill(fs, leave=int(disk.usage(fs).free_bytes - 6 * MiB))  # leaves room for none of them under the limit
        limit = disk.usage(fs).percent - 1  # just under what is used now: two or three must go
        settings = dataclasses.replace(settings, max_disk_usage_percent=limit)
        oldest = rows[0]
        downloading = ArchiveStream([ArchiveMember("e_1", settings.data_dir / oldest.meta_path,
                                                   settings.data_dir / oldest.data_path)])
        try:
            result = retention.enforce(settings)
        finally:
            downloading.close()
        removed = [task_id for _, task_id in result.removed]
        assert removed and 1 not in removed and removed == list(range(2, 2 + len(removed)))
        assert not result.over_limit and result.usage.percent <= limit
        with store.database.connection_context():
            left = [a.task_id for a in store.Acquisition.select().order_by(store.Acquisition.task_id)]
            marks = {t.task_id: t.retention for t in store.Task.select()}
        assert left == [1] + list(range(2 + len(removed), 7))
        assert all(marks[t] == store.RETENTION_REMOVED for t in removed)
        assert all(marks[t] is None for t in left)
        for task_id in removed:
            assert not list((settings.data_dir / "acquisitions" / "e").glob(f"e_{task_id}.*"))
        assert (settings.data_dir / oldest.data_path).exists()


def test_nothing_left_to_remove_is_over_the_limit(tmp_path):
    with small_filesystem(tmp_path / "fs", 8 * MiB) as fs:
        settings = load_settings({"SCOS_DATA_DIR": str(fs / "data"), "SCOS_MAX_DISK_USAGE": "10"})
        settings.data_dir.mkdir()
        store.init_store(settings.database_url)
        fill(fs, leave=2 * MiB)
        result = retention.enforce(settings)
        assert result.removed == [] and result.over_limit
