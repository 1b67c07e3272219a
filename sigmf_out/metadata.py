"""The SigMF metadata of scos-gr's recordings: SigMF 1.x core with the NTIA extensions v2.

Two builders, both returning plain dicts ready for :func:`scos_gr.sigmf_out.writer.write_recording`
(which adds ``core:sha512`` and validates); ``docs/metadata.md`` says field by field what they
write, and :mod:`scos_gr.sigmf_out.ntia` builds each NTIA object:

- :func:`detection_metadata`: FFT detector spectra (``rf32_le``, dBm), one capture per frequency
  (acquire700c: one; the survey: one per step), each capture's data the detectors' spectra in
  order. One ``ntia-algorithm`` Graph (``series`` = the detectors) and its DFT object, one
  annotation per series per capture.
- :func:`iq_metadata`: raw IQ samples (``cf32_le``, volts across 50 ohm), one capture, no data
  products.

What the signal path measured comes in as :class:`Capture` (per capture), :class:`Spectra` (how
the detection spectra were computed) and :class:`Radio` (the radio that delivered the samples);
what the recording says about its task (sensor definition, classification, action, schedule
entry, task id, calibration applied) comes in as the task's
:class:`~scos_gr.sigmf_out.context.TaskContext` (None: a flowgraph run by hand, which says
nothing of a task).
"""
from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import sigmf

from scos_gr.calibration import UNCALIBRATED
from scos_gr.sigmf_out import ntia
from scos_gr.sigmf_out.context import TaskContext
from scos_gr.sigmf_out.windows import canonical_window

__all__ = ["Capture", "Radio", "Spectra", "SIGMF_VERSION", "detection_metadata", "iq_metadata", "products_metadata"]

SIGMF_VERSION: str = sigmf.__specification__

#: the one DFT object's id, named by the graph's ``processing``
DFT_ID = "dft"


@dataclass(frozen=True)
class Radio:
    """The radio that delivered the samples (the ``scos_radio`` stream tag): ``driver`` ``sim``
    or ``osmosdr``, its device string, and the frequency range it tunes (None: unknown)."""

    driver: str
    args: str
    frequency_low: float | None = None
    frequency_high: float | None = None


@dataclass(frozen=True)
class Capture:
    """One capture as the signal path measured it.

    ``frequency``: the radio's centre frequency (Hz); ``start``: epoch seconds of its first
    time-domain sample; ``samples``: time-domain samples it used; ``gain``: the radio's gain
    setting (dB); ``dropped_samples``/``overflows``: losses the radio reported;
    ``overload_samples``: samples at or above the radio's full scale.
    """

    frequency: float
    start: float
    samples: int
    gain: float | None = None
    dropped_samples: int = 0
    overflows: int = 0
    overload_samples: int = 0


@dataclass(frozen=True)
class Spectra:
    """How detection spectra were computed: ``num_ffts`` DFTs of ``fft_size`` samples through
    ``window``; ``detectors`` in the order their spectra are in each capture's data."""

    fft_size: int
    num_ffts: int
    window: str
    detectors: tuple[str, ...]


def detection_metadata(*, spectra: Spectra, sample_rate: float, captures: Sequence[Capture], radio: Radio,
                       context: TaskContext | None = None) -> dict[str, Any]:
    """Metadata of an FFT detection recording: per capture, ``len(spectra.detectors)`` spectra
    of ``spectra.fft_size`` float32 dBm values (capture k starts at sample
    ``k * len(detectors) * fft_size``)."""
    if not captures:
        raise ntia.NtiaMetadataError("a detection recording needs at least one capture")
    if not spectra.detectors:
        raise ntia.NtiaMetadataError("a detection recording needs at least one detector")
    ctx = context or TaskContext()
    dft = ntia.dft(fft_size=spectra.fft_size, num_ffts=spectra.num_ffts, window=canonical_window(spectra.window),
                   sample_rate=sample_rate, id=DFT_ID)
    graph = ntia.spectrum_graph(series=list(spectra.detectors), fft_size=spectra.fft_size, sample_rate=sample_rate,
                                frequencies=[c.frequency for c in captures], processing=[DFT_ID],
                                reference=_reference(ctx))
    per_capture = ntia.samples_per_capture([graph])
    starts = [k * per_capture for k in range(len(captures))]
    segments = [_segment(c, start, sample_rate, ctx) for c, start in zip(captures, starts)]
    g = _global("rf32_le", sample_rate, radio, ctx, data_products=[graph], processing_info=[dft])
    return _finish(g, segments, ntia.series_annotations([graph], starts))


