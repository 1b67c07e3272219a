"""SigMF metadata builders: schema validity, the NTIA fields, ENBW, the typed task context."""
from __future__ import annotations

import datetime as dt
import re
import warnings

import numpy as np
import pytest
import sigmf
from sigmf import SigMFFile

from scos_gr.sigmf_out.context import ActionInfo, ContextError, ScheduleInfo, TaskContext
from scos_gr.sigmf_out.metadata import (
    CaptureStep,
    detection_metadata,
    enbw_hz,
    iq_metadata,
    iso_utc,
    set_captures,
)
from scos_gr.sigmf_out.windows import enbw_bins, window_coefficients

DETECTORS = ["min", "max", "mean", "median", "sample"]
START = 1_795_000_000.123456  # 2026-11-18T...


def full_context() -> TaskContext:
    return TaskContext(
        task_id=7,
        schedule=ScheduleInfo(name="lte700", start=1_795_000_000, stop=None, interval=60, priority=10),
        action=ActionInfo(name="acquire700c", summary="FFT detection at 751 MHz", description="long text"),
        sensor={"id": "scos-gr", "sensor_spec": {"id": "scos-gr", "model": "scos-gr"}},
        calibration={"gain_db": 3.0, "gain_correction_db": -3.0, "noise_figure_db": 5.0,
                     "reference": "antenna terminal", "calibration_datetime": "2026-11-01T00:00:00Z",
                     "source": "cal.yml", "frequency": 751e6},
        radio="sim",
    )


def build(**overrides):
    kwargs = dict(fft_size=1024, num_ffts=300, sample_rate=15.36e6, center_frequency=751e6, window="blackman",
                  detectors=DETECTORS, capture_start=START, dropped_samples=0, context=full_context())
    kwargs.update(overrides)
    return detection_metadata(**kwargs)


