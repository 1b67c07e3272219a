"""bench/iq_capture.py runs end to end on a short capture and keeps its last-line contract (the
whole task against the I/O limit measured in the same run). The figures are not asserted."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_short_run_prints_the_io_limit_and_the_ratio_line():
    env = dict(os.environ, SCOS_BENCH_IQ_SECONDS="0.05", SCOS_BENCH_ROUNDS="1")
    done = subprocess.run([sys.executable, str(ROOT / "bench" / "iq_capture.py")], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stdout.strip().splitlines() if ":info:" not in line]
    last = re.fullmatch(r"realtime_x=(\d+\.\d\d) msps=(\d+\.\d) flowgraph_msps=(\d+\.\d) baseline_msps=15\.36 "
                        r"io_limit_msps=(\d+\.\d) io_ratio=(\d+\.\d\d)", lines[-1])
    assert last, lines[-1]
    realtime, msps, _, limit, ratio = (float(g) for g in last.groups())
    assert abs(realtime - msps / 15.36) < 0.01 and limit > 0 and abs(ratio - msps / limit) < 0.02
    assert any(line.startswith("I/O limit (the slower of SHA-512") for line in lines)
