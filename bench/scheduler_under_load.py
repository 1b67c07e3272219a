"""Scheduling under API load: does every run of a 1 s entry happen, on time, while 50 clients
hammer the API? On SQLite and on PostgreSQL, in one run.

For each database a real `scos-gr serve` (API and scheduler, as `make run` starts them) on
loopback; an entry runs acquire700c (sim radio) every second for 30 s while 50 client threads,
each on its own keep-alive connection, send `GET /api/v1/schedule/`, `/status` and
`/tasks/{entry}/` back to back. Afterwards the task log says which runs happened and when each
started (its `started`: when its flowgraph started) against its due time (`scheduled_time`).
The API gives `started` in milliseconds, truncated: a run started within its due time's first
millisecond counts as 0.0 ms late.

Figures per database: runs done / due, start lateness (started - due) p50/p99/max, API latency
p50/p99 and requests per second. Last line (both databases together: runs summed, the worse
p99s): `runs=<done>/<due> start_p99_ms=<x> api_p99_ms=<y>`. Goal (design notes): every run
happens and starts within 100 ms p99.
``SCOS_BENCH_LOAD_S`` (default 30) and ``SCOS_BENCH_CLIENTS`` (default 50) shorten it (the test
of this bench does).
"""
from __future__ import annotations

import datetime as dt
import http.client
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.live_server import LiveServer  # noqa: E402
from tests.pgcluster import PostgresCluster  # noqa: E402

LOAD_S = int(float(os.environ.get("SCOS_BENCH_LOAD_S", "30")))
CLIENTS = int(os.environ.get("SCOS_BENCH_CLIENTS", "50"))
ENTRY = "under-load"


def _epoch(iso: str) -> float:
    return dt.datetime.strptime(iso, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=dt.timezone.utc).timestamp()


def _client(port: int, token: str, until: float, latencies: list[float], errors: list[str]) -> None:
    headers = {"Authorization": f"Token {token}"}
    paths = ["/api/v1/schedule/", "/api/v1/status", f"/api/v1/tasks/{ENTRY}/"]
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    i = 0
    while time.time() < until:
        path = paths[i % len(paths)]
        i += 1
        t0 = time.perf_counter()
        try:
            conn.request("GET", path, headers=headers)
            resp = conn.getresponse()
            resp.read()
        except (OSError, http.client.HTTPException) as exc:
            errors.append(f"{path}: {exc!r}")
            conn.close()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            continue
        latencies.append((time.perf_counter() - t0) * 1000)
        if resp.status != 200:
            errors.append(f"{path}: HTTP {resp.status}")
    conn.close()


def measure(name: str, server: LiveServer) -> dict[str, object]:
    server.wait_scheduler("idle")
    start = int(time.time()) + 3
    stop = start + LOAD_S
    r = server.post("/api/v1/schedule/", {"name": ENTRY, "action": "acquire700c", "start": start,
                                          "interval": 1, "stop": stop})
    assert r.status == 201, r
    latencies: list[float] = []
    errors: list[str] = []
    until = stop + 1
    threads = [threading.Thread(target=_client, args=(server.port, server.token, until, latencies, errors),
                                daemon=True) for _ in range(CLIENTS)]
    load_started = time.time()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    load_s = time.time() - load_started
    deadline = time.time() + 30
    while time.time() < deadline:  # the last run finishes
        tasks = server.get(f"/api/v1/tasks/{ENTRY}/").json()
        if tasks and all(t["status"] != "in-progress" for t in tasks) and max(t["scheduled_time"] for t in tasks) >= stop - 1:
            break
        time.sleep(0.5)
    tasks = server.get(f"/api/v1/tasks/{ENTRY}/").json()
    due = LOAD_S
    done = len({t["scheduled_time"] for t in tasks if t["status"] == "success"})
    late = [(_epoch(t["started"]) - t["scheduled_time"]) * 1000 for t in tasks]
    failed = [t["detail"] for t in tasks if t["status"] != "success"]
    lat = np.array(latencies) if latencies else np.array([float("nan")])
    result = {
        "done": done, "due": due,
        "start_p50": float(np.percentile(late, 50)) if late else float("nan"),
        "start_p99": float(np.percentile(late, 99)) if late else float("nan"),
        "start_max": max(late) if late else float("nan"),
        "api_p50": float(np.percentile(lat, 50)), "api_p99": float(np.percentile(lat, 99)),
        "rps": len(latencies) / load_s,
    }
    print(f"{name}: runs {done}/{due} (failed: {len(failed)}{', e.g. ' + failed[0] if failed else ''}); "
          f"start lateness p50 {result['start_p50']:.1f} ms, p99 {result['start_p99']:.1f} ms, "
          f"max {result['start_max']:.1f} ms")
    print(f"{name}: API under load ({CLIENTS} clients): {len(latencies)} requests, {result['rps']:.0f}/s, "
          f"p50 {result['api_p50']:.1f} ms, p99 {result['api_p99']:.1f} ms, errors {len(errors)}"
          + (f" (e.g. {errors[0]})" if errors else ""))
    return result


def main() -> None:
    print(f"load: {CLIENTS} clients for {LOAD_S} s; one acquire700c run due every second")
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        with LiveServer(Path(tmp) / "sqlite" / "data") as server:
            results.append(measure("sqlite", server))
        cluster = PostgresCluster().start()
        try:
            url = cluster.create_database()
            with LiveServer(Path(tmp) / "pg" / "data", database_url=url) as server:
                results.append(measure("postgresql", server))
        finally:
            cluster.stop()
    done = sum(int(r["done"]) for r in results)
    due = sum(int(r["due"]) for r in results)
    start_p99 = max(float(r["start_p99"]) for r in results)
    api_p99 = max(float(r["api_p99"]) for r in results)
    print(f"runs={done}/{due} start_p99_ms={start_p99:.1f} api_p99_ms={api_p99:.1f}")


if __name__ == "__main__":
    main()
