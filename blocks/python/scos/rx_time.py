"""Lost samples of a real radio: gaps in its ``rx_time`` stream tags become ``scos_dropped`` tags.

A real radio reports an overflow by a discontinuity of its ``rx_time`` tags. For gr-osmosdr
devices :class:`rx_time_monitor` (in line, right after the device) compares the time between
consecutive ``rx_time`` tags with the number of samples between them and tags the stream with
``scos_dropped`` (a dict ``{"dropped_samples", "overflows"}``) where samples went missing; the
detector and the sinks add them up for the recording's metadata (:func:`dropped_samples_of`).
The simulated radio never loses samples.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pmt
from gnuradio import gr

#: Tag key that rx_time_monitor puts on the sample stream where samples were lost.
DROPPED_TAG = "scos_dropped"


class rx_time_monitor(gr.sync_block):
    """Pass complex samples through; tag ``scos_dropped`` where ``rx_time`` shows a gap.

    Between two ``rx_time`` tags at sample offsets o1, o2 with times t1, t2 the radio should
    have delivered round((t2 - t1) * samp_rate) samples; if fewer arrived, the difference was
    lost in an overflow. Work is a numpy copy per call (memcpy speed), tags are O(tags).
    """

    def __init__(self, samp_rate: float):
        gr.sync_block.__init__(self, "scos_rx_time_monitor", [np.complex64], [np.complex64])
        self.samp_rate = float(samp_rate)
        self._last: tuple[int, float] | None = None
        self.dropped = 0
        self.overflows = 0
        self._key = pmt.intern("rx_time")

    def work(self, input_items, output_items):
        n = len(output_items[0])
        output_items[0][:] = input_items[0][:n]
        for tag in self.get_tags_in_window(0, 0, n, self._key):
            seconds = rx_time_seconds(tag.value)
            if seconds is None:
                continue
            if self._last is not None:
                o1, t1 = self._last
                expected = int(round((seconds - t1) * self.samp_rate))
                lost = expected - (tag.offset - o1)
                if lost > 0:
                    self.dropped += lost
                    self.overflows += 1
                    self.add_item_tag(0, tag.offset, pmt.intern(DROPPED_TAG),
                                      pmt.to_pmt({"dropped_samples": int(lost), "overflows": 1}))
            self._last = (tag.offset, seconds)
        return n


def dropped_samples_of(value: Any) -> tuple[int, int]:
    """(dropped samples, overflows) of a ``scos_dropped`` tag value: the dict the sources tag, or
    a bare count (one overflow)."""
    value = pmt.to_python(value)
    if isinstance(value, dict):
        return int(value.get("dropped_samples", 0)), int(value.get("overflows", 1))
    return int(value), 1


def rx_time_seconds(value: Any) -> float | None:
    """Epoch seconds of an ``rx_time`` tag value (tuple of uint64 seconds and double fraction)."""
    try:
        if pmt.is_tuple(value):
            return float(pmt.to_uint64(pmt.tuple_ref(value, 0))) + float(pmt.to_double(pmt.tuple_ref(value, 1)))
        return float(pmt.to_python(value))
    except Exception:
        return None
