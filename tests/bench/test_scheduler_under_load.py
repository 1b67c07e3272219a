"""bench/scheduler_under_load.py runs end to end on a short load and keeps its last-line contract.

The figures belong to the machine and are not asserted (the goal is read off a full run); this
checks that both databases are measured, the runs are counted and the last line parses.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_short_run_measures_both_databases_and_prints_the_last_line():
    env = dict(os.environ, SCOS_BENCH_LOAD_S="4", SCOS_BENCH_CLIENTS="5")
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "scheduler_under_load.py")], env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    last = re.fullmatch(r"runs=(\d+)/(\d+) start_p99_ms=(\d+\.\d) api_p99_ms=(\d+\.\d)", lines[-1])
    assert last, lines[-1]
    ran, due = int(last.group(1)), int(last.group(2))
    assert due == 8 and 0 < ran <= due
    text = "\n".join(lines)
    for figure in ("sqlite: runs ", "postgresql: runs ", "start lateness p50", "API under load (5 clients)"):
        assert figure in text, figure
