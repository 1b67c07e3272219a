"""The radio stepped over a list of channels, and over the noise diode's two states.

``channel_source(args, samp_rate, frequencies, samples_per_channel, settle_samples, gain,
frame_size)`` is the radio of the SEA action: for each channel in ``frequencies`` it retunes, drops
``settle_samples`` and passes exactly ``samples_per_channel`` samples, the first tagged
``scos_step`` ``{frequency, capture_start, index, steps, samples}`` (and the stream's first sample
``scos_radio``): the survey's stepper (:class:`~.survey.survey_stepper`) with a plan of channels
instead of a band. Every block downstream learns from these tags where each channel's capture
begins, how long it is and at which frequency, so the plan lives in this block only.

``calibration_source(args, samp_rate, frequencies, samples, settle_samples, gain)`` is the radio
of the ``calibrate`` action: for each frequency it passes ``samples`` samples with the noise
diode off, then ``samples`` with it on, each step tagged as above plus ``noise_diode`` (on or
off), ``enr_db`` and ``temperature_c`` (the diode's excess noise ratio and the temperature the
receiver's input is at). Switching the diode is a setting of the radio, like its frequency, made
by :class:`calibration_stepper` through the radio's setter, and the settling samples after each
change are discarded as after a retune.

Radios: ``sim...`` args build :class:`~.sim.switchable_sim` (a period of signal per setting,
replayed at file speed; its receiver options ``gain_db``, ``nf_db``, ``enr_db``, ``pulse`` as
for every sim radio). Any other args open a gr-osmosdr source for the channels; a gr-osmosdr
device has no noise diode scos-gr can switch, so the calibration source refuses it with a
RadioError that says so.
"""
from __future__ import annotations

from typing import Any, Sequence

from gnuradio import gr

from scos_gr.errors import RadioError
from scos_gr.radio_args import SIM_FREQUENCY_RANGE, is_sim

from .monitor import OSMOSDR_FULL_SCALE, radio_facts, radio_monitor
from .radio import open_osmosdr, tuning_range
from .receiver import NOISE_DIODE_OFF, NOISE_DIODE_ON
from .sim import build_switchable_sim
from .survey import SurveyError, survey_stepper

#: Tag key of a calibration step's diode state (in its ``scos_step`` value).
NOISE_DIODE_KEY = "noise_diode"

#: Items of the stepper's output buffer: the blocks behind it then work on large batches, and
#: a thread hands over a buffer a few hundred times a second rather than thousands (at 14 MS/s
#: GNU Radio's default 8192-item buffers cost more in thread wake-ups than the products in CPU).
#: Only what sits in front of the stepper must settle after a retune, so this one may be large.
STEPPER_BUFFER_ITEMS = 1 << 18


def channel_plan(frequencies: Sequence[float]) -> list[float]:
    """The channels' centre frequencies as floats; SurveyError for an empty plan."""
    try:
        plan = [float(f) for f in (frequencies if isinstance(frequencies, (list, tuple)) else [frequencies])]
    except (TypeError, ValueError):
        raise SurveyError(f"channels: frequencies must be a list of numbers (Hz), not {frequencies!r}") from None
    if not plan:
        raise SurveyError("channels: at least one frequency is needed")
    return plan


class channel_stepper(survey_stepper):
    """The survey's stepper over a plan of channels (its thread state kept for the run)."""


class channel_source(gr.hier_block2):
    """The radio stepped over ``frequencies``: each channel's samples, settling excluded, tagged."""

    def __init__(self, args: str = "sim", samp_rate: float = 14e6, frequencies: Sequence[float] = (751e6,),
                 samples_per_channel: int = 56_000_000, settle_samples: int = 65536, gain: float = 0.0,
                 frame_size: int = 1):
        gr.hier_block2.__init__(self, "scos_channel_source", gr.io_signature(0, 0, 0),
                                gr.io_signature(1, 1, gr.sizeof_gr_complex))
        self.frequencies = channel_plan(frequencies)
        if int(samples_per_channel) < 1:
            raise SurveyError(f"channels: samples_per_channel must be >= 1, not {samples_per_channel}")
        self.radio, facts, full_scale = _open_radio(str(args or "sim").strip(), float(samp_rate), self.frequencies[0],
                                                    float(gain))
        if hasattr(self.radio, "prepare"):
            self.radio.prepare((f, self.radio.path) for f in self.frequencies)
        self.stepper = channel_stepper(self.radio, self.frequencies, int(samples_per_channel), int(settle_samples),
                                       facts, full_scale, frame_size=int(frame_size))
        self.stepper.set_min_output_buffer(STEPPER_BUFFER_ITEMS)
        _connect(self, self.radio, self.stepper, str(args or "sim"), float(samp_rate))


