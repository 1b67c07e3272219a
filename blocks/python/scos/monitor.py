"""What the radio knows, said once on the sample stream: the ``scos_radio``, ``scos_overload`` and
``scos_dropped`` tags.

:class:`radio_monitor` sits right after the radio (inside :class:`~gnuradio.scos.radio_source`
and the survey's source) and passes the samples through unchanged. On the way it

- tags the stream's first sample ``scos_radio`` with what the radio knows (frequency, sample
  rate, gain setting, driver, device string, tuning range, full scale), so that the detector and
  the sinks downstream read these facts from the stream instead of restating them as parameters
  (one fact, one place: the radio source's parameters);
- counts the samples at or above the radio's full scale (``|I|`` or ``|Q|`` >= ``full_scale``:
  the ADC clipped, the data may be compressed) and tags ``scos_overload`` (an integer: how many)
  on the first sample of every :data:`OVERLOAD_CHUNK`-sample chunk that has any, chunks aligned
  to the stream's sample offsets. GNU Radio's stream_to_vector moves a tag to the *nearest*
  frame, so the chunk's first sample (a multiple of the chunk, hence of any FFT size that
  divides it) is the place that keeps a count in its own frame and capture. The monitor's calls
  are whole chunks whenever it can; one that starts inside a chunk (after a short radio
  packet) tags its part of the count on its first sample, which :func:`chunk_window` keeps in
  the chunk's first half;
- turns gaps in the device's ``rx_time`` tags into ``scos_dropped`` tags (see :mod:`.rx_time`).

The FFT chain (stream_to_vector, fft_vcc, complex_to_mag_squared, head) propagates these tags;
:class:`~gnuradio.scos.power_stats` adds them up per capture.
"""
from __future__ import annotations

import ctypes
import logging
import time
from typing import Any, Mapping

import numpy as np
import pmt
from gnuradio import gr

from scos_gr.sigmf_out.metadata import Radio

from .kernels import array_arg, load_library
from .rx_time import DROPPED_TAG, rx_time_seconds
from .thread_state import KeepThreadState

#: Tag on the stream's first sample: a dict of what the radio knows (see :func:`radio_facts`).
RADIO_TAG = "scos_radio"

#: Tag counting samples at or above full scale (an integer), one per chunk that has any.
OVERLOAD_TAG = "scos_overload"

#: Samples per overload-counting chunk (at most one ``scos_overload`` tag per chunk).
OVERLOAD_CHUNK = 1024

#: Seconds the monitor waits for the rest of a chunk before passing a window that would leave
#: the next call starting in the chunk's second half (see :func:`chunk_window`).
CHUNK_WAIT_S = 0.002

#: Full scale of gr-osmosdr devices: they deliver samples normalised to [-1, 1].
OSMOSDR_FULL_SCALE = 1.0

_log = logging.getLogger(__name__)


def _declare(lib: ctypes.CDLL) -> None:
    lib.scos_copy_peak_bits.argtypes = [array_arg(np.uint32), array_arg(np.uint32), ctypes.c_size_t]
    lib.scos_copy_peak_bits.restype = ctypes.c_uint32


#: The compiled copy-and-peak loop (``blocks/lib/monitor_kernels.c``; None: numpy does it).
KERNELS = load_library("monitor_kernels", _declare)
if KERNELS is None:
    _log.warning("radio_monitor: monitor kernels (_monitor_kernels) not built; using numpy, "
                 "about twice the CPU per sample")


def radio_facts(*, driver: str, args: str, frequency: float, sample_rate: float, gain: float,
                frequency_low: float | None, frequency_high: float | None,
                full_scale: float | None) -> dict[str, Any]:
    """The ``scos_radio`` tag's value: what a radio knows about the samples it delivers."""
    return {
        "driver": str(driver),
        "args": str(args),
        "frequency": float(frequency),
        "sample_rate": float(sample_rate),
        "gain": float(gain),
        "frequency_low": None if frequency_low is None else float(frequency_low),
        "frequency_high": None if frequency_high is None else float(frequency_high),
        "full_scale": None if full_scale is None else float(full_scale),
    }


def radio_of(facts: Mapping[str, Any]) -> Radio:
    """The recording's :class:`~scos_gr.sigmf_out.metadata.Radio` from a ``scos_radio`` value
    (or a ``scos_capture`` value, which repeats it)."""
    return Radio(driver=str(facts.get("driver") or ""), args=str(facts.get("args") or ""),
                 frequency_low=facts.get("frequency_low"), frequency_high=facts.get("frequency_high"))


