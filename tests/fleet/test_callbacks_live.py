"""Callbacks end to end: `scos-gr serve` with the simulated radio POSTs each task's JSON to a real
receiver; failed tries are retried, a stuck receiver never delays a task, and pending deliveries
survive a kill -9 (spec "Callbacks")."""
from __future__ import annotations

import calendar
import time

import pytest

from tests.fleet.receiver import CallbackReceiver
from tests.live_server import LiveServer
from tests.ports import free_port

API = "/api/v1"
pytestmark = pytest.mark.slow


def _wait_callback(server: LiveServer, entry: str, task_id: int, state: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = server.get(f"{API}/tasks/{entry}/{task_id}/").json()
        if task.get("callback") == state:
            return task
        time.sleep(0.1)
    raise AssertionError(f"{entry}/{task_id}: callback never {state}: {task}")


def test_every_task_is_posted_to_the_callback_url_and_failed_tries_are_retried(tmp_path):
    with CallbackReceiver(fail_first=2) as receiver, \
            LiveServer(tmp_path / "data", env={"SCOS_CALLBACK_TOKEN": "manager-secret",
                                               "SCOS_PUBLIC_URL": "https://sensor-a.example"}) as server:
        server.wait_scheduler()
        r = server.post(f"{API}/schedule/", {"name": "cb", "action": "acquire700c", "interval": 2,
                                             "relative_stop": True, "stop": 4, "callback_url": receiver.url("/results")})
        assert r.status == 201 and r.json()["callback_url"] == receiver.url("/results"), r
        assert server.post(f"{API}/schedule/", {"name": "quiet", "action": "logger"}).status == 201
        delivered = receiver.wait_for(2, timeout=60)
        tasks = [_wait_callback(server, "cb", task_id, "delivered") for task_id in (1, 2)]
        quiet = server.wait_tasks("quiet", 1)[0]

    assert [a.status for a in receiver.attempts].count(503) == 2
    assert sum(t["callback_attempts"] for t in tasks) == 4
    assert tasks[0]["callback_error"] == "HTTP 503 Service Unavailable"  # the first task's tries failed
    assert quiet["callback"] is None and quiet["callback_error"] is None  # no callback_url, no delivery
    bodies = sorted((d.json() for d in delivered), key=lambda b: b["task_id"])
    for body, task, received in zip(bodies, tasks, sorted(delivered, key=lambda d: d.json()["task_id"])):
        assert received.path == "/results"
        assert received.headers["authorization"] == "Token manager-secret"
        assert received.headers["content-type"] == "application/json"
        # the task's JSON as GET shows it, its links made from SCOS_PUBLIC_URL
        assert body["status"] == "success" and body["callback"] == "pending"
        assert body["url"] == f"https://sensor-a.example{API}/tasks/cb/{body['task_id']}/"
        assert body["acquisition"] == f"https://sensor-a.example{API}/acquisitions/cb/{body['task_id']}/"
        local = {k: v.replace(server.url(""), "https://sensor-a.example") if isinstance(v, str) else v
                 for k, v in task.items()}
        changing = {"callback", "callback_attempts", "callback_error"}
        assert {k: v for k, v in body.items() if k not in changing} == \
               {k: v for k, v in local.items() if k not in changing}


def test_a_stuck_receiver_never_delays_a_task(tmp_path):
    """Every delivery takes the receiver 8 s to answer; the tasks of a 1 s entry still run on time."""
    with CallbackReceiver(hang_s=8) as receiver, LiveServer(tmp_path / "data") as server:
        server.wait_scheduler()
        start = int(time.time()) + 2
        r = server.post(f"{API}/schedule/", {"name": "fast", "action": "logger", "start": start, "interval": 1,
                                             "stop": start + 5, "callback_url": receiver.url()})
        assert r.status == 201, r
        tasks = server.wait_tasks("fast", 5, timeout=30)
        assert len(receiver.accepted) <= 1, "the deliveries were not all stuck while the tasks ran"
        assert [t["scheduled_time"] for t in tasks] == list(range(start, start + 5))  # none compressed
        for task in tasks:
            started = calendar.timegm(time.strptime(task["started"][:19], "%Y-%m-%dT%H:%M:%S")) \
                + int(task["started"][20:23]) / 1000
            assert started - task["scheduled_time"] < 0.9, task
        assert {t["callback"] for t in tasks} == {"pending"}


def test_pending_deliveries_survive_a_kill_and_arrive_after_the_restart(tmp_path):
    port = free_port()
    first = LiveServer(tmp_path / "data").start()
    try:
        first.wait_scheduler()
        r = first.post(f"{API}/schedule/", {"name": "once", "action": "logger",
                                            "callback_url": f"http://127.0.0.1:{port}/in"})
        assert r.status == 201, r
        first.wait_tasks("once", 1)
        deadline = time.monotonic() + 20
        while (task := first.get(f"{API}/tasks/once/1/").json())["callback_attempts"] < 1:
            assert time.monotonic() < deadline, task
            time.sleep(0.1)
        assert task["callback"] == "pending" and "refused" in task["callback_error"], task
        first.kill9()
    finally:
        first.stop()
    with CallbackReceiver(port=port) as receiver:
        again = LiveServer(tmp_path / "data")
        again.port = first.port
        again.env["SCOS_PORT"] = str(first.port)
        with again:
            again.token = first.token
            received = receiver.wait_for(1, timeout=60)
            assert received[0].json()["url"].endswith("/tasks/once/1/")
            task = _wait_callback(again, "once", 1, "delivered")
    assert task["callback_attempts"] >= 2
