"""Concurrent writers: the store's read-then-write transactions wait their turn, and the API answers
racing requests with the spec's statuses (never a 500), on SQLite and PostgreSQL."""
from __future__ import annotations

import collections
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import peewee
import pytest

from scos_gr import store
from tests.live_server import LiveServer


def _race(transaction) -> list:
    """A reads, then B reads, then A writes and commits, then B writes (when the store lets them)."""
    with store.database.connection_context():
        owner, _ = store.User.create_with_token(f"u-{id(transaction)}-{threading.get_ident()}")
    a_read, b_read, a_done, errors = threading.Event(), threading.Event(), threading.Event(), []

    def a() -> None:
        try:
            with store.database.connection_context(), transaction():
                store.ScheduleEntry.select().count()
                a_read.set()
                b_read.wait(1)  # with BEGIN IMMEDIATE, B is still waiting for the lock: go on
                store.ScheduleEntry.create(name=f"a-{id(transaction)}", action="logger", start=0, owner=owner.id)
        except Exception as exc:  # noqa: BLE001 - the test reports what happened
            errors.append(exc)
        finally:
            a_done.set()

    def b() -> None:
        a_read.wait(5)
        try:
            with store.database.connection_context(), transaction():
                store.ScheduleEntry.select().count()  # a snapshot from before A's write
                b_read.set()
                a_done.wait(5)
                store.ScheduleEntry.create(name=f"b-{id(transaction)}", action="logger", start=0, owner=owner.id)
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=a), threading.Thread(target=b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    return errors


def test_write_transaction_waits_for_a_concurrent_writer_on_sqlite(sqlite_store):
    # the plain deferred transaction is what fails: this is the case write_transaction exists for
    errors = _race(store.database.atomic)
    assert len(errors) == 1 and isinstance(errors[0], peewee.OperationalError), errors
    assert "locked" in str(errors[0])
    assert _race(store.write_transaction) == []


@pytest.fixture(params=["sqlite", "postgresql"])
def live(request, tmp_path):
    url = request.getfixturevalue("pg_cluster").create_database() if request.param == "postgresql" else None
    with LiveServer(tmp_path / "data", scheduler=False, database_url=url) as server:
        yield server


def test_racing_creations_of_one_name_get_one_201_and_400s(live):
    statuses: collections.Counter = collections.Counter()
    with ThreadPoolExecutor(12) as pool:
        for trial in range(8):
            body = {"name": f"race-{trial}", "action": "logger", "start": 2_000_000_000}
            statuses.update(r.status for r in pool.map(lambda _: live.post("/api/v1/schedule/", body), range(12)))
    assert statuses == {201: 8, 400: 8 * 11}, statuses


def test_racing_patches_and_deletes_never_fail(live):
    for i in range(6):
        assert live.post("/api/v1/schedule/", {"name": f"p-{i}", "action": "logger", "interval": 5}).status == 201

    def work(k: int) -> int:
        name = f"p-{k % 6}"
        if k % 4 == 3:
            return live.request("DELETE", f"/api/v1/schedule/{name}/").status
        return live.request("PATCH", f"/api/v1/schedule/{name}/", {"interval": 1 + k % 9, "is_active": k % 2 == 0}).status

    with ThreadPoolExecutor(12) as pool:
        statuses = collections.Counter(pool.map(work, range(96)))
    assert set(statuses) <= {200, 204, 404}, statuses


def test_a_patch_never_writes_back_a_next_task_id_the_scheduler_changed_meanwhile(live):
    """The scheduler claims a task (next_task_id 1 -> 2) while a PATCH of the entry is in flight."""
    assert live.post("/api/v1/schedule/", {"name": "claimed", "action": "logger", "interval": 5}).status == 201
    store.init_store(live.env.get("DATABASE_URL") or f"sqlite:///{live.data_dir / 'scos.db'}")
    E = store.ScheduleEntry
    with ThreadPoolExecutor(1) as pool, store.database.connection_context():
        with store.write_transaction():  # the claim holds its transaction open a moment
            E.update(next_task_id=2).where(E.name == "claimed").execute()
            patch = pool.submit(live.request, "PATCH", "/api/v1/schedule/claimed/", {"priority": 3})
            time.sleep(0.5)  # the PATCH is now waiting for the claim to commit
            waited = not patch.done()
        assert patch.result(30).status == 200
    assert waited
    entry = live.get("/api/v1/schedule/claimed/").json()
    assert (entry["priority"], entry["next_task_id"]) == (3, 2)