class radio_monitor(KeepThreadState, gr.sync_block):
    """Pass complex samples through; tag the radio's facts, overloads and lost samples.

    ``radio``: the ``scos_radio`` value tagged on the first sample (None: no tag, e.g. after a
    survey's stepper, which tags its own); ``full_scale``: the radio's full scale in the
    samples' unit (None: not checked). ``samp_rate`` converts ``rx_time`` gaps to samples.
    """

    def __init__(self, samp_rate: float, full_scale: float | None = None, radio: Mapping[str, Any] | None = None):
        gr.sync_block.__init__(self, "scos_radio_monitor", [np.complex64], [np.complex64])
        self.samp_rate = float(samp_rate)
        self.full_scale = None if full_scale is None else np.float32(full_scale)
        self.radio = None if radio is None else dict(radio)
        self.dropped = 0
        self.overflows = 0
        self.overload_samples = 0
        self._last_rx_time: tuple[int, float] | None = None
        self._rx_time_key = pmt.intern("rx_time")
        self._dropped_key = pmt.intern(DROPPED_TAG)
        self._overload_key = pmt.intern(OVERLOAD_TAG)
        self._radio_pending = self.radio is not None
        self._waited: tuple[int, int] | None = None
        # never a call for less room than a chunk, and each call stops at a chunk boundary when
        # it reaches one (chunk_window): so a chunk's count is tagged on its first sample
        # (GNU Radio's set_alignment would round calls down too, but then leaves a finite
        # stream's last partial chunk unpassed)
        self.set_min_noutput_items(OVERLOAD_CHUNK)

    def work(self, input_items, output_items):
        window = (self.nitems_written(0), len(output_items[0]))
        n = chunk_window(*window)
        if n == 0:  # give the radio a moment to deliver the rest of the chunk
            if self._waited != window:
                self._waited = window
                time.sleep(CHUNK_WAIT_S)
                return 0
            n = window[1]  # nothing came: the stream ends here (or the radio stalls)
        self._waited = None
        samples = input_items[0][:n]
        may_overload = copy_samples(samples, output_items[0][:n], self.full_scale)
        start = self.nitems_written(0)
        if self._radio_pending and n:
            self.add_item_tag(0, start, pmt.intern(RADIO_TAG), pmt.to_pmt(self.radio))
            self._radio_pending = False
        if may_overload:
            self._tag_overloads(samples, start)
        self._tag_gaps(n)
        return n

    def _tag_overloads(self, samples: np.ndarray, start: int) -> None:
        over = overloaded(samples, self.full_scale)
        if over is None:
            return
        # one tag per chunk, on the chunk's first sample (a multiple of OVERLOAD_CHUNK), never on the
        # first overloaded sample: stream_to_vector moves a tag to the *nearest* frame, so a tag in
        # the second half of a frame would count for the next frame (the next capture, or none)
        chunks, counts = np.unique((over + start) // OVERLOAD_CHUNK, return_counts=True)
        for chunk, count in zip(chunks, counts):
            self.add_item_tag(0, max(int(chunk) * OVERLOAD_CHUNK, start), self._overload_key,
                              pmt.from_long(int(count)))
        self.overload_samples += int(len(over))

    def _tag_gaps(self, n: int) -> None:
        """Between two ``rx_time`` tags at offsets o1, o2 with times t1, t2 the radio should have
        delivered round((t2 - t1) * samp_rate) samples; fewer arrived: the rest was lost."""
        for tag in self.get_tags_in_window(0, 0, n, self._rx_time_key):
            seconds = rx_time_seconds(tag.value)
            if seconds is None:
                continue
            if self._last_rx_time is not None:
                o1, t1 = self._last_rx_time
                lost = int(round((seconds - t1) * self.samp_rate)) - (tag.offset - o1)
                if lost > 0:
                    self.dropped += lost
                    self.overflows += 1
                    self.add_item_tag(0, tag.offset, self._dropped_key,
                                      pmt.to_pmt({"dropped_samples": int(lost), "overflows": 1}))
            self._last_rx_time = (tag.offset, seconds)


def chunk_window(start: int, n: int, chunk: int = OVERLOAD_CHUNK) -> int:
    """How many of the ``n`` samples from stream offset ``start`` the monitor passes in this call.

    A call that starts inside a chunk (the one before it had fewer samples than a chunk: the
    radio delivered a short packet, or the stream ended) tags that chunk's remaining count on
    its own first sample. stream_to_vector moves a tag to the *nearest* frame, so that sample
    must lie in the chunk's first half: no call may end in a chunk's second half. A call stops
    at the last chunk boundary it reaches or, within one chunk, just before its middle. 0: the
    call starts just before the middle and its window ends inside the second half (wait for
    more samples; see radio_monitor.work). A call that starts later in the chunk (after such a
    wait found no more) is passed whole."""
    end = start + n
    tail = end % chunk
    if tail < chunk // 2:
        return n
    boundary = end - tail
    if boundary > start:
        return boundary - start
    before_middle = boundary + chunk // 2 - 1
    if before_middle > start:
        return before_middle - start
    return 0 if before_middle == start else n


def copy_samples(samples: np.ndarray, out: np.ndarray, full_scale: np.float32 | None,
                 kernels: ctypes.CDLL | None = KERNELS) -> bool:
    """Copy the complex64 ``samples`` to ``out``; False when none of them can be an overload
    (no ``full_scale``, or every I and Q strictly inside it), True when :func:`overloaded` must
    look: one pass over the samples with the compiled loop, three with numpy."""
    if full_scale is None or not len(samples):
        out[:] = samples
        return False
    if kernels is not None:
        peak_bits = kernels.scos_copy_peak_bits(samples.view(np.uint32), out.view(np.uint32), 2 * len(samples))
        # magnitudes compare as their bits; a NaN's bits lie above every number's, so a NaN
        # also sends the samples to overloaded(), which counts none
        return peak_bits >= int(np.float32(full_scale).view(np.uint32))
    out[:] = samples
    return not within_full_scale(samples, full_scale)


def overloaded(samples: np.ndarray, full_scale: float) -> np.ndarray | None:
    """Indices of the complex64 ``samples`` whose I or Q is at or beyond +-``full_scale``; None
    when there is none (the usual case, found in two passes without temporaries)."""
    fs = np.float32(full_scale)
    if within_full_scale(samples, fs):
        return None
    return np.flatnonzero(np.maximum(np.abs(samples.real), np.abs(samples.imag)) >= fs)


def within_full_scale(samples: np.ndarray, full_scale: np.float32) -> bool:
    """Every I and Q of the complex64 ``samples`` strictly inside +-``full_scale`` (two passes,
    no temporaries); True for no samples, False when one is NaN."""
    parts = samples.view(np.float32)  # I, Q interleaved
    return not len(parts) or bool(parts.max() < full_scale and parts.min() > -full_scale)


def overload_count_of(value: Any) -> int:
    """How many samples a ``scos_overload`` tag counts."""
    return int(pmt.to_python(value))
