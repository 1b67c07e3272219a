"""bench/idle_connections.py runs end to end (few connections) and keeps its last-line contract."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_short_run_prints_the_last_line():
    env = dict(os.environ, SCOS_BENCH_IDLE="120")
    env.pop("DATABASE_URL", None)
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "idle_connections.py")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.strip().splitlines()
    assert re.fullmatch(r"idle=120 status_max_ms=\d+\.\d status_p50_ms=\d+\.\d baseline_p50_ms=\d+\.\d", lines[-1]), lines
    assert "120 idle connections: /status p50" in "\n".join(lines)
