"""The scheduler end to end: `scos-gr serve` with its scheduler and the sim radio, driven over HTTP."""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import yaml
from sigmf import sigmffile

from scos_gr.scheduler.service import CLAIM_LEAD_S
from tests.flowgraphs.grc_factory import write_stock_flowgraph
from tests.live_server import LiveServer
from tests.ports import free_port
from tests.scheduler.procs import alive, scheduler_pids, worker_pids

ROOT = Path(__file__).resolve().parents[2]

API = "/api/v1"
TONE_BIN = 512 + round(1e6 / (15.36e6 / 1024))


def schedule(server, name, action="acquire700c", interval=1, stop=3, delay=1):
    r = server.post(f"{API}/schedule/", {"name": name, "action": action, "interval": interval,
                                         "start": int(time.time()) + delay, "relative_stop": True, "stop": stop})
    assert r.status == 201, r
    return r.json()


def wait_tasks(server, name, count, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = server.get(f"{API}/tasks/{name}/")
        if r.status == 200:
            done = [t for t in r.json() if t["status"] != "in-progress"]
            if len(done) >= count:
                return r.json()
        time.sleep(0.2)
    raise AssertionError(f"{name}: fewer than {count} tasks after {timeout} s; log:\n{server.log()[-3000:]}")


def integrated_tone_dbm(archive_path) -> float:
    rec = sigmffile.fromarchive(str(archive_path))
    data = rec.read_samples()
    mean = next(a for a in rec.get_annotations() if a["core:label"] == "mean")
    spectrum = data[mean["core:sample_start"]:][: mean["core:sample_count"]]
    return float(10 * np.log10((10 ** (spectrum[TONE_BIN - 5: TONE_BIN + 6] / 10)).sum()))


@pytest.fixture
def sensor(tmp_path):
    with LiveServer(tmp_path / "data") as server:
        server.wait_scheduler("idle")
        yield server


def test_three_runs_become_acquisitions_1_2_3_with_the_sim_tone(sensor, tmp_path):
    seen = set()
    stop_polling = threading.Event()

    def poll_status():
        while not stop_polling.is_set():
            seen.add(sensor.get(f"{API}/status").json()["scheduler"])

    poller = threading.Thread(target=poll_status)
    poller.start()
    entry = schedule(sensor, "c-block")
    queue = sensor.get(f"{API}/status").json()["task_queue"]
    assert [q["time"] for q in queue if q["schedule_entry"] == entry["url"]] == \
        [entry["start"], entry["start"] + 1, entry["start"] + 2]
    tasks = wait_tasks(sensor, "c-block", 3)
    time.sleep(1.5)  # a fourth run would have come by now
    stop_polling.set()
    poller.join()
    assert [(t["task_id"], t["status"]) for t in sensor.get(f"{API}/tasks/c-block/").json()] == \
        [(1, "success"), (2, "success"), (3, "success")], tasks
    assert [a["task_id"] for a in sensor.get(f"{API}/acquisitions/c-block/").json()] == [1, 2, 3]
    for task_id in (1, 2, 3):
        r = sensor.get(f"{API}/acquisitions/c-block/{task_id}/archive")
        path = tmp_path / f"c-block_{task_id}.sigmf"
        path.write_bytes(r.body)
        assert abs(integrated_tone_dbm(path) - (-40.0)) <= 0.1
    assert {"running", "idle"} <= seen, seen
    final = sensor.get(f"{API}/status").json()
    assert final["scheduler"] == "idle" and final["last_task"]["task_id"] == 3
    assert not any(q["schedule_entry"] == entry["url"] for q in final["task_queue"])
    e = sensor.get(f"{API}/schedule/c-block/").json()
    assert e["is_active"] is False and e["next_task_time"] is None and e["next_task_id"] == 4


def test_a_radio_failure_fails_task_2_only_and_leaves_no_file(tmp_path):
    with LiveServer(tmp_path / "data", env={"SCOS_RADIO": "sim,fail_every=2"}) as server:
        server.wait_scheduler("idle")
        schedule(server, "flaky")
        tasks = wait_tasks(server, "flaky", 3)
        assert [(t["task_id"], t["status"]) for t in tasks] == [(1, "success"), (2, "failure"), (3, "success")]
        assert "radio" in tasks[1]["detail"].lower() and tasks[1]["acquisition"] is None
        assert [a["task_id"] for a in server.get(f"{API}/acquisitions/flaky/").json()] == [1, 3]
        files = sorted(p.name for p in (server.data_dir / "acquisitions" / "flaky").iterdir())
        assert files == ["flaky_1.sigmf-data", "flaky_1.sigmf-meta", "flaky_3.sigmf-data", "flaky_3.sigmf-meta"]


def test_a_worker_killed_mid_task_fails_that_task_and_the_next_acquisition_succeeds(tmp_path):
    # the shipped acquire700c beside a stock flowgraph that runs ~4 s, long enough to be killed in
    catalogue = tmp_path / "catalogue"
    catalogue.mkdir()
    shutil.copy(ROOT / "flowgraphs" / "acquire700c.grc", catalogue)
    write_stock_flowgraph(catalogue / "slow.grc", "slow_fg", num_items="4000", throttled=True)
    shipped = yaml.safe_load((ROOT / "flowgraphs" / "actions.yml").read_text())["actions"]
    (catalogue / "actions.yml").write_text(yaml.safe_dump({"actions": {
        "acquire700c": shipped["acquire700c"],
        "slow": {"summary": "runs 4 s", "flowgraph": "slow.grc", "records": False}}}))
    with LiveServer(tmp_path / "data", env={"SCOS_ACTIONS": str(catalogue / "actions.yml")}) as server:
        server.wait_scheduler("idle")
        start = int(time.time()) + 1
        for name, action, at in (("victim", "slow", start), ("after-kill", "acquire700c", start + 1)):
            r = server.post(f"{API}/schedule/", {"name": name, "action": action, "start": at})
            assert r.status == 201, r
        deadline = time.monotonic() + 30
        while True:  # kill while the slow task runs
            status = server.get(f"{API}/status").json()
            if status["scheduler"] == "running" and status["current_task"]["schedule_entry"].endswith("/victim/"):
                break
            assert time.monotonic() < deadline, "the slow task never ran"
            time.sleep(0.05)
        workers = worker_pids(server.proc.pid)
        assert len(workers) == 1, "one worker process, a child of the server"
        os.kill(workers[0], signal.SIGKILL)
        [victim] = wait_tasks(server, "victim", 1)
        [after] = wait_tasks(server, "after-kill", 1)
        assert victim["status"] == "failure" and "crashed" in victim["detail"], victim
        assert victim["acquisition"] is None
        assert after["status"] == "success" and after["acquisition"], after
        new_workers = worker_pids(server.proc.pid)
        assert len(new_workers) == 1 and workers[0] not in new_workers
        assert server.get(f"{API}/status").json()["scheduler"] == "idle"


def test_kill_9_and_restart_continue_task_ids_and_keep_store_and_files_in_agreement(tmp_path):
    data = tmp_path / "data"
    server = LiveServer(data).start()
    server.wait_scheduler("idle")
    token = server.token
    schedule(server, "restart", interval=1, stop=60)
    wait_tasks(server, "restart", 3)
    [worker] = worker_pids(server.proc.pid)
    deadline = time.monotonic() + 10
    while True:  # kill -9 the server (only the server) while a task runs
        status = server.get(f"{API}/status").json()
        if status["scheduler"] == "running":
            break
        assert time.monotonic() < deadline, "never saw a task running"
    os.kill(server.proc.pid, signal.SIGKILL)
    killed_at = time.time()
    cut_task = status["current_task"]["task_id"]
    server.stop()
    deadline = time.monotonic() + 2
    while alive(worker) and time.monotonic() < deadline:
        time.sleep(0.05)
    # the orphaned worker dies with its parent: it must not hold the radio or write files later
    assert not alive(worker)
    time.sleep(3)  # down for several runs of the grid

    again = LiveServer(data)
    again.start()
    again.token = token  # the first-user token is printed only on the very first start
    try:
        again.wait_scheduler("idle")
        ready_at = time.time()
        time.sleep(3)
        tasks = again.get(f"{API}/tasks/restart/").json()
        ids = [t["task_id"] for t in tasks]
        assert ids == list(range(1, len(ids) + 1)), ids  # no gap, no repeat
        assert len([t for t in tasks if t["status"] == "success" and t["finished"]]) >= 4
        interrupted = [t for t in tasks if t["detail"].startswith("interrupted")]
        assert all(t["status"] == "failure" for t in interrupted)
        # the task cut by the kill is failed as interrupted (unless it was recorded in the last
        # instant between its commit and the "idle" beat)
        cut = tasks[cut_task - 1]
        assert (cut["status"], cut["detail"].split(":")[0]) == ("failure", "interrupted") or \
            (cut["status"] == "success" and cut["acquisition"]), cut
        # runs missed while the sensor was down are compressed, not queued up: the first run after
        # the restart is the latest one due then; none of the grid times in between ran
        cut_time = cut["scheduled_time"]
        assert cut_time <= killed_at + CLAIM_LEAD_S  # a task is claimed that little ahead of its time
        after = [t["scheduled_time"] for t in tasks if t["task_id"] > cut_task]
        assert after and after[0] >= int(ready_at) - 1 >= cut_time + 2, (cut_time, killed_at, ready_at, after)
        # the store and the files agree: every acquisition has both files, every file a row
        rows = {a["task_id"] for a in again.get(f"{API}/acquisitions/restart/").json()}
        files = {int(p.name.split("_")[-1].split(".")[0]) for p in (data / "acquisitions" / "restart").iterdir()}
        assert rows == files
        assert not [p for p in (data / "acquisitions" / "restart").iterdir() if p.name.startswith(".")]
        for task_id in rows:
            for ext in ("sigmf-meta", "sigmf-data"):
                assert (data / "acquisitions" / "restart" / f"restart_{task_id}.{ext}").is_file()
    finally:
        again.stop()


def test_fifty_concurrent_readers_while_acquisitions_run(sensor):
    # 2 s apart: on a loaded 2-core machine an acquisition can outlast 1 s, and the scheduler then
    # (rightly) compresses missed runs, so an exact count at 1 s spacing made this test flaky
    schedule(sensor, "busy", interval=2, stop=8)
    errors, count = [], [0]
    deadline = time.monotonic() + 8.5

    def reader(i):
        paths = [f"{API}/schedule/", f"{API}/status", f"{API}/acquisitions/", f"{API}/tasks/busy/"]
        while time.monotonic() < deadline:
            r = sensor.get(paths[i % len(paths)])
            count[0] += 1
            if r.status not in (200, 404):
                errors.append(r)
            i += 1

    with ThreadPoolExecutor(max_workers=50) as pool:
        list(pool.map(reader, range(50)))
    assert errors == []
    assert count[0] > 200
    finish = time.monotonic() + 60
    while time.monotonic() < finish:  # the last claim deactivates the entry; then its task ends
        tasks = sensor.get(f"{API}/tasks/busy/").json()
        if not sensor.get(f"{API}/schedule/busy/").json()["is_active"] and \
                all(t["status"] != "in-progress" for t in tasks):
            break
        time.sleep(0.2)
    assert len(tasks) >= 3, tasks
    ids = [t["task_id"] for t in tasks]
    assert ids == list(range(1, len(ids) + 1)), ids  # compression may skip a time, never an id
    assert [t["status"] for t in tasks] == ["success"] * len(tasks), tasks
    assert [a["task_id"] for a in sensor.get(f"{API}/acquisitions/busy/").json()] == ids


def test_serve_without_scheduler_beside_scos_gr_scheduler_and_only_one_scheduler(tmp_path):
    with LiveServer(tmp_path / "data", scheduler=False) as server:
        assert server.get(f"{API}/status").json()["scheduler"] == "dead"
        scos_gr = str(server.proc.args[0])
        scheduler = subprocess.Popen([scos_gr, "scheduler"], env=dict(server.env), stdout=subprocess.DEVNULL,
                                     stderr=open(tmp_path / "scheduler.log", "w"))
        try:
            server.wait_scheduler("idle")
            [worker] = worker_pids(scheduler.pid)
            second = subprocess.run([scos_gr, "scheduler"], capture_output=True, text=True, env=dict(server.env),
                                    timeout=60)
            assert second.returncode == 1
            assert "another scheduler is running" in second.stdout + second.stderr
            # `serve` with its scheduler is refused too, before it opens its port
            env = {**server.env, "SCOS_PORT": str(free_port())}
            serve = subprocess.run([scos_gr, "serve"], capture_output=True, text=True, env=env, timeout=60)
            assert serve.returncode == 1 and "another scheduler is running" in serve.stderr
            assert "serving" not in serve.stdout
            schedule(server, "split", stop=2)
            tasks = wait_tasks(server, "split", 2)
            assert [(t["task_id"], t["status"]) for t in tasks] == [(1, "success"), (2, "success")]
            assert [a["task_id"] for a in server.get(f"{API}/acquisitions/split/").json()] == [1, 2]
        finally:
            scheduler.send_signal(signal.SIGTERM)
            assert scheduler.wait(30) == 0
        # a cleanly stopped scheduler frees its lock and shows as dead at once
        assert server.get(f"{API}/status").json()["scheduler"] == "dead"
        with pytest.raises(ProcessLookupError):
            os.kill(worker, 0)  # its worker stopped with it


def test_an_entry_whose_task_runs_cannot_be_deleted_so_its_name_never_inherits_the_recording(tmp_path):
    # opening the sim radio takes 2 s, so the task runs long enough to try
    with LiveServer(tmp_path / "data", env={"SCOS_RADIO": "sim,open_delay=2"}) as sensor:
        sensor.wait_scheduler("idle")
        user = sensor.create_user("next-owner")
        r = sensor.post(f"{API}/schedule/", {"name": "doomed", "action": "acquire700c", "is_private": True,
                                             "start": int(time.time()) + 1})
        assert r.status == 201, r
        deadline = time.monotonic() + 30
        while (sensor.get(f"{API}/status").json().get("current_task") or {}).get("task_id") != 1:
            assert time.monotonic() < deadline, "the task never ran"
            time.sleep(0.05)
        r = sensor.request("DELETE", f"{API}/schedule/doomed/")
        assert r.status == 409, r
        assert r.json() == {"detail": "a task of this entry is running; try again when it has finished"}
        assert sensor.get(f"{API}/schedule/doomed/").status == 200
        [task] = wait_tasks(sensor, "doomed", 1)
        assert task["status"] == "success" and task["acquisition"], task
        r = sensor.request("DELETE", f"{API}/schedule/doomed/")  # now its recording protects it
        assert r.status == 400 and r.json()["protected_objects"], r
        assert sensor.request("DELETE", f"{API}/acquisitions/doomed/").status == 204
        assert sensor.request("DELETE", f"{API}/schedule/doomed/").status == 204
        # the name is free again, and whoever takes it gets nothing of the old entry
        r = sensor.post(f"{API}/schedule/", {"name": "doomed", "action": "logger", "start": int(time.time()) + 3600},
                        token=user)
        assert r.status == 201, r
        assert sensor.get(f"{API}/acquisitions/doomed/", token=user).status == 404
        assert sensor.get(f"{API}/tasks/doomed/", token=user).json() == []
        assert sensor.get(f"{API}/acquisitions/doomed/1/archive", token=user).status == 404
        assert sensor.get(f"{API}/schedule/doomed/", token=user).json()["next_task_id"] == 1


def test_serve_runs_its_scheduler_in_a_process_of_its_own_and_restarts_it_if_it_dies(sensor):
    """Under API load a scheduler thread shared the web server's interpreter lock (runs late or
    compressed: bench/scheduler_under_load.py); serve's scheduler is a child process, restarted
    when it stops."""
    [first] = scheduler_pids(sensor.proc.pid)
    assert worker_pids(first) and worker_pids(first) == worker_pids(sensor.proc.pid)  # the worker is its child
    schedule(sensor, "on", interval=1, stop=60)
    wait_tasks(sensor, "on", 2)
    os.kill(first, signal.SIGKILL)
    killed_at = time.time()
    deadline = time.monotonic() + 60
    while True:
        now_running = scheduler_pids(sensor.proc.pid)
        if now_running and now_running[0] != first and sensor.get(f"{API}/status").json()["scheduler"] == "idle":
            break
        assert time.monotonic() < deadline, sensor.log()[-3000:]
        time.sleep(0.2)
    deadline = time.monotonic() + 30
    while not [t for t in sensor.get(f"{API}/tasks/on/").json()
               if t["status"] == "success" and t["scheduled_time"] > killed_at + 1]:
        assert time.monotonic() < deadline, "no run after the restart"
        time.sleep(0.2)
    tasks = sensor.get(f"{API}/tasks/on/").json()
    assert [t["task_id"] for t in tasks] == list(range(1, len(tasks) + 1))
    assert all(t["status"] == "success" or t["detail"].startswith("interrupted") for t in tasks
               if t["status"] != "in-progress"), tasks
    assert "restarting it in 1 s" in sensor.log()
    [second] = scheduler_pids(sensor.proc.pid)
    [worker] = worker_pids(second)
    sensor.stop()  # SIGTERM: serve stops its scheduler, which stops its worker
    assert sensor.proc.returncode == 0
    assert not alive(second) and not alive(worker)


def test_the_scheduler_on_postgresql(tmp_path, pg_cluster):
    url = pg_cluster.create_database()
    with LiveServer(tmp_path / "data", database_url=url) as server:
        server.wait_scheduler("idle")
        schedule(server, "pg-block", stop=2)
        tasks = wait_tasks(server, "pg-block", 2)
        assert [(t["task_id"], t["status"]) for t in tasks] == [(1, "success"), (2, "success")]
        archive = server.get(f"{API}/acquisitions/pg-block/2/archive")
        (tmp_path / "pg.sigmf").write_bytes(archive.body)
        assert abs(integrated_tone_dbm(tmp_path / "pg.sigmf") - (-40.0)) <= 0.1
        proc = subprocess.run([str(server.proc.args[0]), "scheduler"], capture_output=True, text=True,
                              env=dict(server.env), timeout=60)
        assert proc.returncode == 1 and "another scheduler is running" in proc.stdout + proc.stderr
