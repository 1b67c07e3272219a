"""The Y-factor calibration block: the receiver's gain and noise figure at each frequency, stored.

``y_factor(output_file, reference)`` takes the power of each sample (|x|^2, V^2: the stock
``complex_to_mag_squared``) from an SCOS Calibration Source, whose ``scos_step`` tags say where
each step begins, its frequency, whether the noise diode is on, its ENR and the temperature.
For each step it adds up the power (float64, numpy over whole batches); with the diode's off
and on steps at a frequency it computes, by the Y-factor method (:func:`.sea_math.y_factor`,
the bandwidth being the sample rate: the power is measured over the whole band), the gain and
the noise figure. When the last step is in it stores them all as the sensor's calibration:
``output_file`` (the runner fills in the data directory's onboard calibration file), written
atomically with the time, the temperature and ``reference`` (where the calibrated power is
referred to: where the noise diode is coupled in), and ends the flowgraph. ``output_file`` empty
(a run by hand): measured and reported only. A failure (the diode not seen, a frequency measured
once) stores nothing and says why in ``error``.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
from gnuradio import gr

from scos_gr.calibration import CalibrationPoint, write_calibration

from .channels import NOISE_DIODE_KEY
from .power_stats import step_tags_at
from .receiver import T0_K
from .sea_math import ProductError, YFactorResult, y_factor as y_factor_of
from .task_block import TaskBlock
from .thread_state import KeepThreadState
from .units import IMPEDANCE_OHM


class y_factor(KeepThreadState, gr.sync_block, TaskBlock):
    """Gain and noise figure per frequency from the noise diode's off and on steps (see the module)."""

    def __init__(self, output_file: str = "", reference: str = "noise source output"):
        gr.sync_block.__init__(self, "scos_y_factor", [np.float32], [])
        TaskBlock.__init__(self)
        self.output_file, self.reference = str(output_file or ""), str(reference)
        self.radio: dict[str, Any] | None = None
        self.results: list[YFactorResult] = []
        self.temperature_c: float | None = None
        self.stored: str | None = None
        self._step: dict[str, Any] | None = None
        self._remaining = 0
        self._sum = 0.0
        self._means: dict[float, dict[bool, float]] = {}
        self._steps_total: int | None = None
        self._steps_done = 0

    def work(self, input_items, output_items):
        try:
            return self._work(input_items[0])
        except Exception as exc:  # stop the flowgraph, keep the reason for the runner
            return self.stop_with(exc, "y_factor")

    def _work(self, power: np.ndarray) -> int:
        used = 0
        while used < len(power):
            if self._remaining == 0:
                self._begin(used)
            take = min(self._remaining, len(power) - used)
            self._sum += float(np.sum(power[used:used + take], dtype=np.float64))
            used += take
            self._remaining -= take
            if self._remaining == 0 and self._end():
                return -1
        return used

    def _begin(self, used: int) -> None:
        radio, step = step_tags_at(self, used)
        self.radio = radio or self.radio
        if step is None or NOISE_DIODE_KEY not in step or not step.get("samples"):
            raise ProductError(f"sample {self.nitems_read(0) + used} begins no calibration step (a scos_step tag "
                               "saying the noise diode's state); feed this block from an SCOS Calibration Source")
        if self.radio is None:
            raise ProductError("the input stream carries no scos_radio tag (the sample rate); feed this block from "
                               "an SCOS Calibration Source through complex_to_mag_squared")
        self._step, self._remaining, self._sum = step, int(step["samples"]), 0.0
        self._steps_total = int(step.get("steps") or 0)

    def _end(self) -> bool:
        """A step is in: keep its mean power (W); True when it was the last one."""
        step = self._step
        assert step is not None
        mean_w = self._sum / int(step["samples"]) / IMPEDANCE_OHM
        frequency = float(step["frequency"])
        self._means.setdefault(frequency, {})[bool(step[NOISE_DIODE_KEY])] = mean_w
        self.temperature_c = step.get("temperature_c")
        pair = self._means[frequency]
        if len(pair) == 2 and not any(r.frequency == frequency for r in self.results):
            temperature_k = T0_K if self.temperature_c is None else float(self.temperature_c) + 273.15
            self.results.append(y_factor_of(pair[True], pair[False], float(step["enr_db"]),
                                            float(self.radio["sample_rate"]), temperature_k, frequency))
        self._steps_done += 1
        self._step = None
        if self._steps_total and self._steps_done >= self._steps_total:
            self._store()
            return True
        return False

    def _store(self) -> None:
        missing = sorted(f for f, pair in self._means.items() if len(pair) != 2)
        if missing:
            raise ProductError(f"frequencies {[f / 1e6 for f in missing]} MHz were measured with the diode only "
                               "on or only off")
        if self.output_file:
            points = [CalibrationPoint(r.frequency, round(r.gain_db, 4), round(r.noise_figure_db, 4))
                      for r in self.results]
            write_calibration(self.output_file, points,
                              calibration_datetime=dt.datetime.now(dt.timezone.utc).isoformat().replace("+00:00", "Z"),
                              reference=self.reference, temperature_c=self.temperature_c)
            self.stored = self.output_file

    def stop(self) -> bool:
        if self.error is None and self._steps_total and self._steps_done < self._steps_total:
            self.error = (f"y_factor: the stream ended after {self._steps_done} of {self._steps_total} calibration "
                          "steps; the calibration was not stored")
        return KeepThreadState.stop(self)

    def measurements(self) -> dict[str, Any] | None:
        if not self.results:
            return None
        found: dict[str, Any] = {f"{r.frequency / 1e6:g} MHz": f"gain {r.gain_db:.2f} dB, noise figure "
                                 f"{r.noise_figure_db:.2f} dB (Y {r.y_db:.2f} dB)" for r in self.results}
        if self.stored:
            found["stored in"] = self.stored
        return found
