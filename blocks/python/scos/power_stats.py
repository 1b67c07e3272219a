"""The detector block: min, max, mean, median and sample spectra in dBm over FFT frames.

Input: vectors of ``fft_size`` floats, |FFT(w·x)|^2 of windowed, fftshifted frames of volts
(what ``fft_vcc`` + ``complex_to_mag_squared`` produce). For every ``num_ffts`` frames the block
emits, as a float stream, one spectrum of ``fft_size`` values per detector, in the order of
``detectors``, each

    dBm = 10 log10( stat_k |FFT(w·x_k)|^2 / (N Σw² · 50) ) + 30 + gain_correction_db

(the normalisation of the spec: watts per bin across 50 ohm, then dBm, plus the calibration
gain correction). The mean is the mean of watts (then dB); ``sample`` is the last frame. The
numerics (and the median's memory bound) are in :mod:`.detectors`.

One fact, one place: the block takes only what it computes with (FFT size, number of FFTs, the
window, the detectors, the gain correction). What the radio knows (frequency, sample rate, gain
setting, device) it reads from the ``scos_radio`` tag on the stream's first sample (set by the
radio source or the survey's stepper), the survey's steps from ``scos_step`` tags, losses and
overloads from ``scos_dropped`` and ``scos_overload`` tags; and it says everything a recording
needs about each capture in a ``scos_capture`` tag on the capture's first output value, so the
sinks downstream restate nothing (see :func:`capture_info`).
"""
from __future__ import annotations

import time
from typing import Any, Mapping

import numpy as np
import pmt
from gnuradio import gr

from scos_gr.sigmf_out.windows import canonical_window, enbw_hz

from .detectors import DetectorAccumulator, DetectorError, parse_detectors, watts_scale
from .monitor import OVERLOAD_TAG, RADIO_TAG, overload_count_of
from .rx_time import DROPPED_TAG, dropped_samples_of, rx_time_seconds
from .task_block import TaskBlock
from .thread_state import KeepThreadState
from .units import to_dbm

#: Input tag of a survey step's first frame (set by survey_stepper; its frequency and time win).
STEP_TAG = "scos_step"

#: Output tag on the first value of each capture's spectra (see :func:`capture_info`).
CAPTURE_TAG = "scos_capture"


def step_tags_at(block: gr.basic_block, used: int) -> tuple[dict | None, dict | None]:
    """The ``scos_radio`` and ``scos_step`` tags' values on input item ``used`` of ``block``'s
    current window (None where absent): what a product block reads where a step begins."""
    radio = step = None
    for tag in block.get_tags_in_window(0, used, used + 1):
        key = pmt.symbol_to_string(tag.key)
        if key == RADIO_TAG:
            radio = dict(pmt.to_python(tag.value))
        elif key == STEP_TAG:
            step = dict(pmt.to_python(tag.value))
    return radio, step


def capture_info(*, radio: Mapping[str, Any], capture_start: float, frequency: float, fft_size: int, num_ffts: int,
                 window: str, detectors: list[str], gain_correction_db: float, dropped_samples: int, overflows: int,
                 overload_samples: int, step_index: int | None = None, steps: int | None = None) -> dict[str, Any]:
    """The ``scos_capture`` tag's value: everything a recording says about one capture.

    ``radio``: the ``scos_radio`` tag's value (driver, args, gain, sample rate, tuning range,
    full scale). ``step_index``/``steps``: the survey step and how many the survey makes (None
    for a single capture).
    """
    sample_rate = float(radio["sample_rate"])
    return {
        "capture_start": float(capture_start),
        "frequency": float(frequency),
        "sample_rate": sample_rate,
        "fft_size": int(fft_size),
        "num_ffts": int(num_ffts),
        "window": canonical_window(window),
        "enbw_hz": enbw_hz(window, int(fft_size), sample_rate),
        "detectors": list(detectors),
        "gain": radio.get("gain"),
        "gain_correction_db": float(gain_correction_db),
        "dropped_samples": int(dropped_samples),
        "overflows": int(overflows),
        "overload_samples": int(overload_samples),
        "driver": radio.get("driver"),
        "args": radio.get("args"),
        "frequency_low": radio.get("frequency_low"),
        "frequency_high": radio.get("frequency_high"),
        "full_scale": radio.get("full_scale"),
        "step_index": step_index,
        "steps": steps,
    }


