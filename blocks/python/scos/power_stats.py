"""The detector block: min, max, mean, median and sample spectra in dBm over FFT frames.

Input: vectors of ``fft_size`` floats, |FFT(w·x)|^2 of windowed, fftshifted frames of volts
(what ``fft_vcc`` + ``complex_to_mag_squared`` produce). For every ``num_ffts`` frames the block
emits one vector per detector, in the order of ``detectors``, each

    dBm = 10 log10( stat_k |FFT(w·x_k)|^2 / (N Σw² · 50) ) + 30 + gain_correction_db

(the normalisation of the spec: watts per bin across 50 ohm, then dBm, plus the calibration
gain correction). The mean is the mean of watts (then dB); ``sample`` is the last frame. The
numerics (and the median's memory bound) are in :mod:`.detectors`; this block moves frames in
and spectra out and says what they are in a ``scos_capture`` tag.
"""
from __future__ import annotations

import time

import numpy as np
import pmt
from gnuradio import gr

from .detectors import DetectorAccumulator, DetectorError, parse_detectors, watts_scale
from .rx_time import DROPPED_TAG, dropped_samples_of, rx_time_seconds
from .task_block import TaskBlock
from .units import to_dbm

#: Input tag of a survey step's first frame (set by survey_stepper; its frequency and time win).
STEP_TAG = "scos_step"

#: Output tag on the first detector vector of each capture.
CAPTURE_TAG = "scos_capture"


class power_stats(gr.basic_block, TaskBlock):
    """Detector spectra (dBm) of every ``num_ffts`` |FFT|^2 frames; see the module docstring.

    Output: ``len(detectors)`` vectors per capture, the first tagged ``scos_capture`` with a
    dict ``{capture_start, frequency, dropped_samples, overflows, num_ffts, fft_size,
    sample_rate}``. ``capture_start`` (epoch s) comes from the radio's ``rx_time`` tag when there
    is one, else from the clock when the capture's first frame arrives. ``dropped_samples`` and
    ``overflows`` add up the ``scos_dropped`` tags of the capture's frames.

    A failure inside work() stops the flowgraph and is kept in ``self.error`` for the runner.
    """

    def __init__(self, fft_size: int = 1024, num_ffts: int = 300, samp_rate: float = 15.36e6,
                 center_freq: float = 751e6, window: str = "blackman", gain_correction_db: float = 0.0,
                 detectors: str = "min,max,mean,median,sample"):
        fft_size, num_ffts = int(fft_size), int(num_ffts)
        if fft_size < 1 or num_ffts < 1:
            raise DetectorError("power_stats: fft_size and num_ffts must be >= 1")
        gr.basic_block.__init__(self, "scos_power_stats", [(np.float32, fft_size)], [(np.float32, fft_size)])
        TaskBlock.__init__(self)
        self.fft_size, self.num_ffts = fft_size, num_ffts
        self.samp_rate, self.center_freq = float(samp_rate), float(center_freq)
        self.window, self.gain_correction_db = str(window), float(gain_correction_db)
        self.detectors = parse_detectors(detectors)
        self.scale = watts_scale(self.window, fft_size)
        self.captures = 0
        self._acc = DetectorAccumulator(fft_size, num_ffts, self.detectors)
        self._new_capture()
        self.set_output_multiple(len(self.detectors))
        self.set_tag_propagation_policy(gr.TPP_DONT)
        self._rx_time = pmt.intern("rx_time")
        self._dropped_key = pmt.intern(DROPPED_TAG)
        self._capture_key = pmt.intern(CAPTURE_TAG)
        self._step_key = pmt.intern(STEP_TAG)

    def _new_capture(self) -> None:
        self._acc.reset()
        self._capture_start: float | None = None
        self._step_frequency: float | None = None
        self._dropped = 0
        self._overflows = 0

    def forecast(self, noutput_items, ninputs):
        return [1] * ninputs

    def set_gain_correction_db(self, value: float) -> None:
        self.gain_correction_db = float(value)

    def general_work(self, input_items, output_items):
        try:
            return self._work(input_items[0], output_items[0])
        except Exception as exc:  # stop the flowgraph, keep the reason for the runner
            self.error = f"power_stats: {type(exc).__name__}: {exc}"
            return -1

    def _work(self, frames: np.ndarray, out: np.ndarray) -> int:
        d = len(self.detectors)
        produced = 0
        used = 0
        n_in = len(frames)
        while used < n_in:
            missing = self.num_ffts - self._acc.count
            take = min(missing, n_in - used)
            if take == missing and produced + d > len(out):
                take -= 1  # the capture's last frame waits until there is room for its result
                if take == 0:
                    break
            self._read_tags(used, used + take)
            self._acc.update(frames[used:used + take])
            used += take
            if self._acc.complete:
                self._emit(out[produced:produced + d], produced)
                produced += d
        self.consume(0, used)
        return produced

    def _read_tags(self, start: int, stop: int) -> None:
        read = self.nitems_read(0)
        if self._capture_start is None:
            self._capture_start = time.time()
        for tag in self.get_tags_in_window(0, start, stop):
            if pmt.eq(tag.key, self._dropped_key):
                dropped, overflows = dropped_samples_of(tag.value)
                self._dropped += dropped
                self._overflows += overflows
            elif pmt.eq(tag.key, self._step_key) and self._acc.count == 0 and tag.offset == read + start:
                # a survey step starts here: its frequency and time (survey_stepper's tag)
                step = pmt.to_python(tag.value)
                self._step_frequency = float(step["frequency"])
                self._capture_start = float(step["capture_start"])
            elif pmt.eq(tag.key, self._rx_time) and self._acc.count == 0 and tag.offset == read + start:
                seconds = rx_time_seconds(tag.value)
                if seconds is not None:
                    self._capture_start = seconds

    def _emit(self, out: np.ndarray, produced: int) -> None:
        stats = self._acc.result()
        for i, name in enumerate(self.detectors):
            out[i] = to_dbm(stats[name] * self.scale, self.gain_correction_db)
        info = {
            "capture_start": float(self._capture_start or time.time()),
            "frequency": self._step_frequency if self._step_frequency is not None else self.center_freq,
            "sample_rate": self.samp_rate,
            "fft_size": self.fft_size,
            "num_ffts": self.num_ffts,
            "dropped_samples": int(self._dropped),
            "overflows": int(self._overflows),
            "detectors": ",".join(self.detectors),
            "gain_correction_db": self.gain_correction_db,
        }
        self.add_item_tag(0, self.nitems_written(0) + produced, self._capture_key, pmt.to_pmt(info))
        self.captures += 1
        self._new_capture()
