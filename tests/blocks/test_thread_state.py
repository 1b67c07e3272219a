"""KeepThreadState keeps a block thread's Python state from start() to stop(): pybind11 would
otherwise make and delete one per work call (with its frame stack's mmap/munmap). Seen from
Python, per-thread data (threading.local lives in the thread state) survives from one work call
to the next only when the state is kept; the blocks on every sample path use the mixin."""
from __future__ import annotations

import importlib
import threading

import numpy as np
from gnuradio import blocks, gr

from gnuradio.scos.thread_state import KeepThreadState


def _counter(keep: bool):
    bases = (KeepThreadState, gr.sync_block) if keep else (gr.sync_block,)

    class Counter(*bases):
        def __init__(self):
            gr.sync_block.__init__(self, "counter", [np.float32], [])
            self.local = threading.local()
            self.calls = self.remembered = 0

        def work(self, input_items, output_items):
            self.calls += 1
            self.remembered += getattr(self.local, "seen", False)
            self.local.seen = True
            return len(input_items[0])

    return Counter()


def _run(keep: bool):
    tb = gr.top_block()
    src = blocks.vector_source_f([0.0] * 100_000)
    src.set_max_noutput_items(1000)
    counter = _counter(keep)
    counter.set_max_noutput_items(1000)
    tb.connect(src, counter)
    tb.run()
    return counter


def test_the_thread_keeps_its_python_state_between_work_calls_and_gives_it_back_on_stop():
    kept = _run(keep=True)
    assert kept.calls > 10 and kept.remembered == kept.calls - 1  # every call after the first saw it
    assert kept._thread_state is None  # given back in stop()
    plain = _run(keep=False)  # what the blocks paid for on every call without it
    assert plain.calls > 10 and plain.remembered == 0


def test_the_python_blocks_on_the_sample_paths_use_it():
    for module, name in [("monitor", "radio_monitor"), ("power_stats", "power_stats"),
                         ("radio_health", "radio_health"), ("iq_sink", "iq_probe"),
                         ("sigmf_sink", "spectra_collector"), ("survey", "survey_stepper"),
                         ("sim", "retunable_sim")]:
        cls = getattr(importlib.import_module(f"gnuradio.scos.{module}"), name)
        assert issubclass(cls, KeepThreadState), name