class power_stats(KeepThreadState, gr.basic_block, TaskBlock):
    """Detector spectra (dBm) of every ``num_ffts`` |FFT|^2 frames; see the module docstring.

    Output: a float stream, ``len(detectors) * fft_size`` values per capture (detector-major),
    the first tagged ``scos_capture`` (:func:`capture_info`). ``capture_start`` (epoch s) comes
    from the survey step's tag, else the radio's ``rx_time`` tag, else the clock when the
    capture's first frame arrives. ``window`` must be the one the FFT used: the shipped
    flowgraphs give both the same flowgraph Parameter.

    A failure inside work() (a stream without the radio's ``scos_radio`` tag among them) stops
    the flowgraph and is kept in ``self.error`` for the runner.
    """

    def __init__(self, fft_size: int = 1024, num_ffts: int = 300, window: str = "blackman",
                 gain_correction_db: float = 0.0, detectors: str = "min,max,mean,median,sample"):
        fft_size, num_ffts = int(fft_size), int(num_ffts)
        if fft_size < 1 or num_ffts < 1:
            raise DetectorError("power_stats: fft_size and num_ffts must be >= 1")
        gr.basic_block.__init__(self, "scos_power_stats", [(np.float32, fft_size)], [np.float32])
        TaskBlock.__init__(self)
        self.fft_size, self.num_ffts = fft_size, num_ffts
        self.window, self.gain_correction_db = canonical_window(window), float(gain_correction_db)
        self.detectors = parse_detectors(detectors)
        self.scale = watts_scale(self.window, fft_size)
        self.captures = 0
        self.radio: dict[str, Any] | None = None
        self._acc = DetectorAccumulator(fft_size, num_ffts, self.detectors)
        self._new_capture()
        self.set_output_multiple(len(self.detectors) * fft_size)
        self.set_tag_propagation_policy(gr.TPP_DONT)
        self._rx_time = pmt.intern("rx_time")
        self._dropped_key = pmt.intern(DROPPED_TAG)
        self._overload_key = pmt.intern(OVERLOAD_TAG)
        self._radio_key = pmt.intern(RADIO_TAG)
        self._capture_key = pmt.intern(CAPTURE_TAG)
        self._step_key = pmt.intern(STEP_TAG)

    def _new_capture(self) -> None:
        self._acc.reset()
        self._capture_start: float | None = None
        self._step: dict[str, Any] | None = None
        self._dropped = 0
        self._overflows = 0
        self._overloads = 0

    def forecast(self, noutput_items, ninputs):
        return [1] * ninputs

    def set_gain_correction_db(self, value: float) -> None:
        self.gain_correction_db = float(value)

    def stop(self) -> bool:
        """The flowgraph ended: a first capture left incomplete means the stream was too short
        (a head block, or a survey step, passing fewer than fft_size x num_ffts samples); say so,
        rather than let the sink end without a recording and no cause."""
        if self.error is None and self.captures == 0 and self._acc.count > 0:
            self.error = (f"power_stats: the stream ended after {self._acc.count} of {self.num_ffts} frames of "
                          f"{self.fft_size}: whatever feeds it (a head block's count, the survey's samples per step) "
                          f"must pass fft_size x num_ffts = {self.fft_size * self.num_ffts} samples per capture")
        return KeepThreadState.stop(self)

    def general_work(self, input_items, output_items):
        try:
            return self._work(input_items[0], output_items[0])
        except Exception as exc:  # stop the flowgraph, keep the reason for the runner
            return self.stop_with(exc, "power_stats")

    def _work(self, frames: np.ndarray, out: np.ndarray) -> int:
        size = len(self.detectors) * self.fft_size
        produced = 0
        used = 0
        n_in = len(frames)
        while used < n_in:
            missing = self.num_ffts - self._acc.count
            take = min(missing, n_in - used)
            if take == missing and produced + size > len(out):
                take -= 1  # the capture's last frame waits until there is room for its result
                if take == 0:
                    break
            self._read_tags(used, used + take)
            self._acc.update(frames[used:used + take])
            used += take
            if self._acc.complete:
                with self.timed_step("detectors"):  # the capture's spectra, after its last frame
                    self._emit(out[produced:produced + size], produced)
                produced += size
        self.consume(0, used)
        return produced

    def _read_tags(self, start: int, stop: int) -> None:
        read = self.nitems_read(0)
        first = self._acc.count == 0
        for tag in self.get_tags_in_window(0, start, stop):
            if pmt.eq(tag.key, self._radio_key):
                self.radio = dict(pmt.to_python(tag.value))
            elif pmt.eq(tag.key, self._dropped_key):
                dropped, overflows = dropped_samples_of(tag.value)
                self._dropped += dropped
                self._overflows += overflows
            elif pmt.eq(tag.key, self._overload_key):
                self._overloads += overload_count_of(tag.value)
            elif pmt.eq(tag.key, self._step_key):
                if not (first and tag.offset == read + start):
                    step = pmt.to_python(tag.value)
                    raise DetectorError(
                        f"survey step {step.get('index')} starts {self._acc.count + tag.offset - read - start} "
                        f"frames into a capture of {self.num_ffts}: the survey source's samples per step must be "
                        f"fft_size x num_ffts of power_stats ({self.fft_size} x {self.num_ffts})")
                self._step = dict(pmt.to_python(tag.value))  # a survey step starts here
                self._capture_start = float(self._step["capture_start"])
            elif pmt.eq(tag.key, self._rx_time) and first and tag.offset == read + start and self._step is None:
                seconds = rx_time_seconds(tag.value)
                if seconds is not None:
                    self._capture_start = seconds
        if self.radio is None:
            raise DetectorError(
                "the input stream carries no scos_radio tag (what the radio knows: frequency, sample rate, "
                "gain); feed power_stats from an SCOS Radio Source or SCOS Survey Source through blocks that "
                "propagate tags (stream_to_vector, fft, complex_to_mag_squared, head)")
        if self._capture_start is None:
            self._capture_start = time.time()

    def _emit(self, out: np.ndarray, produced: int) -> None:
        stats = self._acc.result()
        spectra = out.reshape(len(self.detectors), self.fft_size)
        for i, name in enumerate(self.detectors):
            spectra[i] = to_dbm(stats[name] * self.scale, self.gain_correction_db)
        radio = self.radio or {}
        step = self._step or {}
        info = capture_info(
            radio=radio, capture_start=float(self._capture_start or time.time()),
            frequency=float(step.get("frequency", radio["frequency"])), fft_size=self.fft_size,
            num_ffts=self.num_ffts, window=self.window, detectors=self.detectors,
            gain_correction_db=self.gain_correction_db, dropped_samples=self._dropped, overflows=self._overflows,
            overload_samples=self._overloads, step_index=step.get("index"), steps=step.get("steps"))
        self.add_item_tag(0, self.nitems_written(0) + produced, self._capture_key, pmt.to_pmt(info))
        self.captures += 1
        self._new_capture()
