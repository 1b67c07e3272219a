"""Radio health check: does the radio deliver samples at the expected rate and level?

``radio_health`` is a sink for a fixed number of samples (put a head block before it). It times
the samples' arrival with the wall clock and measures their mean power; when the flowgraph ends
the runner reads ``.error``: a rate below ``min_rate_ratio`` x the sample rate (a stalled or
overflowing device) or a power outside ``[min_dbm, max_dbm]`` (a dead front end, a disconnected
antenna, a saturated input) fails the task with the reason, as a radio failure
(``radio_check = True``), which turns the status endpoint's radio health false.
Unthrottled simulated radios run faster than real time: only a floor is checked.
"""
from __future__ import annotations

import math
import time

import numpy as np
from gnuradio import gr

from .task_block import TaskBlock
from .thread_state import KeepThreadState
from .units import IMPEDANCE_OHM


class radio_health(KeepThreadState, gr.sync_block, TaskBlock):
    radio_check = True  # the runner reports this block's error as a radio failure

    def __init__(self, samp_rate: float = 15.36e6, num_samples: int = 1536000, min_dbm: float = -100.0,
                 max_dbm: float = 0.0, min_rate_ratio: float = 0.9):
        gr.sync_block.__init__(self, "scos_radio_health", [np.complex64], [])
        TaskBlock.__init__(self)
        self.samp_rate, self.num_samples = float(samp_rate), int(num_samples)
        self.min_dbm, self.max_dbm, self.min_rate_ratio = float(min_dbm), float(max_dbm), float(min_rate_ratio)
        self.samples = 0
        self.energy = 0.0
        self.first: float | None = None
        self.first_batch = 0  # samples of the first call: they arrived before the clock started
        self.last: float | None = None
        self.result: dict | None = None

    def work(self, input_items, output_items):
        x = input_items[0]
        now = time.monotonic()
        if self.first is None:
            self.first = now
            self.first_batch = len(x)
        self.last = now
        self.samples += len(x)
        self.energy += float(np.vdot(x, x).real)
        if self.samples >= self.num_samples:
            self._judge()
        return len(x)

    def measurements(self) -> dict | None:
        """``{samples, level_dbm, rate_sps, healthy}`` once judged (at the end or on stop)."""
        return self.result

    def stop(self):
        if self.result is None:
            self._judge()
        return KeepThreadState.stop(self)

    def _judge(self) -> None:
        if self.result is not None:
            return
        n = max(self.samples, 1)
        power_w = self.energy / n / IMPEDANCE_OHM
        level_dbm = 10 * math.log10(power_w) + 30 if power_w > 0 else float("-inf")
        # the first buffer's arrival starts the clock, so its samples are not counted in the rate
        elapsed = (self.last or 0) - (self.first or 0)
        rate = ((self.samples - self.first_batch) / elapsed) if elapsed > 0 else float("inf")
        self.result = {"samples": self.samples, "level_dbm": level_dbm, "rate_sps": rate}
        problems = []
        if self.samples < self.num_samples:
            problems.append(f"only {self.samples} of {self.num_samples} samples arrived")
        if not self.min_dbm <= level_dbm <= self.max_dbm:
            problems.append(f"input level {level_dbm:.1f} dBm outside [{self.min_dbm:g}, {self.max_dbm:g}] dBm")
        if self.samples > 10 * 8192 and rate < self.min_rate_ratio * self.samp_rate:
            problems.append(f"sample rate {rate / 1e6:.2f} MS/s below {self.min_rate_ratio:g} x "
                            f"{self.samp_rate / 1e6:g} MS/s")
        self.result["healthy"] = not problems
        if problems:
            self.error = "radio health: " + "; ".join(problems)
