"""Stepped-frequency survey: retune step by step, discard the settling samples, one recording.

``survey_source(args, samp_rate, start_freq, stop_freq, overlap, fft_size, num_ffts,
settle_samples, gain)`` is a hier block: a retunable radio followed by :class:`survey_stepper`,
which owns the step plan. For each step it retunes the radio, drops ``settle_samples`` (the
samples already in the buffers at the old frequency, and those taken while the device's
synthesiser settles), then passes exactly ``fft_size x num_ffts`` samples, the first tagged
``scos_step`` ``{frequency, capture_start, index}``. ``power_stats`` turns each step into one
set of detector spectra (taking the step's frequency and time from that tag) and
:class:`survey_sink` writes them all as one SigMF recording, one capture per step.

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
Its ``rx_time`` gaps (overflows) are counted by :class:`~gnuradio.scos.radio.rx_time_monitor`
and the stepper forwards the ``scos_dropped`` tags of the samples it passes, so each capture
carries the samples lost during its own step. ``settle_samples`` must cover what the device
and its driver buffer at the old frequency (65536 is 4.3 ms at 15.36 MS/s; raise it for
drivers with deep sample queues).
"""
from __future__ import annotations

import math
import time
from typing import Any, Sequence

import numpy as np
import pmt
from gnuradio import gr

from scos_gr.errors import BlockError, RadioError
from scos_gr.radio_args import is_sim
from scos_gr.sigmf_out.metadata import SurveyStep, survey_metadata
from scos_gr.sigmf_out.writer import Recording, write_recording

from .detectors import parse_detectors
from .power_stats import STEP_TAG
from .radio import open_osmosdr
from .rx_time import DROPPED_TAG, rx_time_monitor
from .sigmf_sink import spectra_collector
from .sim import build_retunable_sim
from .task_block import TaskBlock

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


class survey_stepper(gr.basic_block, TaskBlock):
    """Retunes ``radio`` per step, drops the settling samples, passes each step's samples tagged.

    Its errors are the radio's (a step it cannot tune): ``radio_check``.
    """

    radio_check = True

    def __init__(self, radio: Any, frequencies: Sequence[float], samples_per_step: int, settle_samples: int):
        gr.basic_block.__init__(self, "scos_survey_stepper", [np.complex64], [np.complex64])
        TaskBlock.__init__(self)
        self.radio = radio
        self.frequencies = [float(f) for f in frequencies]
        self.samples_per_step = int(samples_per_step)
        self.settle_samples = int(settle_samples)
        self.step = -1
        self._settle_left = 0
        self._pass_left = 0
        self._step_key = pmt.intern(STEP_TAG)
        self._dropped_key = pmt.intern(DROPPED_TAG)
        self.set_tag_propagation_policy(gr.TPP_DONT)  # offsets shift by the discarded samples

    def forecast(self, noutput_items, ninputs):
        return [1] * ninputs

    def _next_step(self) -> bool:
        self.step += 1
        if self.step >= len(self.frequencies):
            return False
        frequency = self.frequencies[self.step]
        try:
            tuned = self.radio.set_center_freq(frequency)
        except Exception as exc:
            raise RadioError(f"survey: cannot tune to {frequency / 1e6:.3f} MHz: {exc}") from exc
        if tuned is not None and isinstance(tuned, (int, float)) and tuned and abs(tuned - frequency) > 1e3:
            raise RadioError(f"survey: radio tuned to {tuned / 1e6:.6f} MHz instead of {frequency / 1e6:.6f} MHz")
        self._settle_left, self._pass_left = self.settle_samples, self.samples_per_step
        self._tag_pending = True
        return True

    def _forward_dropped(self, used: int, produced: int, take: int) -> None:
        """Move the radio's ``scos_dropped`` tags of the samples passed on to their output offsets
        (losses inside the discarded settling samples do not touch a step and are not counted)."""
        if not take:
            return
        start = self.nitems_read(0) + used
        shift = self.nitems_written(0) + produced - start
        for tag in self.get_tags_in_range(0, start, start + take, self._dropped_key):
            self.add_item_tag(0, tag.offset + shift, tag.key, tag.value)

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
                info = {"frequency": self.frequencies[self.step], "capture_start": time.time(), "index": self.step}
                self.add_item_tag(0, self.nitems_written(0) + produced, self._step_key, pmt.to_pmt(info))
                self._tag_pending = False
            out[produced:produced + take] = inp[used:used + take]
            self._forward_dropped(used, produced, take)
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
        else:
            self.radio = open_osmosdr(args, float(samp_rate), self.frequencies[0], float(gain))
        self.stepper = survey_stepper(self.radio, self.frequencies, int(fft_size) * int(num_ffts), int(settle_samples))
        chain: list[Any] = [self.radio]
        if getattr(self.radio, "throttle", False):  # real-time pacing of the sim, as `sim,throttle=1`
            from gnuradio import blocks

            self.pacer = blocks.throttle(gr.sizeof_gr_complex, float(samp_rate), True)
            chain.append(self.pacer)
        if not is_sim(args):  # a real radio's overflows (rx_time gaps) reach each step's capture
            self.monitor = rx_time_monitor(float(samp_rate))
            chain.append(self.monitor)
        self.connect(*chain, self.stepper, self)


class survey_sink(spectra_collector):
    """All steps' detector spectra -> one SigMF recording, one capture per step."""

    def __init__(self, fft_size: int = 1024, num_ffts: int = 100, samp_rate: float = 15.36e6,
                 start_freq: float = 698e6, stop_freq: float = 806e6, overlap: float = 0.2,
                 window: str = "blackman", output_dir: str = ".", basename: str = "recording",
                 metadata_json: str = "{}", detectors: str = "mean,max"):
        self.fft_size, self.num_ffts, self.samp_rate = int(fft_size), int(num_ffts), float(samp_rate)
        self.steps = len(step_frequencies(float(start_freq), float(stop_freq), self.samp_rate, float(overlap)))
        self.detectors = parse_detectors(detectors)
        spectra_collector.__init__(self, "scos_survey_sink", self.fft_size, self.steps * len(self.detectors),
                                   metadata_json)
        self.window, self.output_dir, self.basename = str(window), str(output_dir), str(basename)

    def _write(self) -> Recording:
        if len(self._captures) != self.steps:
            raise SurveyError(f"{len(self._captures)} step captures tagged, {self.steps} expected")
        steps = [SurveyStep(frequency=float(c["frequency"]), capture_start=float(c["capture_start"]),
                            dropped_samples=int(c.get("dropped_samples", 0)), overflows=int(c.get("overflows", 0)))
                 for c in self._captures]
        metadata = survey_metadata(fft_size=self.fft_size, num_ffts=self.num_ffts, sample_rate=self.samp_rate,
                                   window=self.window, detectors=self.detectors, steps=steps, context=self.context)
        return write_recording(self.output_dir, self.basename, self._vectors.reshape(-1), metadata)
