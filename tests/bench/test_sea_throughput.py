"""bench/sea_throughput.py runs end to end on short captures and keeps its last-line contract.

The figures themselves are not asserted (they belong to the machine): this checks that every
configuration runs, the SEA flowgraph writes its recording, and the last line parses.
"""
from __future__ import annotations

import re

from tests.bench.bench_run import run_bench


def test_short_run_prints_every_figure_and_the_last_line():
    lines = run_bench("sea_throughput.py", SCOS_BENCH_SECONDS="0.2", SCOS_BENCH_ROUNDS="1", SCOS_BENCH_NUMPY_SECONDS="0.1")
    last = re.fullmatch(r"realtime_x=(\d+\.\d{2}) numpy_ratio=(\d+\.\d)", lines[-1])
    assert last, lines[-1]
    realtime, numpy_ratio = (float(g) for g in last.groups())
    assert realtime > 0 and numpy_ratio > 0
    text = "\n".join(lines)
    for figure in ("channel source alone", "SEA flowgraph sea_700MHz (3 channels x 0.2 s at 14 MS/s",
                   "ns CPU per sample", "the numpy way (a capture of 0.1 s in memory", "real time at 14 MS/s: x"):
        assert figure in text, figure
    sea = float(re.search(r"SEA flowgraph .*?: (\d+\.\d) MS/s", text).group(1))
    assert abs(realtime - sea / 14) < 0.01  # the last line is the printed rate, at 14 MS/s
