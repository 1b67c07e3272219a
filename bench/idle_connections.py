"""Idle connections: how fast `/status` answers a new client while many sockets sit idle.

A `scos-gr serve --no-scheduler` on loopback. Baseline: `GET /api/v1/status` on a new connection
each time, 20 times, nothing else open. Then 500 connections are opened and left idle (half of
them send one header line of a request they never finish, and another line a little later, as a
slow client trickles them), and the same 20 requests are timed again; then with 1900 (just under
the server's 2000 slots). Goal (spec, Limits): with 500 such connections `/status` answers in
under a second. Last line: `idle=500 status_max_ms=<x> status_p50_ms=<y> baseline_p50_ms=<z>`.
``SCOS_BENCH_IDLE`` (default "500,1900") sets the counts.
"""
from __future__ import annotations

import http.client
import os
import resource
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.live_server import LiveServer  # noqa: E402

REQUESTS = 20
COUNTS = [int(n) for n in os.environ.get("SCOS_BENCH_IDLE", "500,1900").split(",")]


def status_times(server: LiveServer) -> list[float]:
    out = []
    for _ in range(REQUESTS):
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        conn.request("GET", "/api/v1/status", headers={"Authorization": f"Token {server.token}"})
        response = conn.getresponse()
        response.read()
        conn.close()
        assert response.status == 200, response.status
        out.append((time.perf_counter() - started) * 1000)
    return out


def main() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    first = None
    with tempfile.TemporaryDirectory() as tmp, LiveServer(Path(tmp) / "data", scheduler=False) as server:
        base = status_times(server)
        print(f"no idle connection: /status p50 {statistics.median(base):.1f} ms, max {max(base):.1f} ms")
        for count in COUNTS:
            idle = []
            try:
                for i in range(count):
                    s = socket.create_connection(("127.0.0.1", server.port), timeout=30)
                    if i % 2:
                        s.sendall(b"GET /api/v1/status HTTP/1.1\r\nHost: x\r\n")
                    idle.append(s)
                time.sleep(1)
                for s in idle[1::2]:
                    s.sendall(b"X-Trickle: 1\r\n")
                times = status_times(server)
            finally:
                for s in idle:
                    s.close()
            print(f"{count} idle connections: /status p50 {statistics.median(times):.1f} ms, max {max(times):.1f} ms")
            if first is None:
                first = (count, max(times), statistics.median(times))
            time.sleep(1)
    count, worst, p50 = first
    print(f"idle={count} status_max_ms={worst:.1f} status_p50_ms={p50:.1f} baseline_p50_ms={statistics.median(base):.1f}")


if __name__ == "__main__":
    main()
