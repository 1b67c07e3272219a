"""Stepped-frequency survey: retune step by step, discard the settling samples, one recording.

``survey_source(args, samp_rate, start_freq, stop_freq, overlap, fft_size, num_ffts,
settle_samples, gain)`` is a hier block: a retunable radio followed by :class:`survey_stepper`,
which owns the step plan. For each step it retunes the radio, drops ``settle_samples`` (the
samples already in the buffers at the old frequency, and those taken while the device's
synthesiser settles), then passes exactly ``fft_size x num_ffts`` samples, the first tagged
``scos_step`` ``{frequency, capture_start, index, steps}`` (and the stream's first sample
``scos_radio``, what the radio knows). ``power_stats`` turns each step into one set of detector
spectra (taking the step's frequency and time from that tag) and :class:`survey_sink` writes
them all as one SigMF recording, one capture per step, learning the number of steps from the
tags.

Step plan (:func:`step_frequencies`): centres ``sample_rate x (1 - overlap)`` apart, the first
half a step above ``start_freq``, until the band up to ``stop_freq`` is covered. With the default
``overlap`` of 0.2, the outer 10 % of each step's span (where a real radio's anti-alias filter
rolls off) is also covered by the next step: the recording keeps every step's full spectrum and
each capture says its centre frequency, so overlapping bins appear twice, never zero times.

Radios: ``sim...`` args build :class:`retunable_sim`, whose tones are absolute frequencies
(``band=F_HZ:DBM/F_HZ:DBM...``, default one -40 dBm tone at 751 MHz), so they move in the
spectrum as it retunes, while ``tones=OFFSET:DBM/...`` (as for the plain sim radio) stay at their
offset from whatever frequency it is tuned to; ``retune_garbage=K`` makes it emit K samples of 0 dBm noise after each
retune (to prove the settling samples are discarded). Any other args open a gr-osmosdr source
and retune it with ``set_center_freq``; a step it cannot tune fails the survey with a RadioError.
Its ``rx_time`` gaps (overflows) are counted by :class:`~gnuradio.scos.monitor.radio_monitor`
and the stepper forwards the ``scos_dropped`` tags of the samples it passes; it counts the
samples at the radio's full scale among those it passes itself (``scos_overload``), so each
capture carries the samples lost and overloaded during its own step. ``settle_samples`` must
cover what the device and its driver buffer at the old frequency (65536 is 4.3 ms at
15.36 MS/s; raise it for drivers with deep sample queues).
"""
from __future__ import annotations

import math
import time
from typing import Any, Mapping, Sequence

import numpy as np
import pmt
from gnuradio import gr

from scos_gr.errors import BlockError, RadioError
from scos_gr.radio_args import SIM_FREQUENCY_RANGE, is_sim

from .monitor import OSMOSDR_FULL_SCALE, OVERLOAD_TAG, RADIO_TAG, overloaded, radio_facts, radio_monitor
from .power_stats import STEP_TAG
from .radio import open_osmosdr, tuning_range
from .rx_time import DROPPED_TAG
from .sigmf_sink import spectra_collector
from .sim import build_retunable_sim
from .task_block import TaskBlock
from .thread_state import KeepThreadState


class SurveyError(BlockError, ValueError):
    """A survey's step plan or steps are inconsistent."""


def step_frequencies(start_freq: float, stop_freq: float, samp_rate: float, overlap: float) -> list[float]:
    """Centre frequencies covering [start_freq, stop_freq] with steps ``samp_rate*(1-overlap)`` apart."""
    if not 0.0 <= overlap < 1.0:
        raise SurveyError("survey: overlap must be in [0, 1)")
    if stop_freq <= start_freq:
        raise SurveyError("survey: stop_freq must be above start_freq")
    step = samp_rate * (1.0 - overlap)
    count = max(1, math.ceil((stop_freq - start_freq) / step))
    return [start_freq + step / 2 + i * step for i in range(count)]