def validate_strict(metadata: dict) -> None:
    """sigmf-python schema validation, with undeclared-namespace warnings turned into failures."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        SigMFFile(metadata=metadata).validate()


def namespaces_used(metadata: dict) -> set[str]:
    used = set()
    for section in (metadata["global"], *metadata["captures"], *metadata["annotations"]):
        used |= {key.split(":")[0] for key in section if ":" in key}
    return used - {"core"}


# --- ENBW -------------------------------------------------------------------------------------

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


def test_unknown_window_is_refused():
    with pytest.raises(ValueError, match="unknown FFT window"):
        enbw_hz("blackmann", 1024, 1e6)


# --- detection_metadata -----------------------------------------------------------------------

def test_detection_metadata_validates_and_declares_every_extension():
    metadata = build()
    validate_strict(metadata)
    declared = {ext["name"]: ext["version"] for ext in metadata["global"]["core:extensions"]}
    assert namespaces_used(metadata) <= set(declared)
    assert {"ntia-core", "ntia-algorithm", "ntia-sensor", "ntia-scos"} <= namespaces_used(metadata)
    assert all(version for version in declared.values())
    g = metadata["global"]
    assert g["core:datatype"] == "rf32_le"
    assert g["core:sample_rate"] == 15.36e6
    assert g["core:version"] == sigmf.__specification__
    assert g["core:recorder"].startswith("scos-gr")
    assert g["core:hw"]


def test_one_annotation_per_detector_with_the_ntia_fields():
    metadata = build()
    annotations = metadata["annotations"]
    assert len(annotations) == len(DETECTORS)
    expected_enbw = enbw_hz("blackman", 1024, 15.36e6)
    for i, (name, a) in enumerate(zip(DETECTORS, annotations)):
        assert a["core:sample_start"] == i * 1024
        assert a["core:sample_count"] == 1024
        assert a["core:label"] == name
        assert a["ntia-algorithm:detector"] == f"fft_{name}_power"
        assert a["ntia-core:annotation_type"] == "FrequencyDomainDetection"
        assert a["ntia-algorithm:number_of_samples_in_fft"] == 1024
        assert a["ntia-algorithm:number_of_ffts"] == 300
        assert a["ntia-algorithm:window"] == "blackman"
        assert a["ntia-algorithm:equivalent_noise_bandwidth"] == pytest.approx(expected_enbw)
        assert a["ntia-algorithm:units"] == "dBm"
        assert a["ntia-algorithm:reference"] == "antenna terminal"
        # fftshifted: bin N/2 is the centre frequency
        step = a["ntia-algorithm:frequency_step"]
        assert step == pytest.approx(15e3)
        assert a["ntia-algorithm:frequency_start"] + 512 * step == pytest.approx(751e6)
        assert a["ntia-algorithm:frequency_stop"] == pytest.approx(a["ntia-algorithm:frequency_start"] + 1023 * step)


def test_detector_order_follows_the_argument():
    metadata = build(detectors="max,sample", fft_size=16, num_ffts=11)
    assert [a["core:label"] for a in metadata["annotations"]] == ["max", "sample"]
    assert [a["core:sample_start"] for a in metadata["annotations"]] == [0, 16]


def test_capture_frequency_and_start_time():
    metadata = build()
    (capture,) = metadata["captures"]
    assert capture["core:sample_start"] == 0
    assert capture["core:frequency"] == 751e6
    text = capture["core:datetime"]
    assert text.endswith("Z")
    parsed = dt.datetime.fromisoformat(text[:-1] + "+00:00")
    assert parsed.timestamp() == pytest.approx(START, abs=1e-6)
    measurement = metadata["global"]["ntia-core:measurement"]
    assert measurement["time_start"] == text
    stop = dt.datetime.fromisoformat(measurement["time_stop"][:-1] + "+00:00").timestamp()
    assert stop - START == pytest.approx(1024 * 300 / 15.36e6, abs=2e-6)


def test_task_entry_action_sensor_and_calibration_are_recorded():
    g = build()["global"]
    assert g["ntia-scos:task"] == 7
    assert g["ntia-scos:schedule"] == {"id": "lte700", "name": "lte700", "start": iso_utc(1_795_000_000),
                                       "interval": 60, "priority": 10}
    assert g["ntia-scos:action"]["name"] == "acquire700c"
    assert g["core:description"] == "FFT detection at 751 MHz"
    assert g["ntia-sensor:sensor"]["id"] == "scos-gr"
    assert g["ntia-sensor:calibration_datetime"] == "2026-11-01T00:00:00.000000Z"
    assert g["scos-gr:calibration"]["gain_correction_db"] == -3.0


def test_the_context_travels_as_json_and_back_unchanged_or_is_missing():
    assert TaskContext.from_json(full_context().to_json()) == full_context()
    assert build(context=TaskContext.from_json(full_context().to_json())) == build()
    bare = build(context=TaskContext.from_json("{}"))
    validate_strict(bare)
    assert not any(key.startswith("ntia-scos:") for key in bare["global"])
    assert build(context=None) == bare
    partial = build(context=TaskContext(schedule=ScheduleInfo(name="e"), task_id=3, action=ActionInfo(name="logger")))
    validate_strict(partial)
    assert partial["global"]["ntia-scos:schedule"] == {"id": "e", "name": "e"}
    assert partial["global"]["ntia-scos:task"] == 3
    assert partial["global"]["ntia-scos:action"] == {"name": "logger"}


@pytest.mark.parametrize("text, named", [
    ('{"entry_name": "e"}', "entry_name"),  # an alias the old context took: now a clear error
    ('{"task_id": "3"}', "task_id"),
    ('{"schedule": {"name": "e", "every": 5}}', "every"),
    ('{"schedule": {"name": 5}}', "schedule.name"),
    ('{"action": "logger"}', "action"),
    ('[1, 2]', "JSON object"),
    ('{"task_id": ', "not JSON"),
])
def test_a_context_key_that_is_unknown_or_mistyped_is_refused_by_name(text, named):
    with pytest.raises(ContextError, match=re.escape(named)):
        TaskContext.from_json(text)


def test_dropped_samples_are_reported():
    clean = build()
    assert clean["global"]["scos-gr:dropped_samples"] == 0
    assert "core:comment" not in clean["captures"][0]
    lossy = build(dropped_samples=4096, overflows=2)
    validate_strict(lossy)
    assert lossy["global"]["scos-gr:dropped_samples"] == 4096
    assert lossy["captures"][0]["scos-gr:overflows"] == 2
    assert "4096 samples dropped" in lossy["captures"][0]["core:comment"]


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        build(detectors=[])
    with pytest.raises(ValueError):
        build(fft_size=0)


# --- iq_metadata and multi-capture ------------------------------------------------------------

def test_iq_metadata_validates():
    metadata = iq_metadata(sample_rate=1e6, center_frequency=100e6, capture_start=START, num_samples=5000,
                           dropped_samples=0, context=full_context())
    validate_strict(metadata)
    g = metadata["global"]
    assert g["core:datatype"] == "cf32_le"
    assert metadata["captures"][0]["core:frequency"] == 100e6
    (annotation,) = metadata["annotations"]
    assert annotation["ntia-algorithm:detector"] == "sample_iq"
    assert annotation["core:sample_count"] == 5000
    assert g["ntia-core:measurement"]["domain"] == "Time"


def test_multi_capture_recording():
    metadata = detection_metadata(fft_size=256, num_ffts=10, sample_rate=1e6, center_frequency=700e6,
                                  window="hann", detectors=["mean"], capture_start=START, context=TaskContext())
    steps = [CaptureStep(frequency=702e6, sample_start=256, capture_start=START + 0.5),
             CaptureStep(frequency=700e6, sample_start=0, capture_start=START, dropped_samples=3)]
    set_captures(metadata, steps)
    validate_strict(metadata)
    captures = metadata["captures"]
    assert [c["core:sample_start"] for c in captures] == [0, 256]
    assert [c["core:frequency"] for c in captures] == [700e6, 702e6]
    assert captures[1]["core:datetime"] == iso_utc(START + 0.5)
    measurement = metadata["global"]["ntia-core:measurement"]
    assert measurement["measurement_type"] == "multi-frequency"
    assert (measurement["frequency_tuned_low"], measurement["frequency_tuned_high"]) == (700e6, 702e6)
    assert metadata["global"]["scos-gr:dropped_samples"] == 3
    with pytest.raises(ValueError):
        set_captures(metadata, [CaptureStep(1e6, 0, START), CaptureStep(2e6, 0, START)])


def test_iso_utc_forms():
    assert iso_utc(0) == "1970-01-01T00:00:00.000000Z"
    assert iso_utc("2026-11-01T00:00:00Z") == "2026-11-01T00:00:00.000000Z"
    assert iso_utc(dt.datetime(2026, 1, 2, 3, 4, 5, 6000)) == "2026-01-02T03:04:05.006000Z"
    assert iso_utc(dt.datetime(2026, 1, 2, 4, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=1)))) == \
        "2026-01-02T03:04:05.000000Z"
