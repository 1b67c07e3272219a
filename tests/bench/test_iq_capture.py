"""bench/iq_capture.py runs end to end on a short capture and keeps its last-line contract (the
whole task against the I/O limit measured in the same run). The figures are not asserted."""
from __future__ import annotations

import re

from tests.bench.bench_run import run_bench


def test_a_short_run_prints_the_io_limit_and_the_ratio_line():
    lines = run_bench("iq_capture.py", SCOS_BENCH_IQ_SECONDS="0.05", SCOS_BENCH_ROUNDS="1")
    last = re.fullmatch(r"realtime_x=(\d+\.\d\d) msps=(\d+\.\d) flowgraph_msps=(\d+\.\d) baseline_msps=15\.36 "
                        r"io_limit_msps=(\d+\.\d) io_ratio=(\d+\.\d\d)", lines[-1])
    assert last, lines[-1]
    realtime, msps, _, limit, ratio = (float(g) for g in last.groups())
    assert abs(realtime - msps / 15.36) < 0.01 and limit > 0 and abs(ratio - msps / limit) < 0.02
    assert any(line.startswith("I/O limit (the slower of SHA-512") for line in lines)
