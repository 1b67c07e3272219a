"""bench/flowgraph_throughput.py runs end to end on a short capture and keeps its last-line contract.

The figures themselves are not asserted (they belong to the machine): this checks that every
configuration runs, the full flowgraph writes its recording, and the last line parses.
"""
from __future__ import annotations

import re

from tests.bench.bench_run import run_bench


def test_short_run_prints_every_figure_and_the_ratio_line():
    lines = run_bench("flowgraph_throughput.py", SCOS_BENCH_SAMPLES="3e6", SCOS_BENCH_ROUNDS="1", SCOS_BENCH_NUMPY_SAMPLES="1e6")
    last = re.fullmatch(r"ratio=(\d+\.\d{3}) msps=(\d+\.\d) baseline_msps=(\d+\.\d) "
                        r"reader_ratio=(\d+\.\d{3}) numpy_ratio=(\d+\.\d) cpu_ceiling_ratio=(\d\.\d\d) "
                        r"numpy_ceiling_ratio=(\d+\.\d) reader_numpy_ratio=(\d+\.\d)", lines[-1])
    assert last, lines[-1]
    ratio, msps, base, reader, numpy_ratio, cpu_ceiling, numpy_ceiling, reader_numpy = (float(g) for g in last.groups())
    assert msps > 0 and base > 0 and abs(ratio - msps / base) < 0.002 and reader > 0 and numpy_ratio > 0
    assert 0 < cpu_ceiling <= 1 and numpy_ceiling > 0
    assert abs(reader_numpy - numpy_ratio / reader) <= 0.15 * reader_numpy + 0.1  # the same three rates
    text = "\n".join(lines)
    for figure in ("ceiling, the chain ending in a stock C++ block", "ceiling, the chain ending in a Python block",
                   "ns CPU per sample (detector and sink:", "sim_source alone", "the numpy way",
                   "ceiling of the reader ratio", "ceiling of the numpy ratio",
                   "the reader ceiling against the numpy way"):
        assert figure in text, figure
