"""bench/idle_connections.py runs end to end (few connections) and keeps its last-line contract."""
from __future__ import annotations

import re

from tests.bench.bench_run import run_bench


def test_short_run_prints_the_last_line():
    lines = run_bench("idle_connections.py", unset=("DATABASE_URL",), SCOS_BENCH_IDLE="120")
    assert re.fullmatch(r"idle=120 status_max_ms=\d+\.\d status_p50_ms=\d+\.\d baseline_p50_ms=\d+\.\d", lines[-1]), lines
    assert "120 idle connections: /status p50" in "\n".join(lines)