class calibration_stepper(channel_stepper):
    """Two steps per frequency, the noise diode off then on (:mod:`.receiver`'s paths); each
    ``scos_step`` tag says the diode's state, its ENR and the input's temperature."""

    def __init__(self, radio: Any, frequencies: Sequence[float], samples: int, settle_samples: int,
                 facts: dict[str, Any] | None = None, full_scale: float | None = None):
        plan = channel_plan(frequencies)
        channel_stepper.__init__(self, radio, [f for f in plan for _ in range(2)], samples, settle_samples, facts,
                                 full_scale)
        self.paths = [p for _ in plan for p in (NOISE_DIODE_OFF, NOISE_DIODE_ON)]

    def _tune(self, step: int) -> None:
        frequency, path = self.frequencies[step], self.paths[step]
        try:
            self.radio.retune(frequency, path)
        except Exception as exc:
            raise RadioError(f"calibration: cannot tune to {frequency / 1e6:.3f} MHz with the noise diode "
                             f"{'on' if path == NOISE_DIODE_ON else 'off'}: {exc}") from exc

    def _step_info(self) -> dict[str, Any]:
        info = survey_stepper._step_info(self)
        front_end = self.radio.front_end
        info.update({NOISE_DIODE_KEY: self.paths[self.step] == NOISE_DIODE_ON, "enr_db": float(front_end.enr_db),
                     "temperature_c": float(front_end.temperature_c)})
        return info


class calibration_source(gr.hier_block2):
    """The radio with its input on the noise diode, off then on at each of ``frequencies``."""

    def __init__(self, args: str = "sim", samp_rate: float = 14e6, frequencies: Sequence[float] = (751e6,),
                 samples: int = 1 << 20, settle_samples: int = 65536, gain: float = 0.0):
        gr.hier_block2.__init__(self, "scos_calibration_source", gr.io_signature(0, 0, 0),
                                gr.io_signature(1, 1, gr.sizeof_gr_complex))
        args = str(args or "sim").strip()
        self.frequencies = channel_plan(frequencies)
        if not is_sim(args):
            raise RadioError(f"radio {args!r}: calibrate needs a noise diode the flowgraph can switch on and off; "
                             "gr-osmosdr devices have none scos-gr can control (the simulated radio has one: "
                             "SCOS_RADIO=sim,enr_db=...)")
        if int(samples) < 1:
            raise SurveyError(f"calibration: samples must be >= 1, not {samples}")
        self.radio, facts, full_scale = _open_radio(args, float(samp_rate), self.frequencies[0], float(gain))
        self.radio.prepare((f, p) for f in self.frequencies for p in (NOISE_DIODE_OFF, NOISE_DIODE_ON))
        self.stepper = calibration_stepper(self.radio, self.frequencies, int(samples), int(settle_samples), facts,
                                           full_scale)
        self.stepper.set_min_output_buffer(STEPPER_BUFFER_ITEMS)
        _connect(self, self.radio, self.stepper, args, float(samp_rate))


def _open_radio(args: str, samp_rate: float, first: float, gain: float) -> tuple[Any, dict[str, Any], float | None]:
    """The radio for a plan starting at ``first``, what it knows (the ``scos_radio`` value) and its
    full scale."""
    if is_sim(args):
        radio = build_switchable_sim(args, samp_rate, first)
        driver, full_scale = "sim", radio.full_scale
        low, high = SIM_FREQUENCY_RANGE
    else:
        radio = open_osmosdr(args, samp_rate, first, gain)
        driver, full_scale = "osmosdr", OSMOSDR_FULL_SCALE
        low, high = tuning_range(radio)
    facts = radio_facts(driver=driver, args=args, frequency=first, sample_rate=samp_rate, gain=gain,
                        frequency_low=low, frequency_high=high, full_scale=full_scale)
    return radio, facts, full_scale


def _connect(hier: gr.hier_block2, radio: Any, stepper: survey_stepper, args: str, samp_rate: float) -> None:
    chain: list[Any] = [radio]
    if not is_sim(args):  # a real radio's overflows (rx_time gaps) reach each step's capture
        hier.monitor = radio_monitor(samp_rate)
        chain.append(hier.monitor)
    hier.connect(*chain, stepper, hier)
