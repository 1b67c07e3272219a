"""A sensor nobody watches, on real faults: a full or read-only data filesystem (a real small
tmpfs made by the test), a database locked or gone. What an operator expects: the API answers
503 with the cause (``/status`` answers all along and names the fault), tasks fail with the
reason, no run vanishes, and everything recovers by itself when the fault is over; data
retention keeps the disk under SCOS_MAX_DISK_USAGE by removing the oldest recordings.
"""
from __future__ import annotations

import os
import sqlite3
import time


from scos_gr import store
from tests.live_server import LiveServer
from tests.mounts import fill, remount, small_filesystem

API = "/api/v1"
MiB = 1 << 20


def schedule(server, name, action="acquire700c", interval=1, **fields):
    r = server.post(f"{API}/schedule/", {"name": name, "action": action, "interval": interval,
                                         "start": int(time.time()) + 1, **fields})
    assert r.status == 201, r
    return r.json()


def tasks(server, name):
    return server.get(f"{API}/tasks/{name}/").json()


def wait_for(predicate, timeout=60.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def faults(server, kind=None):
    listed = server.get(f"{API}/status").json()["faults"]
    return [f["detail"] for f in listed if kind is None or f["kind"] == kind]


def assert_no_run_vanished(listed):
    done = [t for t in listed if t["status"] != "in-progress"]
    assert [t["task_id"] for t in done] == list(range(1, len(done) + 1))
    times = [t["scheduled_time"] for t in done]
    assert times == list(range(times[0], times[0] + len(times))), times  # every second has its task


def test_a_full_data_disk(tmp_path):
    """Before: every endpoint (status too) answered 500; with 40 KB free the scheduler stopped
    silently, no task failed, its log repeating "cannot rollback"."""
    with small_filesystem(tmp_path / "fs", 24 * MiB) as fs:
        with LiveServer(fs / "data", env={"SCOS_MAX_DISK_USAGE": "100"}, log_dir=tmp_path) as server:
            server.wait_scheduler("idle")
            schedule(server, "steady")
            wait_for(lambda: len([t for t in tasks(server, "steady") if t["status"] == "success"]) >= 2, 60, "runs")

            # under 1 MiB free the disk is full for recordings (a recording's metadata row alone, NTIA v2,
            # is some 10 KB): the tasks are refused before they write, with room left for their rows
            filler = fill(fs, leave=600_000)
            full_at = time.time()
            failed = wait_for(lambda: [t for t in tasks(server, "steady") if t["status"] == "failure"], 30,
                              "a task failing on the full disk")
            assert "disk full" in failed[0]["detail"] and "nothing was written" in failed[0]["detail"], failed[0]
            assert [d for d in faults(server, "disk") if "is full" in d]

            fill(fs, leave=40_000)  # 40 KB free: the scheduler stopped silently here; now it says why
            wait_for(lambda: [d for d in faults(server) if "is full" in d], 15, "the fault named")

            fill(fs, leave=0)  # nothing free: not even the database can write
            status = server.get(f"{API}/status")
            assert status.status == 200 and [d for d in status.json()["faults"] if "is full" in d["detail"]]
            assert server.get(f"{API}/schedule/").status == 200  # reads go on
            r = server.post(f"{API}/schedule/", {"name": "refused", "action": "logger"})
            assert r.status == 503, r
            assert r.json()["detail"].startswith("disk full") and int(r.headers["retry-after"]) > 0
            time.sleep(3)

            filler.unlink()  # space returns
            freed_at = time.time()
            wait_for(lambda: [t for t in tasks(server, "steady") if t["status"] == "success"
                              and t["scheduled_time"] > freed_at + 1], 60, "a run after the space returned")
            deadline = time.monotonic() + 15
            while faults(server) and time.monotonic() < deadline:
                time.sleep(0.5)
            assert faults(server) == []
            assert server.post(f"{API}/schedule/", {"name": "accepted", "action": "logger"}).status == 201
            listed = tasks(server, "steady")
            assert_no_run_vanished(listed)
            while_full = [t for t in listed if full_at + 2 <= t["scheduled_time"] <= freed_at - 1]
            assert while_full and all(t["status"] == "failure" and "disk full" in t["detail"] for t in while_full), \
                [(t["scheduled_time"], t["status"], t["detail"][:80]) for t in while_full]
            assert "cannot rollback" not in server.log()


def test_data_retention_removes_the_oldest_recordings_and_keeps_their_task_rows(tmp_path):
    # 100 ms of IQ at 15.36 MS/s is 12.3 MB: on 128 MiB with a 40 % limit, a quarter used by
    # something else, one or two recordings fit
    with small_filesystem(tmp_path / "fs", 128 * MiB) as fs:
        with LiveServer(fs / "data", env={"SCOS_MAX_DISK_USAGE": "40"}, log_dir=tmp_path) as server:
            server.wait_scheduler("idle")
            foreign = fill(fs, leave=96 * MiB, name="foreign")
            schedule(server, "kept", action="acquire_iq_751MHz", interval=2)
            wait_for(lambda: len([t for t in tasks(server, "kept") if t["retention"] == "removed"]) >= 3, 90,
                     "retention removing recordings")
            listed = [t for t in tasks(server, "kept") if t["status"] != "in-progress"]
            assert all(t["status"] == "success" for t in listed), [t["detail"] for t in listed if t["status"] != "success"]
            removed = [t["task_id"] for t in listed if t["retention"] == "removed"]
            kept = [a["task_id"] for a in server.get(f"{API}/acquisitions/kept/").json()]
            assert removed == list(range(1, len(removed) + 1))  # the oldest went, in order
            assert kept and min(kept) > max(removed)
            assert all(t["acquisition"] is None for t in listed if t["retention"] == "removed")
            assert all(t["acquisition"] for t in listed if t["task_id"] in kept)
            st = os.statvfs(fs)
            percent = 100 * (st.f_blocks - st.f_bfree) / (st.f_blocks - st.f_bfree + st.f_bavail)
            assert percent <= 40 + 100 * 13 / 128, percent  # the limit, plus the recording made after the check

            # something else grows past the limit by itself (by 24 MiB, whatever the recordings
            # written meanwhile): every recording goes, then tasks say so
            with open(foreign, "ab") as f:
                f.write(bytes(24 * MiB))
            failing = wait_for(lambda: [t for t in tasks(server, "kept") if t["status"] == "failure"], 30,
                               "a task failing above the limit")
            assert "above SCOS_MAX_DISK_USAGE=40%, and no recording is left to remove" in failing[0]["detail"], \
                failing[0]["detail"]
            assert server.get(f"{API}/acquisitions/kept/").status == 404  # every recording was removed first
            assert [d for d in faults(server, "disk") if "no recording is left to remove" in d]
            schedule(server, "notes", action="logger", stop=int(time.time()) + 4)
            wait_for(lambda: [t for t in tasks(server, "notes") if t["status"] == "success"], 30,
                     "a logger task, which writes no recording, running all the same")
            foreign.unlink()
            back = time.time()
            wait_for(lambda: [t for t in tasks(server, "kept") if t["status"] == "success"
                              and t["scheduled_time"] > back + 2], 30, "recordings again")
            wait_for(lambda: not faults(server, "disk"), 15, "the disk fault gone")
            done = [t for t in tasks(server, "kept") if t["status"] != "in-progress"]
            assert [t["task_id"] for t in done] == list(range(1, len(done) + 1))
            assert [t["scheduled_time"] for t in done] == list(range(done[0]["scheduled_time"],
                                                                     done[-1]["scheduled_time"] + 1, 2))


def test_a_read_only_data_filesystem_with_the_database_on_postgresql(tmp_path, pg_cluster):
    url = pg_cluster.create_database()
    with small_filesystem(tmp_path / "fs", 24 * MiB) as fs:
        with LiveServer(fs / "data", database_url=url, log_dir=tmp_path) as server:
            server.wait_scheduler("idle")
            schedule(server, "ro")
            wait_for(lambda: [t for t in tasks(server, "ro") if t["status"] == "success"], 60, "a recording")
            remount(fs, "ro")
            try:
                at = time.time()
                failed = wait_for(lambda: [t for t in tasks(server, "ro") if t["status"] == "failure"
                                           and t["scheduled_time"] > at + 1], 30, "a task failing read-only")
                assert "read-only filesystem" in failed[0]["detail"], failed[0]["detail"]
                assert [d for d in faults(server, "disk") if "read-only" in d]
                assert server.get(f"{API}/acquisitions/ro/1/archive").status == 200  # recordings still served
                assert server.post(f"{API}/schedule/", {"name": "pg-ok", "action": "logger"}).status == 201
            finally:
                remount(fs, "rw")
            back = time.time()
            wait_for(lambda: [t for t in tasks(server, "ro") if t["status"] == "success"
                              and t["scheduled_time"] > back + 1], 30, "recordings again")
            wait_for(lambda: not faults(server, "disk"), 15, "the disk fault gone")
            assert_no_run_vanished(tasks(server, "ro"))


def test_a_locked_sqlite_database_is_503_with_the_cause_and_status_names_it(tmp_path):
    with LiveServer(tmp_path / "data", scheduler=False) as server:
        assert server.get(f"{API}/status").status == 200
        locker = sqlite3.connect(tmp_path / "data" / "scos.db", isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        try:
            started = time.monotonic()
            r = server.post(f"{API}/schedule/", {"name": "waits", "action": "logger"})
            waited = time.monotonic() - started
            assert r.status == 503, r
            assert r.json()["detail"].startswith("the database is locked") and r.headers["retry-after"]
            assert store.LOCK_WAIT_S - 1 < waited < store.LOCK_WAIT_S + 10
            status = server.get(f"{API}/status")  # reads go on in WAL mode
            assert status.status == 200
            assert [f for f in status.json()["faults"] if f["kind"] == "database" and "locked" in f["detail"]]
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        assert server.post(f"{API}/schedule/", {"name": "waits", "action": "logger"}).status == 201


def test_postgresql_going_away_and_coming_back(tmp_path):
    """The database server stops (a restart, a crash): /status answers and names it, every
    other request is 503 with the cause; the runs due meanwhile are recorded as not run when it
    is back, and the sensor carries on by itself."""
    from tests.pgcluster import PostgresCluster

    cluster = PostgresCluster().start()
    try:
        url = cluster.create_database()
        with LiveServer(tmp_path / "data", database_url=url) as server:
            server.wait_scheduler("idle")
            schedule(server, "pg", action="logger")
            wait_for(lambda: len(tasks(server, "pg")) >= 2, 30, "runs")
            cluster.stop_server()
            down_at = time.time()
            try:
                status = server.get(f"{API}/status")
                assert status.status == 200, status
                body = status.json()
                assert body["scheduler"] == "dead" and "database cannot be read" in body["scheduler_detail"]
                assert [f for f in body["faults"] if f["kind"] == "database"], body["faults"]
                r = server.get(f"{API}/schedule/")
                assert r.status == 503 and r.json()["detail"].startswith("the database is unavailable"), r
                assert r.headers["retry-after"]
                time.sleep(4)
            finally:
                cluster.start_server()
            up_at = time.time()
            wait_for(lambda: server.get(f"{API}/schedule/").status == 200 or None, 30, "the API back")
            wait_for(lambda: [t for t in tasks(server, "pg") if t["status"] == "success"
                              and t["scheduled_time"] > up_at + 1], 60, "runs after the database came back")
            listed = tasks(server, "pg")
            assert_no_run_vanished(listed)
            missed = [t for t in listed if down_at + 1 <= t["scheduled_time"] <= up_at - 1]
            assert missed and all(t["status"] == "failure" and t["detail"].startswith("not run: ") for t in missed)
    finally:
        cluster.stop()


def test_status_names_a_missing_scheduler_and_a_failed_radio(tmp_path):
    with LiveServer(tmp_path / "data", scheduler=False) as server:
        assert faults(server, "scheduler") == ["no scheduler is running for this database"]
        store.init_store(f"sqlite:///{tmp_path / 'data' / 'scos.db'}")
        with store.database.connection_context():
            store.SchedulerState.get_or_create(id=1, defaults={"state": "stopped"})
            store.SchedulerState.update(radio_healthy=False, radio_detail="radio error: rtl=0 is not there").execute()
        assert faults(server, "radio") == ["radio error: rtl=0 is not there"]
