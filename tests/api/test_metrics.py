"""GET /metrics (ext): who may read it, and what it says after real tasks (sim radio)."""
from __future__ import annotations

import time

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.live_server import LiveServer
from tests.ports import free_port

API = "/api/v1"
METRICS_TOKEN = "prometheus-reads-this"
pytestmark = pytest.mark.slow


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict, name: str, **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    # every second acquisition fails with a radio error: a failure to count
    server = LiveServer(tmp_path_factory.mktemp("metrics") / "data",
                        env={"SCOS_METRICS_TOKEN": METRICS_TOKEN, "SCOS_RADIO": "sim,fail_every=2"}).start()
    server.wait_scheduler()
    start = int(time.time()) + 1
    assert server.post(f"{API}/schedule/", {"name": "c", "action": "acquire700c", "start": start, "interval": 1,
                                            "stop": start + 2}).status == 201
    assert server.post(f"{API}/schedule/", {"name": "log", "action": "logger",
                                            "callback_url": f"http://127.0.0.1:{free_port()}/down"}).status == 201
    assert server.post(f"{API}/schedule/", {"name": "later", "action": "logger", "start": start + 3600}).status == 201
    server.wait_tasks("c", 2)
    server.wait_tasks("log", 1)
    yield server
    server.stop()


def scrape(live: LiveServer, token: str | None = None, scheme: str = "Token"):
    return live.get("/metrics", token=None, headers={"Authorization": f"{scheme} {token or live.token}"})


@pytest.mark.parametrize("scheme", ["Token", "Bearer"])
def test_an_admin_or_the_metrics_token_may_read_it(live, scheme):
    for token in (live.token, METRICS_TOKEN):
        r = scrape(live, token, scheme)
        assert r.status == 200, r
        assert r.headers["content-type"].startswith("text/plain; version=0.0.4")


def test_no_one_else_may(live):
    assert live.get("/metrics", token=None).status == 401
    assert scrape(live, "not-a-token").status == 401
    user = live.create_user("reader")
    r = scrape(live, user)
    assert r.status == 403 and r.json()["detail"].startswith("You do not have permission"), r
    # the metrics token opens /metrics and nothing else
    assert live.get(f"{API}/status", token=METRICS_TOKEN).status == 401


def test_tasks_durations_scheduler_queue_disk_and_callbacks_are_counted(live):
    found = samples(scrape(live).body.decode())
    assert value(found, "scos_tasks_total", action="acquire700c", status="success") == 1
    assert value(found, "scos_tasks_total", action="acquire700c", status="failure") == 1
    assert value(found, "scos_tasks_total", action="logger", status="success") == 1
    assert value(found, "scos_task_duration_seconds_count", action="acquire700c") == 2
    assert value(found, "scos_task_duration_seconds_bucket", action="acquire700c", le="+Inf") == 2
    assert 0 < value(found, "scos_task_duration_seconds_sum", action="acquire700c") < 60
    assert value(found, "scos_capture_duration_seconds_count", action="acquire700c") == 1  # the successful one
    assert value(found, "scos_dropped_samples_total", action="acquire700c") == 0
    assert value(found, "scos_overloads_total", action="acquire700c") == 0
    assert value(found, "scos_scheduler_state", state="idle") + value(found, "scos_scheduler_state", state="running") == 1
    assert value(found, "scos_scheduler_state", state="dead") == 0
    assert value(found, "scos_scheduler_heartbeat_age_seconds") < 5
    assert value(found, "scos_radio_healthy") in (0, 1)
    assert value(found, "scos_task_queue_length") == 0  # "later" is an hour away: outside the window /status shows
    assert value(found, "scos_recordings") == 1 and value(found, "scos_recordings_bytes") > 0
    assert value(found, "scos_disk_free_bytes") > 0 and value(found, "scos_disk_size_bytes") > value(found, "scos_disk_free_bytes")
    assert value(found, "scos_callbacks", state="pending") == 1  # its receiver is down: the backlog
    assert value(found, "scos_callback_oldest_pending_seconds") > 0
    assert value(found, "scos_faults", kind="catalogue") == 0
    assert value(found, "process_resident_memory_bytes") > 0  # the web process's own


def test_counters_never_go_down_when_the_task_log_and_recordings_are_deleted(live):
    before = samples(scrape(live).body.decode())
    assert live.request("DELETE", f"{API}/acquisitions/c/").status == 204
    assert live.request("DELETE", f"{API}/schedule/c/").status == 204
    assert live.get(f"{API}/tasks/c/").status == 404
    after = samples(scrape(live).body.decode())
    assert value(after, "scos_recordings") == 0
    for key, counted in before.items():
        if key[0].startswith("scos_") and key[0].endswith(("_total", "_count", "_bucket", "_sum")):
            assert after[key] == counted, key
