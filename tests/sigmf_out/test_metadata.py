"""The recordings' metadata builders (SigMF 1.x with the NTIA extensions v2): what the signal path
measured and what the task context says, put where the v2 documents and docs/metadata.md put it;
the window table; the typed task context."""
from __future__ import annotations

import datetime as dt
import json
import re
import warnings

import numpy as np
import pytest
import sigmf
from sigmf import SigMFFile

from scos_gr.calibration import UNCALIBRATED, parse_calibration
from scos_gr.sensor_definition import parse_sensor_definition
from scos_gr.sigmf_out.context import ActionInfo, ContextError, ScheduleInfo, TaskContext
from scos_gr.sigmf_out.metadata import Capture, Radio, Spectra, detection_metadata, iq_metadata
from scos_gr.sigmf_out.ntia import NtiaMetadataError
from scos_gr.sigmf_out.windows import (
    canonical_window,
    enbw_bins,
    enbw_hz,
    known_windows,
    window_coefficients,
)
from tests.sigmf_out.ntia_v2 import problems, project_problems

DETECTORS = ("min", "max", "mean", "median", "sample")
START = 1_795_000_000.123456  # 2026-11-18T...
RADIO = Radio(driver="osmosdr", args="rtl=0", frequency_low=24e6, frequency_high=1.766e9)
DEFINITION = parse_sensor_definition({
    "sensor_spec": {"id": "roof-1", "model": "scos-gr"},
    "signal_analyzer": {"sigan_spec": {"id": "SDR-1"}, "frequency_low": 1.0, "frequency_high": 2.0},
    "mobile": False,
    "location": {"latitude": 39.99, "longitude": -105.26, "altitude": 1655.0},
}, source="sensor.yml")
CALIBRATION = parse_calibration({"calibration_datetime": "2026-11-01T00:00:00Z", "reference": "antenna terminal",
                                 "points": [{"frequency": 751e6, "gain_db": 3.0, "noise_figure_db": 5.0}]},
                                source="cal.yml")


def full_context() -> TaskContext:
    return TaskContext(
        task_id=7,
        schedule=ScheduleInfo(name="lte700", start=1_795_000_000, stop=None, interval=60, priority=10),
        action=ActionInfo(name="acquire700c", summary="FFT detection at 751 MHz", description="long text"),
        sensor=DEFINITION,
        classification="CUI",
        calibration=CALIBRATION.at(751e6),
        radio="rtl=0",
    )


def capture(frequency=751e6, start=START, **changes) -> Capture:
    values = dict(frequency=frequency, start=start, samples=1024 * 300, gain=40.0)
    values.update(changes)
    return Capture(**values)


def build(captures=None, detectors=DETECTORS, context="full", fft_size=1024, num_ffts=300, window="blackman"):
    return detection_metadata(spectra=Spectra(fft_size, num_ffts, window, tuple(detectors)), sample_rate=15.36e6,
                              captures=captures or [capture()], radio=RADIO,
                              context=full_context() if context == "full" else context)


def data_bytes(metadata: dict) -> int:
    graph = metadata["global"]["ntia-algorithm:data_products"][0]
    return 4 * len(graph["series"]) * graph["length"] * len(metadata["captures"])


