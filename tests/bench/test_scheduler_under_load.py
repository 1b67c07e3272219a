"""bench/scheduler_under_load.py runs end to end on a short load and keeps its last-line contract.

The figures belong to the machine and are not asserted (the goal is read off a full run); this
checks that both databases are measured, the runs are counted and the last line parses.
"""
from __future__ import annotations

import re

from tests.bench.bench_run import run_bench


def test_short_run_measures_both_databases_and_prints_the_last_line():
    lines = run_bench("scheduler_under_load.py", timeout=600, unset=("DATABASE_URL",), SCOS_BENCH_LOAD_S="4", SCOS_BENCH_CLIENTS="5")
    last = re.fullmatch(r"runs=(\d+)/(\d+) start_p99_ms=(\d+\.\d) api_p99_ms=(\d+\.\d)", lines[-1])
    assert last, lines[-1]
    ran, due = int(last.group(1)), int(last.group(2))
    assert due == 8 and 0 < ran <= due
    text = "\n".join(lines)
    for figure in ("sqlite: runs ", "postgresql: runs ", "start lateness p50", "API under load (5 clients)"):
        assert figure in text, figure
