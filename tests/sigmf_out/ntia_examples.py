"""Complete example recordings of each kind, put together from ``sigmf_out.ntia``'s builders.

Used by the builders' tests (sigmf-python must validate them, the v2 checker must find nothing)
and by the checker's tests (each rule is shown failing on a damaged copy). They are also the
pattern the writers follow: global core fields, the NTIA globals, captures, annotations, then
``core:extensions`` from what the metadata uses.
"""
from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import sigmf

from scos_gr.calibration import parse_calibration
from scos_gr.sensor_definition import parse_sensor_definition
from scos_gr.sigmf_out import ntia

DETECTORS = ("min", "max", "mean", "median", "sample")
START = 1_795_000_000.25  # 2026-11-18T...
ACTION = ntia.action("acquire700c", summary="Single-frequency FFT power detection at 751 MHz",
                     description="Tunes the radio to 751 MHz at 15.36 MS/s and computes 300 1024-point FFTs.")
SCHEDULE = ntia.schedule_entry("lte700", start=1_795_000_000, interval=60, priority=10)

DEFINITION = parse_sensor_definition({
    "sensor_spec": {"id": "roof-1", "model": "scos-gr on a Raspberry Pi"},
    "antenna": {"antenna_spec": {"id": "ANT-1"}, "type": "discone", "gain": 2.0},
    "signal_analyzer": {"sigan_spec": {"id": "SDR-1", "model": "RTL-SDR"}, "a2d_bits": 8},
    "computer_spec": {"id": "rpi5-1"},
    "mobile": False,
    "environment": {"category": "outdoor-urban"},
    "location": {"latitude": 39.99, "longitude": -105.26, "altitude": 1655.0},
}, source="example.yml")

CALIBRATION = parse_calibration({
    "calibration_datetime": "2026-11-01T00:00:00Z",
    "reference": "antenna terminal",
    "points": [{"frequency": 700e6, "gain_db": 4.0, "noise_figure_db": 5.0},
               {"frequency": 800e6, "gain_db": 2.0, "noise_figure_db": 6.0}],
}, source="cal.yml")


def _core(datatype: str, sample_rate: float) -> dict[str, Any]:
    return {
        "core:datatype": datatype,
        "core:sample_rate": sample_rate,
        "core:version": sigmf.__specification__,
        "core:num_channels": 1,
        "core:recorder": "scos-gr 0.1.0",
        "core:hw": "simulated radio (sim)",
    }


def _finish(global_: dict[str, Any], captures: list[dict[str, Any]], annotations: list[dict[str, Any]]) -> dict[str, Any]:
    global_.update(ntia.loss_totals(captures))
    metadata = {"global": global_, "captures": captures, "annotations": annotations}
    global_["core:extensions"] = ntia.declared_extensions(metadata)
    return metadata