def validate_strict(metadata: dict) -> None:
    """sigmf-python schema validation, with undeclared-namespace warnings turned into failures."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SigMFFile(metadata=metadata).validate()


# --- windows ---------------------------------------------------------------------------------

def test_blackman_enbw_is_the_textbook_1_73_bins():
    assert enbw_bins("blackman", 1024) == pytest.approx(1.73, abs=0.005)
    assert enbw_bins("rectangular", 1024) == pytest.approx(1.0, abs=1e-12)
    assert enbw_bins("hann", 4096) == pytest.approx(1.5, abs=0.001)
    assert enbw_bins("flattop", 1024) == pytest.approx(3.77, abs=0.01)


def test_enbw_hz_matches_an_independent_computation():
    n, fs = 1024, 15.36e6
    k = np.arange(n)
    w = 0.42 - 0.5 * np.cos(2 * np.pi * k / (n - 1)) + 0.08 * np.cos(4 * np.pi * k / (n - 1))
    expected = n * np.sum(w**2) / np.sum(w) ** 2 * fs / n
    assert enbw_hz("blackman", n, fs) == pytest.approx(expected, rel=1e-9)
    assert enbw_hz("Window.Blackman", n, fs) == enbw_hz("blackman", n, fs)  # GRC spelling accepted
    assert enbw_hz("blackman", n, 2 * fs) == pytest.approx(2 * expected, rel=1e-9)


def test_window_coefficients_are_gnuradios():
    from gnuradio.fft import window

    for name, gr in (("blackman", window.blackman), ("hann", window.hann), ("hamming", window.hamming)):
        assert np.allclose(window_coefficients(name, 64), np.array(gr(64)), atol=1e-6), name


def test_known_windows_are_the_canonical_names_once_each():
    names = known_windows()
    assert names[0] == "blackman" and len(set(names)) == len(names) == 8
    assert all(canonical_window(name) == name for name in names)
    assert canonical_window("hanning") == "hann" and "hanning" not in names


def test_unknown_window_is_refused():
    with pytest.raises(ValueError, match="unknown FFT window"):
        enbw_hz("blackmann", 1024, 1e6)


# --- detection recordings ----------------------------------------------------------------------

def test_a_detection_recording_is_what_a_v2_reader_expects():
    metadata = build()
    validate_strict(metadata)
    assert problems(metadata, data_bytes(metadata)) == []
    assert project_problems(metadata) == []
    g = metadata["global"]
    assert g["core:datatype"] == "rf32_le" and g["core:sample_rate"] == 15.36e6
    assert g["core:version"] == sigmf.__specification__ and g["core:recorder"].startswith("scos-gr")
    assert g["core:hw"] == "gr-osmosdr (rtl=0)"
    assert [e["name"] for e in g["core:extensions"]] == ["ntia-core", "ntia-algorithm", "ntia-sensor", "ntia-scos",
                                                         "scos-gr"]
    assert not any(k.startswith("ntia-core:measurement") for k in g)


def test_the_graph_and_the_dft_say_what_the_data_are():
    g = build(window="hann")["global"]
    [graph] = g["ntia-algorithm:data_products"]
    assert graph["series"] == list(DETECTORS) and graph["length"] == 1024
    assert graph["x_units"] == "Hz" and graph["y_units"] == "dBm" and graph["processing"] == ["dft"]
    assert graph["x_step"] == [15e3] and graph["x_start"][0] + 512 * 15e3 == pytest.approx(751e6)
    assert graph["reference"] == "antenna terminal"
    [dft] = g["ntia-algorithm:processing_info"]
    assert dft == {"type": "DFT", "id": "dft", "equivalent_noise_bandwidth": pytest.approx(enbw_hz("hann", 1024, 15.36e6)),
                   "samples": 1024, "dfts": 300, "window": "hanning", "baseband": False}


def test_detector_order_follows_the_spectra_and_each_has_its_annotation():
    metadata = build(detectors=("max", "sample"), fft_size=16, num_ffts=11,
                     captures=[capture(samples=16 * 11)])
    assert metadata["global"]["ntia-algorithm:data_products"][0]["series"] == ["max", "sample"]
    assert [(a["core:label"], a["core:sample_start"], a["core:sample_count"]) for a in metadata["annotations"]] == [
        ("max", 0, 16), ("sample", 16, 16)]


def test_each_capture_says_when_where_how_long_and_how_the_radio_was_set():
    [c] = build()["captures"]
    assert c["core:sample_start"] == 0 and c["core:frequency"] == 751e6
    parsed = dt.datetime.fromisoformat(c["core:datetime"][:-1] + "+00:00")
    assert c["core:datetime"].endswith("Z") and parsed.timestamp() == pytest.approx(START, abs=1e-6)
    assert c["ntia-sensor:duration"] == 20  # 300 x 1024 samples at 15.36 MS/s
    assert c["ntia-sensor:overload"] is False and c["scos-gr:overload_samples"] == 0
    assert c["ntia-sensor:sigan_settings"] == {"gain": 40.0}
    assert c["ntia-sensor:sensor_calibration"] == {"datetime": "2026-11-01T00:00:00.000000Z", "gain": 3.0,
                                                   "noise_figure": 5.0, "reference": "antenna terminal"}


def test_samples_at_full_scale_mark_the_capture_overloaded():
    [c] = build(captures=[capture(overload_samples=12)])["captures"]
    assert c["ntia-sensor:overload"] is True and c["scos-gr:overload_samples"] == 12


def test_the_sensor_its_location_classification_and_the_task():
    g = build()["global"]
    assert g["ntia-core:classification"] == "CUI"
    sensor = g["ntia-sensor:sensor"]
    assert sensor["sensor_spec"] == {"id": "roof-1", "model": "scos-gr"} and sensor["sensor_sha512"] == DEFINITION.sha512
    # the radio in use, whatever the definition says
    assert (sensor["signal_analyzer"]["frequency_low"], sensor["signal_analyzer"]["frequency_high"]) == (24e6, 1.766e9)
    assert "location" not in sensor
    assert g["core:geolocation"] == {"type": "Point", "coordinates": [-105.26, 39.99, 1655.0]}
    assert g["ntia-scos:task"] == 7
    assert g["ntia-scos:schedule"] == {"id": "lte700", "name": "lte700", "start": "2026-11-18T11:06:40.000000Z",
                                       "interval": 60, "priority": 10}
    assert g["ntia-scos:action"] == {"name": "acquire700c", "summary": "FFT detection at 751 MHz",
                                     "description": "long text"}
    assert g["core:description"] == "FFT detection at 751 MHz"


def test_a_survey_has_one_capture_and_one_x_axis_per_step():
    steps = [capture(frequency=704.144e6 + 12.288e6 * k, start=START + 0.01 * k, samples=1024 * 100,
                     dropped_samples=5 * k, overflows=k) for k in range(3)]
    metadata = build(captures=steps, detectors=("mean", "max"), num_ffts=100)
    assert problems(metadata, data_bytes(metadata)) == []
    assert project_problems(metadata) == []
    assert [c["core:sample_start"] for c in metadata["captures"]] == [0, 2048, 4096]
    graph = metadata["global"]["ntia-algorithm:data_products"][0]
    assert [round(x + 512 * 15e3) for x in graph["x_start"]] == [704144000, 716432000, 728720000]
    assert len(metadata["annotations"]) == 6
    assert (metadata["global"]["scos-gr:dropped_samples"], metadata["global"]["scos-gr:overflows"]) == (15, 3)
    assert "10 samples dropped" in metadata["captures"][2]["core:comment"]


def test_an_uncalibrated_sensor_writes_no_calibration_and_refers_to_the_radio_input():
    context = TaskContext(calibration=UNCALIBRATED.at(751e6))
    metadata = build(context=context)
    assert "ntia-sensor:sensor_calibration" not in metadata["captures"][0]
    assert metadata["global"]["ntia-algorithm:data_products"][0]["reference"] == "radio input (uncalibrated)"


def test_a_recording_without_a_task_says_nothing_of_one():
    bare = build(context=None)
    validate_strict(bare)
    assert problems(bare, data_bytes(bare)) == []
    assert bare["global"]["ntia-core:classification"] == "UNCLASSIFIED"
    assert not any(key.startswith("ntia-scos:") for key in bare["global"])
    assert "ntia-sensor:sensor" not in bare["global"] and "core:geolocation" not in bare["global"]
    assert build(context=TaskContext.from_json("{}")) == bare


def test_bad_arguments_are_refused():
    with pytest.raises(NtiaMetadataError):
        build(detectors=())
    with pytest.raises(NtiaMetadataError):
        build(fft_size=0)
    with pytest.raises(NtiaMetadataError):
        detection_metadata(spectra=Spectra(16, 1, "blackman", ("mean",)), sample_rate=1e6, captures=[], radio=RADIO)


# --- IQ recordings --------------------------------------------------------------------------------

def test_an_iq_recording_is_samples_with_one_capture_and_no_data_products():
    metadata = iq_metadata(sample_rate=15.36e6, capture=capture(samples=1_536_000, overload_samples=3),
                           radio=Radio("sim", "sim,seed=1"), context=full_context())
    validate_strict(metadata)
    assert problems(metadata, 1_536_000 * 8) == []
    assert project_problems(metadata) == []
    g = metadata["global"]
    assert g["core:datatype"] == "cf32_le" and g["core:hw"] == "simulated radio (sim,seed=1)"
    assert "ntia-algorithm:data_products" not in g and metadata["annotations"] == []
    assert "ntia-algorithm" not in [e["name"] for e in g["core:extensions"]]
    [c] = metadata["captures"]
    assert c["ntia-sensor:duration"] == 100 and c["ntia-sensor:overload"] is True


# --- the task context -----------------------------------------------------------------------------

def test_the_context_travels_as_json_and_back_unchanged():
    text = full_context().to_json()
    back = TaskContext.from_json(text)
    assert back.to_json() == text
    assert back.sensor.sha512 == DEFINITION.sha512 and back.sensor.location == DEFINITION.location
    assert back.classification == "CUI"
    assert build(context=back) == build()


@pytest.mark.parametrize("text, named", [
    ('{"entry_name": "e"}', "entry_name"),  # an alias the old context took: now a clear error
    ('{"task_id": "3"}', "task_id"),
    ('{"schedule": {"name": "e", "every": 5}}', "every"),
    ('{"schedule": {"name": 5}}', "schedule.name"),
    ('{"action": "logger"}', "action"),
    ('{"sensor": {"id": "scos-gr"}}', "metadata_json.sensor: id: unknown key"),  # the v1 shape
    ('{"sensor": {"sensor_spec": {"id": "s"}, "location": {"latitude": 91, "longitude": 0}}}', "location.latitude"),
    ('{"classification": 3}', "classification"),
    ('[1, 2]', "JSON object"),
    ('{"task_id": ', "not JSON"),
])
def test_a_context_key_that_is_unknown_or_mistyped_is_refused_by_name(text, named):
    with pytest.raises(ContextError, match=re.escape(named)):
        TaskContext.from_json(text)


def test_the_context_holds_a_validated_definition_not_a_bare_mapping():
    with pytest.raises(ContextError, match="SensorDefinition"):
        TaskContext(sensor={"id": "scos-gr"})  # type: ignore[arg-type]
    with pytest.raises(ContextError, match="classification"):
        TaskContext(classification=" ")
    assert json.loads(TaskContext().to_json())["classification"] == "UNCLASSIFIED"
