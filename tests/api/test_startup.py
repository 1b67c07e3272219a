"""What `scos-gr serve` does at start-up: the first user's token, and migrating an older schema.

Both on SQLite and on the throwaway PostgreSQL cluster, through a real server process.
"""
from __future__ import annotations

import time

import pytest

from scos_gr import store
from tests.live_server import LiveServer

API = "/api/v1"


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request, tmp_path):
    if request.param == "postgresql":
        return request.getfixturevalue("pg_cluster").create_database()
    return f"sqlite:///{tmp_path / 'data' / 'scos.db'}"


def test_the_first_start_prints_an_admin_token_once(tmp_path, database_url):
    with LiveServer(tmp_path / "data", scheduler=False, database_url=database_url) as first:
        token = first.token
        assert token and len(token) >= 40  # >= 160 bits of hex
        me = first.get(f"{API}/users/me/").json()
        assert me["name"] == "admin" and me["is_admin"] is True
    with LiveServer(tmp_path / "data", scheduler=False, database_url=database_url) as again:
        assert again.token is None  # no new user, nothing printed
        assert again.get(f"{API}/users/me/", token=token).json()["name"] == "admin"
        assert len(again.get(f"{API}/users/", token=token).json()) == 1


def test_start_up_adds_missing_columns_without_losing_rows(tmp_path, database_url):
    """A database from an older scos-gr (columns missing) is migrated when the server starts."""
    db = store.init_store(database_url)
    with db.connection_context():
        owner, token = store.User.create_with_token("admin", is_admin=True)
        store.ScheduleEntry.create(name="old", action="logger", start=2_000_000_000, interval=60, owner=owner,
                                   next_task_time=2_000_000_000, next_task_id=5)
        store.Task.create(entry_name="old", task_id=4, action="logger", status=store.TASK_SUCCESS,
                          finished=store.utcnow(), duration_s=0.5)
        for table, column in (("scheduleentry", "is_private"), ("task", "scheduled_time"),
                              ("schedulerstate", "radio_min_frequency")):
            db.execute_sql(f"ALTER TABLE {table} DROP COLUMN {column}")
        assert "is_private" not in {c.name for c in db.get_columns("scheduleentry")}
    db.close()

    with LiveServer(tmp_path / "data", scheduler=False, database_url=database_url) as server:
        assert server.token is None  # the users survived: no first-user token
        entry = server.get(f"{API}/schedule/old/", token=token).json()
        assert (entry["next_task_time"], entry["next_task_id"], entry["interval"]) == (2_000_000_000, 5, 60)
        assert entry["is_private"] is False  # the added column took its default on the old row
        task = server.get(f"{API}/tasks/old/4/", token=token).json()
        assert task["status"] == "success" and task["scheduled_time"] is None
        assert server.get(f"{API}/capabilities/", token=token).status == 200
        # and the migrated table is writable as a current one
        r = server.post(f"{API}/schedule/", {"name": "new", "action": "logger", "start": int(time.time()) + 60,
                                             "is_private": True}, token=token)
        assert r.status == 201 and r.json()["is_private"] is True

    db = store.init_store(database_url)
    with db.connection_context():
        for table, column in (("scheduleentry", "is_private"), ("task", "scheduled_time"),
                              ("schedulerstate", "radio_min_frequency")):
            assert column in {c.name for c in db.get_columns(table)}
        assert store.ScheduleEntry.select().count() == 2
    db.close()
