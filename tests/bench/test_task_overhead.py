"""bench/task_overhead.py runs a few tasks through the real scheduler and keeps its last-line
contract; it prints the split of a task into steps. The figures are not asserted (they belong to
the machine)."""
from __future__ import annotations

import re

from tests.bench.bench_run import run_bench


def test_a_short_run_prints_the_split_and_the_last_line():
    lines = run_bench("task_overhead.py", SCOS_BENCH_TASKS="4", SCOS_BENCH_WARMUP="1")
    last = re.fullmatch(r"task_p50_ms=(\d+\.\d) task_p99_ms=(\d+\.\d) overhead_p99_ms=(-?\d+\.\d) "
                        r"start_jitter_p99_ms=(-?\d+\.\d) first_task_x=(\d+\.\d\d)", lines[-1])
    assert last, lines[-1]
    task50, task99 = float(last[1]), float(last[2])
    assert 0 < task50 <= task99
    split = {line.split()[0] for line in lines if line.startswith("  ")}
    assert {"wake", "claim", "state", "pipe", "catalogue", "compile", "start", "run", "finish", "record",
            "scos_power_stats.detectors", "scos_sigmf_sink.write"} <= split, split
    assert {"build", "set"} & split  # built at the task, or before it (runner.prepare)
