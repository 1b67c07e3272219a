"""API latency with an empty store and with 10,000 acquisitions, in one run.

A `scos-gr serve --no-scheduler` process on loopback; one keep-alive client times
`GET /api/v1/schedule/` and `GET /api/v1/acquisitions/{e}/` (entry `e` holds 10 acquisitions in
both phases). Phase 1: five entries, only `e` has acquisitions. Phase 2: the same entries plus
10,000 acquisitions spread over the four others (the store grows, the lists asked for do not):
what must not happen is a list slowing down with the size of the store.
Last line: `ratio=<p99 at 10k / p99 empty> p99_ms=<p99 at 10k>` (the worse of the two endpoints).
"""
from __future__ import annotations

import http.client
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scos_gr import store  # noqa: E402
from tests.live_server import LiveServer  # noqa: E402

REQUESTS = 400
WARMUP = 50


def timings(server: LiveServer, path: str) -> list[float]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = {"Authorization": f"Token {server.token}"}
    out = []
    for i in range(WARMUP + REQUESTS):
        t0 = time.perf_counter()
        conn.request("GET", path, headers=headers)
        resp = conn.getresponse()
        resp.read()
        assert resp.status == 200, (path, resp.status)
        if i >= WARMUP:
            out.append((time.perf_counter() - t0) * 1000)
    conn.close()
    return out


def add_rows(entry: str, task_ids: range) -> None:
    with store.database.atomic():
        rows = [dict(entry_name=entry, task_id=t, meta_path=f"acquisitions/{entry}/{entry}_{t}.sigmf-meta",
                     data_path=f"acquisitions/{entry}/{entry}_{t}.sigmf-data", data_bytes=20480, sha512="0" * 128,
                     sigmf_metadata={"global": {"core:datatype": "rf32_le"}, "captures": [], "annotations": []})
                for t in task_ids]
        for i in range(0, len(rows), 500):
            store.Acquisition.insert_many(rows[i:i + 500]).execute()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "data"
        with LiveServer(data, scheduler=False) as server:
            store.init_store(f"sqlite:///{data / 'scos.db'}")
            with store.database.connection_context():
                owner = store.User.get(store.User.name == "admin")
                for name in ["e", "other1", "other2", "other3", "other4"]:
                    store.ScheduleEntry.create(name=name, action="logger", start=0, interval=60, owner=owner,
                                               is_active=False)
                add_rows("e", range(1, 11))
            paths = {"schedule": "/api/v1/schedule/", "acquisitions": "/api/v1/acquisitions/e/"}
            empty = {k: timings(server, p) for k, p in paths.items()}
            with store.database.connection_context():
                for i in range(4):
                    add_rows(f"other{i + 1}", range(1, 2501))
                assert store.Acquisition.select().count() == 10_010
            full = {k: timings(server, p) for k, p in paths.items()}
    ratios = {}
    for key in paths:
        e50, e99 = np.percentile(empty[key], [50, 99], method="nearest")
        f50, f99 = np.percentile(full[key], [50, 99], method="nearest")
        ratios[key] = (f99 / e99, f99)
        print(f"GET {paths[key]:28s} empty: p50 {e50:6.2f} ms p99 {e99:6.2f} ms | 10k acquisitions: "
              f"p50 {f50:6.2f} ms p99 {f99:6.2f} ms | p99 ratio {f99 / e99:.2f} "
              f"(mean {statistics.mean(full[key]):.2f} ms)")
    worst = max(ratios.values())
    print(f"ratio={worst[0]:.2f} p99_ms={worst[1]:.2f}")


if __name__ == "__main__":
    main()
