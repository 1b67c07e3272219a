"""What the fleet features cost: a /metrics scrape, empty store vs a year-old one, and the
bookkeeping a recorded task now carries (the totals' upsert and a callback's queue row).

Phase 1 times `GET /metrics` (admin token, one keep-alive client) on an empty store; phase 2
after adding 10,000 acquisitions, 10,000 tasks and 10,000 delivered callbacks plus 100 pending
ones (the scrape counts and sums them: it must not slow down with the store's size the way a
scan of the task log would). Then, on SQLite in this process, the per-task bookkeeping:
`tally.record_task` and `callbacks.enqueue` in one transaction, as the scheduler runs them.
Last line: `ratio=<scrape p99 at 10k / p99 empty> scrape_p99_ms=<at 10k> bookkeeping_p99_ms=<...>`.
"""
from __future__ import annotations

import http.client
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scos_gr import store, tally  # noqa: E402
from scos_gr.scheduler.callbacks import enqueue  # noqa: E402
from tests.live_server import LiveServer  # noqa: E402

REQUESTS = 200
WARMUP = 20
ROWS = 10_000


def scrape_ms(server: LiveServer) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    out = []
    for i in range(WARMUP + REQUESTS):
        t0 = time.perf_counter()
        conn.request("GET", "/metrics", headers={"Authorization": f"Token {server.token}"})
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200, resp.status
        if i >= WARMUP:
            out.append((time.perf_counter() - t0) * 1000)
    conn.close()
    return out


def fill(count: int) -> None:
    now = time.time()
    with store.database.atomic():
        for start in range(0, count, 500):
            ids = range(start + 1, min(count, start + 500) + 1)
            store.Acquisition.insert_many([dict(entry_name="old", task_id=t, meta_path=f"a/old_{t}.sigmf-meta",
                                                data_path=f"a/old_{t}.sigmf-data", data_bytes=20480, sha512="0" * 128,
                                                sigmf_metadata={"global": {}}) for t in ids]).execute()
            store.Task.insert_many([dict(entry_name="old", task_id=t, action="acquire700c", status="success",
                                         duration_s=0.3) for t in ids]).execute()
        tasks = [t.id for t in store.Task.select(store.Task.id)]
        for start in range(0, len(tasks), 500):
            store.CallbackDelivery.insert_many([dict(task=t, url="http://m/", payload={}, state="delivered",
                                                     attempts=1, next_attempt=now, created=now)
                                                for t in tasks[start:start + 500]]).execute()
        store.CallbackDelivery.insert_many([dict(url="http://m/", payload={}, state="pending", attempts=3,
                                                 next_attempt=now + 60, created=now - 100) for _ in range(100)]).execute()
        for _ in range(50):
            tally.record_task("acquire700c", "success", 0.3, 0.25)


def bookkeeping_ms(folder: Path) -> list[float]:
    store.init_store(f"sqlite:///{folder / 'bookkeeping.db'}")
    out = []
    with store.database.connection_context():
        for task_id in range(1, 301):
            task = store.Task.create(entry_name="e", task_id=task_id, action="acquire700c", status="success",
                                     duration_s=0.3)
            t0 = time.perf_counter()
            with store.database.atomic():
                tally.record_task("acquire700c", "success", 0.3, 0.25, [{"global": {"scos-gr:dropped_samples": 0},
                                                                       "captures": [{}]}])
                enqueue(task, "http://manager.example/results", {"task_id": task_id, "status": "success"})
            out.append((time.perf_counter() - t0) * 1000)
    return out[20:]


def p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        with LiveServer(data, scheduler=False) as server:
            empty = scrape_ms(server)
            store.init_store(f"sqlite:///{data / 'scos.db'}")
            with store.database.connection_context():
                fill(ROWS)
            full = scrape_ms(server)
        book = bookkeeping_ms(Path(tmp))
    print(f"GET /metrics, empty store:  p50 {p(empty, 50):.2f} ms, p99 {p(empty, 99):.2f} ms")
    print(f"GET /metrics, {ROWS} acquisitions/tasks/callbacks: p50 {p(full, 50):.2f} ms, p99 {p(full, 99):.2f} ms")
    print(f"per-task bookkeeping (totals upsert + callback row, SQLite): p50 {p(book, 50):.3f} ms, "
          f"p99 {p(book, 99):.3f} ms")
    print(f"ratio={p(full, 99) / p(empty, 99):.2f} scrape_p99_ms={p(full, 99):.2f} bookkeeping_p99_ms={p(book, 99):.3f}")


if __name__ == "__main__":
    main()