class survey_stepper(KeepThreadState, gr.basic_block, TaskBlock):
    """Retunes ``radio`` per step, drops the settling samples, passes each step's samples tagged.

    ``facts``: the ``scos_radio`` tag put on the first sample passed (None: none).
    ``full_scale``: the samples it passes at or beyond it are tagged ``scos_overload`` (one tag
    per stretch passed, so each step's count is exact). Its errors are the radio's (a step it
    cannot tune): ``radio_check``.
    """

    radio_check = True

    def __init__(self, radio: Any, frequencies: Sequence[float], samples_per_step: int, settle_samples: int,
                 facts: Mapping[str, Any] | None = None, full_scale: float | None = None, frame_size: int = 1):
        gr.basic_block.__init__(self, "scos_survey_stepper", [np.complex64], [np.complex64])
        TaskBlock.__init__(self)
        self.radio = radio
        self.frequencies = [float(f) for f in frequencies]
        self.samples_per_step = int(samples_per_step)
        #: the FFT size: overload counts are tagged on frame starts (a step is whole frames)
        self.frame_size = int(frame_size)
        self.settle_samples = int(settle_samples)
        self.facts = None if facts is None else dict(facts)
        self.full_scale = None if full_scale is None else float(full_scale)
        self.step = -1
        self._settle_left = 0
        self._pass_left = 0
        self._step_key = pmt.intern(STEP_TAG)
        self._dropped_key = pmt.intern(DROPPED_TAG)
        self._overload_key = pmt.intern(OVERLOAD_TAG)
        self.set_tag_propagation_policy(gr.TPP_DONT)  # offsets shift by the discarded samples

    def forecast(self, noutput_items, ninputs):
        return [1] * ninputs

    def _next_step(self) -> bool:
        self.step += 1
        if self.step >= len(self.frequencies):
            return False
        self._tune(self.step)
        self._settle_left, self._pass_left = self.settle_samples, self.samples_per_step
        self._tag_pending = True
        return True

    def _tune(self, step: int) -> None:
        """Set the radio up for ``step`` (subclasses that switch more than the frequency extend it)."""
        frequency = self.frequencies[step]
        try:
            tuned = self.radio.set_center_freq(frequency)
        except Exception as exc:
            raise RadioError(f"survey: cannot tune to {frequency / 1e6:.3f} MHz: {exc}") from exc
        if tuned is not None and isinstance(tuned, (int, float)) and tuned and abs(tuned - frequency) > 1e3:
            raise RadioError(f"survey: radio tuned to {tuned / 1e6:.6f} MHz instead of {frequency / 1e6:.6f} MHz")

    def _step_info(self) -> dict[str, Any]:
        """The ``scos_step`` tag's value on the step's first sample: its frequency, start time,
        index, the number of steps and of samples per step."""
        return {"frequency": self.frequencies[self.step], "capture_start": time.time(), "index": self.step,
                "steps": len(self.frequencies), "samples": self.samples_per_step}

    def _forward_dropped(self, used: int, produced: int, take: int) -> None:
        """Move the radio's ``scos_dropped`` tags of the samples passed on to their output offsets
        (losses inside the discarded settling samples do not touch a step and are not counted)."""
        if not take:
            return
        start = self.nitems_read(0) + used
        shift = self.nitems_written(0) + produced - start
        for tag in self.get_tags_in_range(0, start, start + take, self._dropped_key):
            self.add_item_tag(0, tag.offset + shift, tag.key, tag.value)

    def _tag_overloads(self, passed: np.ndarray, produced: int) -> None:
        """Count the passed samples at full scale, one ``scos_overload`` tag per FFT frame that has
        any, on the frame's first sample.

        Not on the first overloaded sample: stream_to_vector moves a tag to the *nearest* frame, so
        one in the second half of a step's last frame would count for the next step. A frame that
        began in an earlier call gets its tag at its start all the same: stream_to_vector reads
        whole frames, so it has not read past that start yet.
        """
        if self.full_scale is None:
            return
        over = overloaded(passed, self.full_scale)
        if over is None:
            return
        offsets = over + self.nitems_written(0) + produced  # every step starts on a frame
        frames, counts = np.unique(offsets // self.frame_size, return_counts=True)
        for frame, count in zip(frames, counts):
            self.add_item_tag(0, int(frame) * self.frame_size, self._overload_key, pmt.from_long(int(count)))

    def general_work(self, input_items, output_items):
        try:
            return self._work(input_items[0], output_items[0])
        except Exception as exc:  # the runner reads .error; RadioError text says why
            self.error = f"{type(exc).__name__}: {exc}" if not isinstance(exc, RadioError) else str(exc)
            return -1

    def _work(self, inp: np.ndarray, out: np.ndarray) -> int:
        if self.step >= len(self.frequencies) or (self.step < 0 and not self._next_step()):
            return -1
        used = produced = 0
        while used < len(inp) and produced < len(out):
            if self._settle_left:
                drop = min(self._settle_left, len(inp) - used)
                self._settle_left -= drop
                used += drop
                continue
            take = min(self._pass_left, len(inp) - used, len(out) - produced)
            if self._tag_pending and take:
                offset = self.nitems_written(0) + produced
                if offset == 0 and self.facts is not None:
                    self.add_item_tag(0, 0, pmt.intern(RADIO_TAG), pmt.to_pmt(self.facts))
                self.add_item_tag(0, offset, self._step_key, pmt.to_pmt(self._step_info()))
                self._tag_pending = False
            out[produced:produced + take] = inp[used:used + take]
            self._forward_dropped(used, produced, take)
            self._tag_overloads(out[produced:produced + take], produced)
            used += take
            produced += take
            self._pass_left -= take
            if self._pass_left == 0 and not self._next_step():
                self.consume(0, used)
                if produced:
                    return produced
                return -1
        self.consume(0, used)
        return produced


class survey_source(gr.hier_block2):
    """The radio (sim or osmosdr) and the stepper: the samples of every step, settling excluded."""

    def __init__(self, args: str = "sim", samp_rate: float = 15.36e6, start_freq: float = 698e6,
                 stop_freq: float = 806e6, overlap: float = 0.2, fft_size: int = 1024, num_ffts: int = 100,
                 settle_samples: int = 65536, gain: float = 0.0):
        gr.hier_block2.__init__(self, "scos_survey_source", gr.io_signature(0, 0, 0),
                                gr.io_signature(1, 1, gr.sizeof_gr_complex))
        self.frequencies = step_frequencies(float(start_freq), float(stop_freq), float(samp_rate), float(overlap))
        args = str(args or "sim").strip()
        if is_sim(args):
            self.radio = build_retunable_sim(args, float(samp_rate), self.frequencies[0])
            driver, full_scale = "sim", self.radio.full_scale
            low, high = SIM_FREQUENCY_RANGE
        else:
            self.radio = open_osmosdr(args, float(samp_rate), self.frequencies[0], float(gain))
            driver, full_scale = "osmosdr", OSMOSDR_FULL_SCALE
            low, high = tuning_range(self.radio)
        self.facts = radio_facts(driver=driver, args=args, frequency=self.frequencies[0], sample_rate=float(samp_rate),
                                 gain=float(gain), frequency_low=low, frequency_high=high, full_scale=full_scale)
        self.stepper = survey_stepper(self.radio, self.frequencies, int(fft_size) * int(num_ffts), int(settle_samples),
                                      self.facts, full_scale, frame_size=int(fft_size))
        chain: list[Any] = [self.radio]
        if getattr(self.radio, "throttle", False):  # real-time pacing of the sim, as `sim,throttle=1`
            from gnuradio import blocks

            self.pacer = blocks.throttle(gr.sizeof_gr_complex, float(samp_rate), True)
            chain.append(self.pacer)
        if not is_sim(args):  # a real radio's overflows (rx_time gaps) reach each step's capture
            self.monitor = radio_monitor(float(samp_rate))
            chain.append(self.monitor)
        # the stepper tags what the radio knows (its first sample is the first step's) and counts
        # the samples at full scale it passes, step by step
        self.connect(*chain, self.stepper, self)


class survey_sink(spectra_collector):
    """All steps' detector spectra -> one SigMF recording, one capture per step.

    How many steps to wait for it learns from the first ``scos_capture`` tag (the stepper's step
    plan travels in its ``scos_step`` tags), so the survey's plan lives in the survey source only.
    """

    def __init__(self, output_dir: str = ".", basename: str = "recording", metadata_json: str = "{}"):
        spectra_collector.__init__(self, "scos_survey_sink", output_dir, basename, metadata_json)

    def _expected(self, first: Mapping[str, Any]) -> int:
        if not first.get("steps"):
            raise SurveyError("the first capture is not a survey step (its scos_capture tag has no steps); "
                              "feed survey_sink from an SCOS Survey Source through SCOS Power Statistics")
        return int(first["steps"])
