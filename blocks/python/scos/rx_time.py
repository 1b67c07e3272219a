"""Lost samples of a real radio: gaps in its ``rx_time`` stream tags become ``scos_dropped`` tags.

A real radio reports an overflow by a discontinuity of its ``rx_time`` tags. Right after the
device, :class:`~gnuradio.scos.monitor.radio_monitor` compares the time between consecutive
``rx_time`` tags with the number of samples between them and tags the stream with
``scos_dropped`` (a dict ``{"dropped_samples", "overflows"}``) where samples went missing; the
detector and the sinks add them up for the recording's metadata (:func:`dropped_samples_of`).
The simulated radio never loses samples. This module reads the tags' values.
"""
from __future__ import annotations

from typing import Any

import pmt

#: Tag key that radio_monitor puts on the sample stream where samples were lost.
DROPPED_TAG = "scos_dropped"


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
