"""SigMF metadata for scos-gr recordings: SigMF core plus the NTIA extensions SCOS uses.

Three builders, all returning plain dicts ready for :func:`scos_gr.sigmf_out.writer.write_recording`
(which adds ``core:sha512`` and validates):

- :func:`detection_metadata`: an FFT power-detection recording (``rf32_le``): the detectors'
  spectra concatenated (detector i occupies samples ``i*N .. i*N+N-1``), one capture, one
  ``FrequencyDomainDetection`` annotation per detector.
- :func:`iq_metadata`: a raw IQ recording (``cf32_le``) with a ``TimeDomainDetection``
  (``sample_iq``) annotation.
- :func:`set_captures` with :class:`CaptureStep`: several captures (one per frequency step) in one
  recording, for survey actions.

Extensions used (each declared in ``core:extensions`` with its version):

- ``ntia-core`` v1.0.0: ``ntia-core:annotation_type`` on annotations, ``ntia-core:measurement``.
- ``ntia-algorithm`` v1.0.0: ``FrequencyDomainDetection`` / ``TimeDomainDetection`` fields
  (``detector``, ``number_of_samples_in_fft``, ``number_of_ffts``, ``window``,
  ``equivalent_noise_bandwidth`` in Hz, ``units``, ``reference``, ``frequency_start|stop|step``).
  Detector names follow SCOS: ``fft_min_power``, ``fft_max_power``, ``fft_mean_power``,
  ``fft_median_power``, ``fft_sample_power``; the short name (``min``...) is the annotation's
  ``core:label``.
- ``ntia-sensor`` v1.0.0: ``ntia-sensor:sensor`` (the sensor definition) and
  ``ntia-sensor:calibration_datetime``. The annotations are exactly one per detector (the API
  spec promises that), so the calibration values (gain, noise figure, correction applied,
  reference) go in the global ``scos-gr:calibration`` rather than an NTIA CalibrationAnnotation.
- ``ntia-scos`` v1.0.0: ``ntia-scos:task``, ``ntia-scos:schedule``, ``ntia-scos:action``,
  ``ntia-scos:recording``.
- ``scos-gr`` v0.1.0 (this project's own, optional): ``scos-gr:dropped_samples`` and
  ``scos-gr:overflows`` on the global object and on each capture, because no NTIA v1 field says
  that samples were lost; ``scos-gr:calibration`` keeps the full calibration values used.
  A recording with dropped samples also says so in the capture's ``core:comment``.

``context`` is the task's :class:`~scos_gr.sigmf_out.context.TaskContext` (action, schedule
entry, task id, sensor definition, radio string, calibration values applied); None makes a
recording that says nothing of a task (a flowgraph run by hand).

Datetimes are ISO 8601 UTC with microseconds and a ``Z``.
"""
from __future__ import annotations

import datetime as _dt
import sys
from dataclasses import dataclass
from typing import Any, Sequence

import sigmf

from scos_gr.radio_args import is_sim
from scos_gr.sigmf_out.context import ScheduleInfo, TaskContext
from scos_gr.sigmf_out.windows import canonical_window, enbw_bins, enbw_hz

__all__ = [
    "CaptureStep",
    "DETECTOR_NAMES",
    "EXTENSIONS",
    "detection_metadata",
    "enbw_hz",
    "enbw_bins",
    "iq_metadata",
    "iso_utc",
    "set_captures",
    "survey_metadata",
    "SurveyStep",
]

SIGMF_VERSION: str = sigmf.__specification__

#: name -> (version, optional): the extension namespaces scos-gr recordings may use.
EXTENSIONS: dict[str, tuple[str, bool]] = {
    "ntia-core": ("v1.0.0", True),
    "ntia-algorithm": ("v1.0.0", False),  # needed to know which block of data is which detector
    "ntia-sensor": ("v1.0.0", True),
    "ntia-scos": ("v1.0.0", True),
    "scos-gr": ("v0.1.0", True),
}

#: short detector name -> NTIA ``ntia-algorithm:detector`` value.
DETECTOR_NAMES: dict[str, str] = {
    "min": "fft_min_power",
    "max": "fft_max_power",
    "mean": "fft_mean_power",
    "median": "fft_median_power",
    "sample": "fft_sample_power",
}


def iso_utc(when: float | _dt.datetime | str) -> str:
    """ISO 8601 UTC with microseconds and a 'Z' from epoch seconds, a datetime or an ISO string.

    Naive datetimes are taken as UTC (that is how the store keeps them).
    """
    if isinstance(when, str):
        text = when.strip()
        when = _dt.datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
    if isinstance(when, _dt.datetime):
        if when.tzinfo is None:
            when = when.replace(tzinfo=_dt.timezone.utc)
        when = when.astimezone(_dt.timezone.utc)
    else:
        when = _dt.datetime.fromtimestamp(float(when), tz=_dt.timezone.utc)
    return when.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def detector_name(short: str) -> str:
    """The NTIA detector value for a short name (``min`` -> ``fft_min_power``); others pass as is."""
    return DETECTOR_NAMES.get(short.strip().lower(), short.strip())