def products_metadata(*, graphs: Sequence[Mapping[str, Any]], processing_info: Sequence[Mapping[str, Any]] = (),
                      sample_rate: float, captures: Sequence[Capture], radio: Radio,
                      context: TaskContext | None = None,
                      summaries: Sequence[Mapping[str, float]] = ()) -> dict[str, Any]:
    """Metadata of a data-products recording (the SEA action): per capture, every graph's series
    in turn, ``length`` float32 values each (capture k starts at ``k x`` the sum of the graphs'
    sizes). ``graphs`` are ntia-algorithm Graphs without ``reference`` (the calibration's
    reference point is set here, as for detection recordings); ``processing_info`` holds the
    objects their ``processing`` names (the PSD's DFT). ``summaries``: per capture, the channel
    power summaries (``max_of_max``, ``mean``, ``median``, ``median_of_mean``, dBm) written as
    the ``ntia-nasctn-sea`` global fields, when every capture has them."""
    if not captures:
        raise ntia.NtiaMetadataError("a data-products recording needs at least one capture")
    if not graphs:
        raise ntia.NtiaMetadataError("a data-products recording needs at least one graph")
    ctx = context or TaskContext()
    reference = _reference(ctx)
    products = [{**dict(g), "reference": reference} for g in graphs]
    per_capture = ntia.samples_per_capture(products)
    starts = [k * per_capture for k in range(len(captures))]
    segments = [_segment(c, start, sample_rate, ctx) for c, start in zip(captures, starts)]
    g = _global("rf32_le", sample_rate, radio, ctx, data_products=products, processing_info=processing_info)
    if summaries:
        if len(summaries) != len(captures):
            raise ntia.NtiaMetadataError(f"{len(summaries)} channel power summaries for {len(captures)} captures")
        g.update(ntia.channel_power_summaries(summaries))
    return _finish(g, segments, ntia.series_annotations(products, starts))


def iq_metadata(*, sample_rate: float, capture: Capture, radio: Radio,
                context: TaskContext | None = None) -> dict[str, Any]:
    """Metadata of a raw IQ recording: ``capture.samples`` complex64 samples (``cf32_le``) in
    volts across 50 ohm, as the radio delivered them (no calibration applied to the data)."""
    ctx = context or TaskContext()
    g = _global("cf32_le", sample_rate, radio, ctx)
    return _finish(g, [_segment(capture, 0, sample_rate, ctx)], [])


# ---------------------------------------------------------------------------------------------

def _global(datatype: str, sample_rate: float, radio: Radio, ctx: TaskContext, *,
            data_products: Sequence[Mapping[str, Any]] = (),
            processing_info: Sequence[Mapping[str, Any]] = ()) -> dict[str, Any]:
    g: dict[str, Any] = {
        "core:datatype": datatype,
        "core:sample_rate": float(sample_rate),
        "core:version": SIGMF_VERSION,
        "core:num_channels": 1,
        "core:recorder": _recorder(),
        "core:hw": _hw(radio),
    }
    sensor = None
    if ctx.sensor is not None:
        sensor = ntia.sensor_object(ctx.sensor, frequency_low=radio.frequency_low, frequency_high=radio.frequency_high)
    action = None
    if ctx.action is not None:
        action = ntia.action(ctx.action.name, summary=ctx.action.summary, description=ctx.action.description)
    schedule = None
    if ctx.schedule is not None:
        s = ctx.schedule
        schedule = ntia.schedule_entry(s.name, start=s.start, stop=s.stop, interval=s.interval, priority=s.priority)
    g.update(ntia.ntia_globals(
        classification_marking=ctx.classification, sensor=sensor,
        location=ctx.sensor.location if ctx.sensor is not None else None,
        action_object=action, schedule=schedule, task=ctx.task_id,
        data_products=data_products, processing_info=processing_info))
    return g


def _segment(capture: Capture, sample_start: int, sample_rate: float, ctx: TaskContext) -> dict[str, Any]:
    facts = ntia.CaptureFacts(
        sample_start=sample_start, frequency=capture.frequency, start=capture.start, samples=capture.samples,
        sample_rate=sample_rate, overload=capture.overload_samples > 0, gain=capture.gain,
        dropped_samples=capture.dropped_samples, overflows=capture.overflows,
        overload_samples=capture.overload_samples)
    segment = ntia.capture_segment(facts, applied=_applied_calibration(ctx))
    if capture.dropped_samples or capture.overflows:
        segment["core:comment"] = (f"not gap-free: {capture.dropped_samples} samples dropped, "
                                   f"{capture.overflows} overflows reported by the radio")
    return segment


def _applied_calibration(ctx: TaskContext) -> dict[str, Any] | None:
    """``ntia-sensor:sensor_calibration``: the calibration values the task applied (the runner
    reads the table at the action's frequency, the one every capture's data was corrected by)."""
    if not ctx.calibration:
        return None
    return ntia.applied_calibration(ctx.calibration)


def _reference(ctx: TaskContext) -> str:
    """Where the detectors' dBm are referred to: the calibration's reference point."""
    values = ctx.calibration or {}
    return str(values.get("reference") or UNCALIBRATED.reference)


def _finish(g: dict[str, Any], captures: list[dict[str, Any]], annotations: list[dict[str, Any]]) -> dict[str, Any]:
    g.update(ntia.loss_totals(captures))
    metadata = {"global": g, "captures": captures, "annotations": annotations}
    g["core:extensions"] = ntia.declared_extensions(metadata)
    return metadata


def _hw(radio: Radio) -> str:
    """``core:hw``: the radio in use."""
    if radio.driver == "sim":
        return f"simulated radio ({radio.args})"
    return f"gr-osmosdr ({radio.args})"


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
