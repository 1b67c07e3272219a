"""Archives do not trust the data directory (fix): a symbolic link planted as a recording's file
is never followed, a FIFO never blocks a thread, a truncated, grown or corrupted file is never
served as the recording. Each is a clear 410 naming the file and the reason, and a ``disk`` fault
in ``/status`` until the acquisition is deleted or its file is whole again.
"""
from __future__ import annotations

import os
import shutil
import threading
import time
import uuid

import pytest

from scos_gr import store
from tests.api.helpers import add_acquisition
from tests.live_server import LiveServer

API = "/api/v1"
SECRET = b"root:$6$not-for-clients$:19000:0:99999:7:::\n"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    data = tmp_path_factory.mktemp("trust") / "data"
    server = LiveServer(data, scheduler=False).start()
    server.database_url = f"sqlite:///{data / 'scos.db'}"
    server.outside = tmp_path_factory.mktemp("outside")
    (server.outside / "shadow").write_bytes(SECRET)
    yield server
    server.stop()


@pytest.fixture
def recording(live):
    """A fresh acquisition (entry, task 1) made as the scheduler makes one; its two paths."""
    store.init_store(live.database_url)
    entry = "t-" + uuid.uuid4().hex[:8]
    with store.database.connection_context():
        owner = store.User.get(store.User.name == "admin")
        store.ScheduleEntry.create(name=entry, action="acquire700c", start=0, owner=owner)
    row = add_acquisition(live.data_dir, entry, 1)
    return entry, live.data_dir / row.meta_path, live.data_dir / row.data_path


def disk_faults(live) -> list[str]:
    return [f["detail"] for f in live.get(f"{API}/status").json()["faults"] if f["kind"] == "disk"]


def assert_refused(live, entry, *words):
    for path in (f"{API}/acquisitions/{entry}/1/archive", f"{API}/acquisitions/{entry}/archive",
                 f"{API}/acquisitions/{entry}/1/spectrum"):
        r = live.get(path)
        assert r.status == 410, (path, r)
        assert r.headers["content-type"] == "application/json"
        assert SECRET not in r.body
        detail = r.json()["detail"]
        assert detail.startswith("recording damaged: ") and all(w in detail for w in words), detail
    faults = [f for f in disk_faults(live) if f.startswith(f"acquisition {entry}/1 is damaged")]
    assert len(faults) == 1 and all(w in faults[0] for w in words), disk_faults(live)


def test_a_whole_recording_is_served(live, recording):
    entry, meta, data = recording
    r = live.get(f"{API}/acquisitions/{entry}/1/archive")
    assert r.status == 200 and data.read_bytes() in r.body
    assert not [f for f in disk_faults(live) if entry in f]


def test_a_symbolic_link_planted_as_the_data_file_is_not_followed(live, recording):
    entry, meta, data = recording
    data.unlink()
    data.symlink_to(live.outside / "shadow")
    assert_refused(live, entry, data.name, "symbolic link")


def test_a_symbolic_link_planted_as_the_metadata_file_is_not_followed(live, recording):
    entry, meta, data = recording
    meta.unlink()
    meta.symlink_to(live.outside / "shadow")
    assert_refused(live, entry, meta.name, "symbolic link")


def test_a_symbolic_link_planted_as_the_entry_directory_is_not_followed(live, recording):
    entry, meta, data = recording
    elsewhere = live.outside / entry
    shutil.copytree(meta.parent, elsewhere)
    shutil.rmtree(meta.parent)
    meta.parent.symlink_to(elsewhere)
    assert_refused(live, entry, "symbolic link")
    # deleting the acquisition removes its row and leaves the files it points at alone
    assert live.request("DELETE", f"{API}/acquisitions/{entry}/1/").status == 204
    assert sorted(p.name for p in elsewhere.iterdir()) == sorted([meta.name, data.name])
    assert not [f for f in disk_faults(live) if entry in f]


def test_a_fifo_planted_as_the_data_file_never_blocks_a_thread(live, recording):
    entry, meta, data = recording
    data.unlink()
    os.mkfifo(data)
    answers = []

    def download():
        answers.append(live.get(f"{API}/acquisitions/{entry}/1/archive").status)

    threads = [threading.Thread(target=download) for _ in range(24)]  # more than the server's 16 threads
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert answers == [410] * 24
    started = time.monotonic()
    assert live.get(f"{API}/status").status == 200 and time.monotonic() - started < 10
    assert_refused(live, entry, data.name, "FIFO")


@pytest.mark.parametrize("damage, words", [
    (lambda p: p.write_bytes(p.read_bytes()[:-4]), ("truncated",)),
    (lambda p: p.write_bytes(p.read_bytes() + b"\0" * 4), ("grown",)),
    (lambda p: p.write_bytes(bytes([p.read_bytes()[0] ^ 0xFF]) + p.read_bytes()[1:]), ("corrupted", "SHA-512")),
])
def test_a_truncated_grown_or_corrupted_data_file_is_not_served(live, recording, damage, words):
    entry, meta, data = recording
    whole = data.read_bytes()
    damage(data)
    assert_refused(live, entry, data.name, *words)
    data.write_bytes(whole)  # mended: served again, and the fault is over
    assert live.get(f"{API}/acquisitions/{entry}/1/archive").status == 200
    assert not [f for f in disk_faults(live) if entry in f]


def test_a_changed_metadata_file_is_not_served(live, recording):
    entry, meta, data = recording
    meta.write_text(meta.read_text().replace('"core:sample_rate"', '"core:sample_rate_x"'))
    assert_refused(live, entry, meta.name, "differs")


def test_a_users_status_does_not_name_a_private_entrys_damaged_recording(live, recording):
    entry, meta, data = recording
    with store.database.connection_context():
        store.ScheduleEntry.update(is_private=True).where(store.ScheduleEntry.name == entry).execute()
    data.write_bytes(b"")
    assert live.get(f"{API}/acquisitions/{entry}/1/archive").status == 410
    user = live.create_user("u" + uuid.uuid4().hex[:6])
    seen = [f["detail"] for f in live.get(f"{API}/status", token=user).json()["faults"]]
    assert not [d for d in seen if entry in d]
    assert [d for d in disk_faults(live) if entry in d]
