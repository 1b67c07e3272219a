"""What the benchmarks share: a timed run with the process's CPU time beside its wall time.

CPU time is read with ``getrusage(RUSAGE_SELF)``, which counts every thread of the process,
a finished flowgraph's threads too: a GNU Radio run's cost per sample, whichever threads paid.
"""
from __future__ import annotations

import resource
import time
from typing import Any, Callable


def cpu_seconds() -> float:
    """User and system CPU seconds of the whole process so far (every thread, finished ones too)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


class Run:
    """One timed call of ``work()`` over ``samples`` samples: wall seconds and CPU seconds."""

    def __init__(self, work: Callable[[], Any], samples: int):
        cpu = cpu_seconds()
        started = time.perf_counter()
        work()
        self.seconds = time.perf_counter() - started
        self.cpu = cpu_seconds() - cpu
        self.samples = samples

    @classmethod
    def flowgraph(cls, tb: Any, samples: int) -> "Run":
        """Run a GNU Radio top block to its end."""
        return cls(lambda: (tb.start(), tb.wait()), samples)

    @property
    def msps(self) -> float:
        return self.samples / self.seconds / 1e6

    @property
    def cpu_ns(self) -> float:
        """CPU time per sample, every thread of the process (ns)."""
        return self.cpu / self.samples * 1e9