def detection_metadata(
    *,
    fft_size: int,
    num_ffts: int,
    sample_rate: float,
    center_frequency: float,
    window: str,
    detectors: Sequence[str],
    capture_start: float,
    dropped_samples: int = 0,
    context: TaskContext | None = None,
    overflows: int = 0,
    capture_stop: float | None = None,
    units: str = "dBm",
) -> dict[str, Any]:
    """Metadata of an FFT detection recording: ``len(detectors)`` spectra of ``fft_size`` float32.

    - ``fft_size`` (N), ``num_ffts`` (frames each detector ran over), ``sample_rate`` (Hz, of the
      time-domain samples), ``center_frequency`` (Hz, at bin N/2 after fftshift).
    - ``window``: the FFT window's name (``blackman``...); its ENBW in Hz is recorded.
    - ``detectors``: short names (``min``, ``max``, ``mean``, ``median``, ``sample``) in the order
      their spectra are in the data file.
    - ``capture_start``: epoch seconds (float) of the first sample: ``core:datetime``.
    - ``dropped_samples``, ``overflows``: counted losses during the capture (0 = gap-free).
    - ``context``: task, schedule entry, action, sensor, calibration (see the module docstring).
    - ``capture_stop``: epoch seconds of the end; default start + N*num_ffts/sample_rate.
    - ``units``: the data's units (the detectors output dBm).
    """
    fft_size, num_ffts = int(fft_size), int(num_ffts)
    sample_rate, center_frequency = float(sample_rate), float(center_frequency)
    if fft_size < 1 or num_ffts < 1 or not sample_rate > 0:
        raise ValueError("fft_size and num_ffts must be >= 1 and sample_rate > 0")
    detectors = [str(d).strip() for d in (detectors.split(",") if isinstance(detectors, str) else detectors)]
    detectors = [d for d in detectors if d]
    if not detectors:
        raise ValueError("at least one detector is needed")
    ctx = context or TaskContext()
    window_name = canonical_window(window)
    calibration = dict(ctx.calibration or {})
    if capture_stop is None:
        capture_stop = float(capture_start) + (fft_size * num_ffts + int(dropped_samples)) / sample_rate

    metadata = _skeleton("rf32_le", sample_rate, ctx, dropped_samples, overflows)
    g = metadata["global"]
    g["ntia-core:measurement"] = _measurement("Frequency", capture_start, capture_stop, center_frequency)
    metadata["captures"] = [_capture(0, center_frequency, capture_start, dropped_samples, overflows)]

    step = sample_rate / fft_size
    common = {
        "ntia-core:annotation_type": "FrequencyDomainDetection",
        "ntia-algorithm:number_of_samples_in_fft": fft_size,
        "ntia-algorithm:number_of_ffts": num_ffts,
        "ntia-algorithm:window": window_name,
        "ntia-algorithm:equivalent_noise_bandwidth": enbw_hz(window_name, fft_size, sample_rate),
        "ntia-algorithm:units": units,
        "ntia-algorithm:frequency_start": center_frequency - (fft_size // 2) * step,
        "ntia-algorithm:frequency_stop": center_frequency + (fft_size - 1 - fft_size // 2) * step,
        "ntia-algorithm:frequency_step": step,
    }
    reference = calibration.get("reference")
    if reference:
        common["ntia-algorithm:reference"] = str(reference)
    annotations = []
    for i, name in enumerate(detectors):
        annotation = {"core:sample_start": i * fft_size, "core:sample_count": fft_size, "core:label": name}
        annotation.update(common)
        annotation["ntia-algorithm:detector"] = detector_name(name)
        annotations.append(annotation)
    metadata["annotations"] = _sorted(annotations)
    g["scos-gr:enbw_bins"] = enbw_bins(window_name, fft_size)
    return metadata


def iq_metadata(
    *,
    sample_rate: float,
    center_frequency: float,
    capture_start: float,
    num_samples: int,
    dropped_samples: int = 0,
    context: TaskContext | None = None,
    overflows: int = 0,
    capture_stop: float | None = None,
) -> dict[str, Any]:
    """Metadata of a raw IQ recording: ``num_samples`` complex64 samples (``cf32_le``) in volts.

    Arguments as in :func:`detection_metadata`; ``num_samples`` is the length of the data file
    in samples (8 bytes each).
    """
    sample_rate, center_frequency, num_samples = float(sample_rate), float(center_frequency), int(num_samples)
    if not sample_rate > 0 or num_samples < 0:
        raise ValueError("sample_rate must be > 0 and num_samples >= 0")
    ctx = context or TaskContext()
    calibration = dict(ctx.calibration or {})
    if capture_stop is None:
        capture_stop = float(capture_start) + (num_samples + int(dropped_samples)) / sample_rate
    metadata = _skeleton("cf32_le", sample_rate, ctx, dropped_samples, overflows)
    metadata["global"]["ntia-core:measurement"] = _measurement("Time", capture_start, capture_stop, center_frequency)
    metadata["captures"] = [_capture(0, center_frequency, capture_start, dropped_samples, overflows)]
    detection = {
        "core:sample_start": 0,
        "core:sample_count": num_samples,
        "ntia-core:annotation_type": "TimeDomainDetection",
        "ntia-algorithm:detector": "sample_iq",
        "ntia-algorithm:number_of_samples": num_samples,
        "ntia-algorithm:units": "volts",
    }
    if calibration.get("reference"):
        detection["ntia-algorithm:reference"] = str(calibration["reference"])
    metadata["annotations"] = [detection]
    return metadata


@dataclass(frozen=True)
class SurveyStep:
    """What a survey measured at one frequency step: its centre, first sample and losses."""

    frequency: float
    capture_start: float
    dropped_samples: int = 0
    overflows: int = 0


def survey_metadata(
    *,
    fft_size: int,
    num_ffts: int,
    sample_rate: float,
    window: str,
    detectors: Sequence[str],
    steps: Sequence[SurveyStep],
    context: TaskContext | None = None,
) -> dict[str, Any]:
    """Metadata of a stepped survey: per step, ``len(detectors)`` spectra of ``fft_size`` float32.

    The data file holds the steps one after the other, each step's detector spectra in the order
    of ``detectors`` (step s, detector i starts at sample ``(s * len(detectors) + i) * fft_size``);
    one capture per step (its centre frequency and time) and one annotation per step and
    detector, whose frequency edges are that step's span.
    """
    if not steps:
        raise ValueError("a survey needs at least one step")
    n, d = int(fft_size), len(detectors)
    first = steps[0]
    metadata = detection_metadata(
        fft_size=n, num_ffts=num_ffts, sample_rate=sample_rate, center_frequency=first.frequency, window=window,
        detectors=detectors, capture_start=first.capture_start,
        dropped_samples=sum(int(s.dropped_samples) for s in steps),
        overflows=sum(int(s.overflows) for s in steps), context=context,
    )
    template = metadata["annotations"]
    annotations = []
    for s, step in enumerate(steps):
        for i, base in enumerate(template):
            annotation = dict(base)
            annotation["core:sample_start"] = (s * d + i) * n
            annotation["core:freq_lower_edge"] = step.frequency - float(sample_rate) / 2
            annotation["core:freq_upper_edge"] = step.frequency + float(sample_rate) / 2
            annotations.append(annotation)
    metadata["annotations"] = annotations
    set_captures(metadata, [CaptureStep(frequency=step.frequency, sample_start=s * d * n,
                                        capture_start=step.capture_start,
                                        dropped_samples=int(step.dropped_samples), overflows=int(step.overflows))
                            for s, step in enumerate(steps)])
    return metadata


@dataclass(frozen=True)
class CaptureStep:
    """One frequency step of a multi-capture recording.

    ``sample_start``: index (in samples of the recording's datatype) where this step's data
    begins; ``capture_start``: epoch seconds of its first sample.
    """

    frequency: float
    sample_start: int
    capture_start: float
    dropped_samples: int = 0
    overflows: int = 0


def set_captures(metadata: dict[str, Any], steps: Sequence[CaptureStep]) -> dict[str, Any]:
    """Replace the captures of ``metadata`` by one per step (sorted by ``sample_start``).

    Also widens ``ntia-core:measurement`` to the tuned range and the time span of the steps
    (``measurement_type`` ``multi-frequency`` when the steps use more than one frequency), and
    sums the dropped-sample counts into the global ones. Returns ``metadata`` (changed in place).
    """
    if not steps:
        raise ValueError("at least one capture step is needed")
    steps = sorted(steps, key=lambda s: int(s.sample_start))
    starts = [int(s.sample_start) for s in steps]
    if starts[0] < 0 or len(set(starts)) != len(starts):
        raise ValueError("capture sample_start values must be >= 0 and distinct")
    metadata["captures"] = [
        _capture(int(s.sample_start), float(s.frequency), s.capture_start, s.dropped_samples, s.overflows)
        for s in steps
    ]
    g = metadata["global"]
    frequencies = [float(s.frequency) for s in steps]
    measurement = g.setdefault("ntia-core:measurement", {"domain": "Frequency"})
    measurement["measurement_type"] = "multi-frequency" if len(set(frequencies)) > 1 else "single-frequency"
    measurement["frequency_tuned_low"] = min(frequencies)
    measurement["frequency_tuned_high"] = max(frequencies)
    measurement["time_start"] = iso_utc(min(s.capture_start for s in steps))
    g["scos-gr:dropped_samples"] = sum(int(s.dropped_samples) for s in steps)
    g["scos-gr:overflows"] = sum(int(s.overflows) for s in steps)
    return metadata


# ---------------------------------------------------------------------------------------------

def _skeleton(datatype: str, sample_rate: float, ctx: TaskContext, dropped: int, overflows: int) -> dict[str, Any]:
    g: dict[str, Any] = {
        "core:datatype": datatype,
        "core:sample_rate": float(sample_rate),
        "core:version": SIGMF_VERSION,
        "core:num_channels": 1,
        "core:recorder": _recorder(),
        "core:hw": _hw(ctx),
        "core:extensions": [
            {"name": name, "version": version, "optional": optional}
            for name, (version, optional) in EXTENSIONS.items()
        ],
        "scos-gr:dropped_samples": int(dropped),
        "scos-gr:overflows": int(overflows),
    }
    if ctx.action is not None:
        action = {"name": ctx.action.name}
        action.update({k: v for k, v in (("summary", ctx.action.summary), ("description", ctx.action.description)) if v})
        g["ntia-scos:action"] = action
        if ctx.action.summary:
            g["core:description"] = ctx.action.summary
    if ctx.schedule is not None:
        g["ntia-scos:schedule"] = _schedule(ctx.schedule)
    if ctx.task_id is not None:
        g["ntia-scos:task"] = ctx.task_id
    if ctx.sensor:
        g["ntia-sensor:sensor"] = dict(ctx.sensor)
    calibration = dict(ctx.calibration or {})
    if calibration.get("calibration_datetime"):
        try:
            g["ntia-sensor:calibration_datetime"] = iso_utc(calibration["calibration_datetime"])
        except (TypeError, ValueError):
            pass  # a malformed date in a calibration file must not cost the recording
    if calibration:
        g["scos-gr:calibration"] = {k: v for k, v in calibration.items() if v is not None}
    return {"global": g, "captures": [], "annotations": []}


def _measurement(domain: str, start: Any, stop: Any, frequency: float) -> dict[str, Any]:
    """``ntia-core:measurement`` of a single-frequency recording."""
    return {
        "domain": domain,
        "measurement_type": "single-frequency",
        "time_start": iso_utc(start),
        "time_stop": iso_utc(stop),
        "frequency_tuned_low": frequency,
        "frequency_tuned_high": frequency,
    }


def _capture(sample_start: int, frequency: float, start: float, dropped: int, overflows: int) -> dict[str, Any]:
    capture: dict[str, Any] = {
        "core:sample_start": int(sample_start),
        "core:frequency": float(frequency),
        "core:datetime": iso_utc(start),
        "scos-gr:dropped_samples": int(dropped),
        "scos-gr:overflows": int(overflows),
    }
    if dropped or overflows:
        capture["core:comment"] = (
            f"not gap-free: {int(dropped)} samples dropped, {int(overflows)} overflows reported by the radio"
        )
    return capture


def _sorted(annotations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    # SigMF requires annotations ordered by sample_start; the sort is stable.
    return sorted(annotations, key=lambda a: a["core:sample_start"])


def _schedule(entry: ScheduleInfo) -> dict[str, Any]:
    schedule: dict[str, Any] = {"id": entry.name, "name": entry.name}
    for key in ("start", "stop"):
        value = getattr(entry, key)
        if value is not None:
            schedule[key] = iso_utc(value)
    for key in ("interval", "priority"):
        if getattr(entry, key) is not None:
            schedule[key] = getattr(entry, key)
    return schedule


def _hw(ctx: TaskContext) -> str:
    """``core:hw``: the signal analyser's model when the sensor definition names one, else the
    radio the task used."""
    model = dict(dict(ctx.sensor.get("signal_analyzer") or {}).get("sigan_spec") or {}).get("model")
    if model:
        return str(model)
    if ctx.radio:
        return f"simulated radio ({ctx.radio})" if is_sim(ctx.radio) else f"gr-osmosdr ({ctx.radio})"
    return "unknown"


def _recorder() -> str:
    from scos_gr import __version__

    gr = sys.modules.get("gnuradio.gr")
    gr_version = getattr(gr, "version", None)
    if callable(gr_version):
        try:
            return f"scos-gr {__version__} (GNU Radio {gr_version()})"
        except Exception:  # pragma: no cover - a broken GNU Radio must not cost a recording
            pass
    return f"scos-gr {__version__}"
