"""Keep a Python block's thread state for the whole run instead of one per call.

GNU Radio runs each block in a thread of its own and calls a Python block's ``forecast`` and
``general_work`` through pybind11, which finds no Python thread state on that thread and makes
one for the call, then deletes it. In Python 3.11 each new thread state maps a 16 KiB frame
stack and deletes it with ``munmap``, which makes the kernel flush the TLBs of every CPU the
process runs on (an interrupt to each, costly in a virtual machine): at a few thousand calls a
second the SEA flowgraph spent about a sixth of its time there (``perf``: ``munmap`` ->
``flush_tlb_mm_range``), more than in its data products.

GNU Radio calls a block's ``start``, ``forecast``, ``general_work`` and ``stop`` on that same
thread. :class:`KeepThreadState` takes a ``PyGILState_Ensure`` reference in ``start`` and gives
it back in ``stop``, so pybind11 finds the thread state alive and reuses it for every call in
between; the thread state is deleted once, after ``stop``.

Every scos Python block on a sample path uses it (the radio monitor, the IQ probe, power_stats,
the spectra sinks, the survey stepper, the SEA blocks): on a pass-through block a work call
cost 140 us of CPU with two page faults without it, 75-110 us and none with it.
"""
from __future__ import annotations

import ctypes

_ensure = ctypes.pythonapi.PyGILState_Ensure
_ensure.restype = ctypes.c_int
_ensure.argtypes = []
_release = ctypes.pythonapi.PyGILState_Release
_release.restype = None
_release.argtypes = [ctypes.c_int]


class KeepThreadState:
    """Mixin for Python blocks (before the GNU Radio base class): the thread state of the block's
    thread lives from ``start`` to ``stop``. Subclasses that define ``start`` or ``stop`` call
    these too."""

    _thread_state: int | None = None

    def start(self) -> bool:
        if self._thread_state is None:
            self._thread_state = _ensure()
        return True

    def stop(self) -> bool:
        if self._thread_state is not None:
            _release(self._thread_state)
            self._thread_state = None
        return True