def detection_recording(*, frequencies: Sequence[float] = (751e6,), series: Sequence[str] = DETECTORS,
                        fft_size: int = 1024, num_ffts: int = 300, sample_rate: float = 15.36e6,
                        window: str = "blackman", gain: float = 40.0, overload: Sequence[bool] | None = None,
                        dropped: Sequence[int] | None = None) -> tuple[dict[str, Any], np.ndarray]:
    """An FFT detection recording (acquire700c with one frequency, a survey with several):
    the metadata and a float32 data array of the right size (values: a noise floor and a tone)."""
    dft = ntia.dft(fft_size=fft_size, num_ffts=num_ffts, window=window, sample_rate=sample_rate,
                   description="fftshifted power spectra of windowed frames")
    graph = ntia.spectrum_graph(series=series, fft_size=fft_size, sample_rate=sample_rate, frequencies=frequencies,
                                processing=[dft["id"]], reference=CALIBRATION.reference)
    per_capture = ntia.samples_per_capture([graph])
    starts = [k * per_capture for k in range(len(frequencies))]
    overload = overload or [False] * len(frequencies)
    dropped = dropped or [0] * len(frequencies)
    captures = [
        ntia.capture_segment(ntia.CaptureFacts(
            sample_start=start, frequency=f, start=START + k * 0.05, samples=fft_size * num_ffts,
            sample_rate=sample_rate, overload=overload[k], gain=gain, dropped_samples=dropped[k],
            overflows=1 if dropped[k] else 0), CALIBRATION)
        for k, (start, f) in enumerate(zip(starts, frequencies))
    ]
    global_ = _core("rf32_le", sample_rate)
    global_.update(ntia.ntia_globals(
        sensor=ntia.sensor_object(DEFINITION, frequency_low=24e6, frequency_high=1.766e9),
        location=DEFINITION.location, action_object=ACTION, schedule=SCHEDULE, task=7,
        data_products=[graph], processing_info=[dft]))
    metadata = _finish(global_, captures, ntia.series_annotations([graph], starts))
    data = np.full(per_capture * len(frequencies), -90.0, dtype="<f4")
    data[fft_size // 2 + 64::fft_size] = -40.0
    return metadata, data


def iq_recording(*, num_samples: int = 15_360, sample_rate: float = 15.36e6, frequency: float = 751e6,
                 gain: float = 40.0) -> tuple[dict[str, Any], np.ndarray]:
    """A raw IQ recording (complex64 volts): no data products, one capture."""
    capture = ntia.capture_segment(ntia.CaptureFacts(
        sample_start=0, frequency=frequency, start=START, samples=num_samples, sample_rate=sample_rate,
        overload=False, gain=gain, overload_samples=0), CALIBRATION)
    global_ = _core("cf32_le", sample_rate)
    global_.update(ntia.ntia_globals(
        sensor=ntia.sensor_object(DEFINITION), location=DEFINITION.location,
        action_object=ntia.action("acquire_iq_751MHz", summary="Raw IQ capture at 751 MHz", description="Records IQ."),
        schedule=SCHEDULE, task=3))
    rng = np.random.default_rng(1)
    data = ((rng.standard_normal(num_samples) + 1j * rng.standard_normal(num_samples)) * 1e-4).astype("<c8")
    return _finish(global_, [capture], []), data


SEA_ACTION = ntia.action("sea_700MHz", summary="NTIA SEA data products of the LTE downlinks at 739, 751, 763 MHz",
                         description="Steps the radio over three channels and records the SEA data products.")


def sea_recording(*, frequencies: Sequence[float] = (739e6, 751e6, 763e6), fft_size: int = 175,
                  sample_rate: float = 14e6, duration_ms: float = 4000.0, pvt_bins: int = 400,
                  pfp_points: int = 560, apd_levels: tuple[float, float, float] = (-180.0, -30.0, 1.0)
                  ) -> tuple[dict[str, Any], np.ndarray]:
    """A SEA data-products recording: per channel (capture) the PSD (mean, max), the APD, power
    vs. time (mean, max) and periodic frame power (six series), and the channel power summaries."""
    samples = int(round(duration_ms * 1e-3 * sample_rate))
    num_ffts = samples // fft_size
    dft = ntia.dft(fft_size=fft_size, num_ffts=num_ffts, window="flattop", sample_rate=sample_rate, id="psd_dft")
    low, high, step = apd_levels
    levels = int(round((high - low) / step)) + 1
    graphs = [
        ntia.spectrum_graph(series=["mean", "max"], fft_size=fft_size, sample_rate=sample_rate,
                            frequencies=frequencies, processing=["psd_dft"], reference=CALIBRATION.reference),
        ntia.graph("Amplitude Probability Distribution", length=levels, x_units="percent", y_units="dBm",
                   y_start=[low], y_stop=[high], y_step=[step], reference=CALIBRATION.reference),
        ntia.graph("Power vs. Time", series=["mean", "max"], length=pvt_bins, x_units="ms", x_start=[0.0],
                   x_stop=[(pvt_bins - 1) * duration_ms / pvt_bins], x_step=[duration_ms / pvt_bins], y_units="dBm",
                   reference=CALIBRATION.reference),
        ntia.graph("Periodic Frame Power", series=["min-of-mean", "max-of-mean", "mean-of-mean", "min-of-max",
                                                   "max-of-max", "mean-of-max"],
                   length=pfp_points, x_units="ms", x_start=[0.0], x_stop=[(pfp_points - 1) * 10.0 / pfp_points],
                   x_step=[10.0 / pfp_points], y_units="dBm", reference=CALIBRATION.reference),
    ]
    per_capture = ntia.samples_per_capture(graphs)
    starts = [k * per_capture for k in range(len(frequencies))]
    captures = [
        ntia.capture_segment(ntia.CaptureFacts(
            sample_start=start, frequency=f, start=START + k * 4.1, samples=samples, sample_rate=sample_rate,
            overload=False, gain=40.0, overload_samples=0), CALIBRATION)
        for k, (start, f) in enumerate(zip(starts, frequencies))
    ]
    global_ = _core("rf32_le", sample_rate)
    global_.update(ntia.ntia_globals(
        sensor=ntia.sensor_object(DEFINITION, frequency_low=24e6, frequency_high=1.766e9),
        location=DEFINITION.location, action_object=SEA_ACTION, schedule=SCHEDULE, task=2,
        data_products=graphs, processing_info=[dft]))
    global_.update(ntia.channel_power_summaries(
        [{"max_of_max": -30.5 - k, "mean": -58.2 - k, "median": -60.1 - k, "median_of_mean": -58.3 - k}
         for k in range(len(frequencies))]))
    metadata = _finish(global_, captures, ntia.series_annotations(graphs, starts))
    data = np.full(per_capture * len(frequencies), -60.0, dtype="<f4")
    return metadata, data
