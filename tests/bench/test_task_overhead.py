"""bench/task_overhead.py runs a few tasks through the real scheduler and keeps its last-line
contract; it prints the split of a task into steps. The figures are not asserted (they belong to
the machine)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_short_run_prints_the_split_and_the_last_line():
    env = dict(os.environ, SCOS_BENCH_TASKS="4", SCOS_BENCH_WARMUP="1")
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "task_overhead.py")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stdout.strip().splitlines() if ":info:" not in line]
    last = re.fullmatch(r"task_p50_ms=(\d+\.\d) task_p99_ms=(\d+\.\d) overhead_p99_ms=(-?\d+\.\d) "
                        r"start_jitter_p99_ms=(-?\d+\.\d) first_task_x=(\d+\.\d\d)", lines[-1])
    assert last, lines[-1]
    task50, task99 = float(last[1]), float(last[2])
    assert 0 < task50 <= task99
    split = {line.split()[0] for line in lines if line.startswith("  ")}
    assert {"wake", "claim", "state", "pipe", "catalogue", "compile", "start", "run", "finish", "record",
            "scos_power_stats.detectors", "scos_sigmf_sink.write"} <= split, split
    assert {"build", "set"} & split  # built at the task, or before it (runner.prepare)
