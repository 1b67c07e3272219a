"""The v2 checker (ntia_v2.py) catches each kind of problem and passes correct recordings.

Every rule is shown failing on a copy of a correct recording damaged in one place; the
correct recordings of each kind (FFT detection, a nine-step survey, raw IQ) pass.
"""
from __future__ import annotations

import copy
from typing import Any, Callable

import pytest

from tests.sigmf_out import ntia_examples as examples
from tests.sigmf_out.ntia_v2 import problems, project_problems, window_enbw_bins

SURVEY_FREQUENCIES = [704.144e6 + 12.288e6 * k for k in range(9)]


def recording(kind: str) -> tuple[dict[str, Any], int]:
    if kind == "detection":
        metadata, data = examples.detection_recording()
    elif kind == "survey":
        metadata, data = examples.detection_recording(frequencies=SURVEY_FREQUENCIES, series=("mean", "max"),
                                                      num_ffts=100)
    elif kind == "sea":
        metadata, data = examples.sea_recording()
    else:
        metadata, data = examples.iq_recording()
    return metadata, data.nbytes


def apd(m):
    return m["global"]["ntia-algorithm:data_products"][1]


@pytest.mark.parametrize("kind", ["detection", "survey", "iq", "sea"])
def test_correct_recordings_have_no_problems(kind):
    metadata, data_bytes = recording(kind)
    assert problems(metadata, data_bytes) == []
    assert project_problems(metadata) == []


def g(m):
    return m["global"]


def graph(m):
    return m["global"]["ntia-algorithm:data_products"][0]


def dft(m):
    return m["global"]["ntia-algorithm:processing_info"][0]


def ext(m, name):
    return next(e for e in m["global"]["core:extensions"] if e["name"] == name)


def drop_ext(m, name):
    m["global"]["core:extensions"] = [e for e in m["global"]["core:extensions"] if e["name"] != name]


Damage = Callable[[dict], Any]

# (recording kind, damage, change of data size in bytes, a piece of the expected problem)
CASES: dict[str, tuple[str, Damage, int, str]] = {
    # SigMF itself
    "sigmf schema": ("detection", lambda m: g(m).update({"core:datatype": "float32"}), 0, "sigmf-python: global/core:datatype"),
    "undeclared namespace": ("detection", lambda m: drop_ext(m, "scos-gr"), 0, "sigmf-python: Found undeclared extensions in use: scos-gr"),
    # core:extensions
    "ntia namespace not declared": ("detection", lambda m: drop_ext(m, "ntia-scos"), 0, "ntia-scos is used but not declared"),
    "ntia-core always declared": ("iq", lambda m: drop_ext(m, "ntia-core"), 0, "ntia-core is used but not declared"),
    "v1 version": ("detection", lambda m: ext(m, "ntia-core").update(version="v1.0.0"), 0,
                   "ntia-core declared at 'v1.0.0'; the current document is v2.0.0"),
    "old algorithm version": ("survey", lambda m: ext(m, "ntia-algorithm").update(version="v2.0.0"), 0,
                              "ntia-algorithm declared at 'v2.0.0'; the current document is v2.0.1"),
    "environment declared": ("detection", lambda m: drop_ext(m, "ntia-environment"), 0,
                             "ntia-environment is used but not declared"),
    # fields the documents do not (or no longer) define
    "v1 measurement object": ("detection", lambda m: g(m).update({"ntia-core:measurement": {"domain": "Frequency"}}), 0,
                              "global: ntia-core:measurement is not defined here by the NTIA v2 documents"),
    "v1 annotation type": ("detection", lambda m: m["annotations"][0].update({"ntia-core:annotation_type": "FrequencyDomainDetection"}), 0,
                           "annotations[0]: ntia-core:annotation_type is not defined here"),
    "v1 detector field": ("survey", lambda m: m["annotations"][3].update({"ntia-algorithm:detector": "fft_max_power"}), 0,
                          "annotations[3]: ntia-algorithm:detector is not defined here"),
    "v1 calibration datetime": ("iq", lambda m: g(m).update({"ntia-sensor:calibration_datetime": "2026-01-01T00:00:00Z"}), 0,
                                "global: ntia-sensor:calibration_datetime is not defined here"),
    "capture field in global": ("iq", lambda m: g(m).update({"ntia-sensor:duration": 3}), 0,
                                "global: ntia-sensor:duration is not defined here"),
    "unknown field in an object": ("detection", lambda m: g(m)["ntia-sensor:sensor"].update({"id": "roof-1"}), 0,
                                   "global.ntia-sensor:sensor: id is not a field of Sensor"),
    # required fields
    "classification": ("iq", lambda m: g(m).pop("ntia-core:classification"), 0, "global: ntia-core:classification missing (required)"),
    "sensor_spec": ("detection", lambda m: g(m)["ntia-sensor:sensor"].pop("sensor_spec"), 0,
                    "ntia-sensor:sensor: sensor_spec missing (required in Sensor)"),
    "hardware id": ("detection", lambda m: g(m)["ntia-sensor:sensor"]["computer_spec"].pop("id"), 0,
                    "ntia-sensor:sensor.computer_spec: id missing (required in HardwareSpec)"),
    "antenna_spec": ("detection", lambda m: g(m)["ntia-sensor:sensor"]["antenna"].pop("antenna_spec"), 0,
                     "ntia-sensor:sensor.antenna: antenna_spec missing (required in Antenna)"),
    "graph name": ("detection", lambda m: graph(m).pop("name"), 0, "data_products[0]: name missing (required in Graph)"),
    "graph length": ("detection", lambda m: graph(m).pop("length"), 0, "data_products[0]: length missing (required in Graph)"),
    "dft samples": ("detection", lambda m: dft(m).pop("samples"), 0, "processing_info[0]: samples missing (required in DFT)"),
    "dft baseband": ("detection", lambda m: dft(m).pop("baseband"), 0, "processing_info[0]: baseband missing (required in DFT)"),
    "processing type": ("detection", lambda m: dft(m).pop("type"), 0,
                        "processing_info[0]: type must be DFT or DigitalFilter"),
    "schedule id": ("iq", lambda m: g(m)["ntia-scos:schedule"].pop("id"), 0, "ntia-scos:schedule: id missing (required in ScheduleEntry)"),
    "action name": ("iq", lambda m: g(m)["ntia-scos:action"].pop("name"), 0, "ntia-scos:action: name missing (required in Action)"),
    # types
    "classification type": ("iq", lambda m: g(m).update({"ntia-core:classification": None}), 0,
                            "ntia-core:classification: expected a string"),
    "length type": ("detection", lambda m: graph(m).update(length=1024.0), 0, "data_products[0].length: expected an integer"),
    "series type": ("detection", lambda m: graph(m).update(series="min,max"), 0, "data_products[0].series: expected a list"),
    "enbw type": ("detection", lambda m: dft(m).update(equivalent_noise_bandwidth="25.9 kHz"), 0,
                  "equivalent_noise_bandwidth: expected a number"),
    "baseband type": ("detection", lambda m: dft(m).update(baseband="false"), 0, "baseband: expected true or false"),
    "duration type": ("detection", lambda m: m["captures"][0].update({"ntia-sensor:duration": 20.0}), 0,
                      "captures[0].ntia-sensor:duration: expected an integer"),
    "overload type": ("iq", lambda m: m["captures"][0].update({"ntia-sensor:overload": 0}), 0,
                      "captures[0].ntia-sensor:overload: expected true or false"),
    "gain type": ("iq", lambda m: m["captures"][0]["ntia-sensor:sigan_settings"].update(gain="40 dB"), 0,
                  "ntia-sensor:sigan_settings.gain: expected a number"),
    "calibration time": ("iq", lambda m: m["captures"][0]["ntia-sensor:sensor_calibration"].update(datetime="2026-11-01 00:00"), 0,
                         "sensor_calibration.datetime: expected an ISO-8601 UTC time ending in Z"),
    "schedule time": ("iq", lambda m: g(m)["ntia-scos:schedule"].update(start="2026-11-18T11:06:40+00:00"), 0,
                      "ntia-scos:schedule.start: expected an ISO-8601 UTC time ending in Z"),
    "task type": ("iq", lambda m: g(m).update({"ntia-scos:task": "7"}), 0, "ntia-scos:task: expected an integer"),
    "filter type": ("detection", lambda m: g(m)["ntia-algorithm:processing_info"].append(
        {"type": "DigitalFilter", "id": "f", "filter_type": "bandpass"}), 0, "filter_type: expected FIR or IIR"),
    "diagnostics": ("iq", lambda m: (g(m).update({"ntia-diagnostics:diagnostics": {"spu": {"power_sensors": [{"name": "5V"}]}}}),
                                     g(m)["core:extensions"].append({"name": "ntia-diagnostics", "version": "v2.2.0", "optional": True})), 0,
                    "spu.power_sensors[0]: value missing (required in DiagnosticSensor)"),
    "geolocation order": ("iq", lambda m: g(m)["core:geolocation"].update(coordinates=[39.99, -105.26]), 0,
                          "latitude -105.26 is not within -90..90"),
    # consistency with the data
    "data size": ("detection", lambda m: None, 2, "is not a whole number of rf32_le samples"),
    "captures vs products": ("detection", lambda m: None, 4 * 1024, "captures[0]: holds 6144 samples, but the data products describe 5120"),
    "capture spacing": ("survey", lambda m: m["captures"][1].update({"core:sample_start": 3000}), 0,
                        "captures[0]: holds 3000 samples, but the data products describe 2048"),
    "first capture": ("iq", lambda m: m["captures"][0].update({"core:sample_start": 5}), 0, "captures[0]: starts at sample 5"),
    "x stop": ("detection", lambda m: graph(m).update(x_stop=[graph(m)["x_stop"][0] + 15000.0]), 0,
               "x axis 0: 1024 bins from 743320000.0 by 15000.0 end at 758665000.0, but x_stop is 758680000.0"),
    "x lengths": ("survey", lambda m: graph(m).update(x_step=graph(m)["x_step"][:1]), 0,
                  "x_start, x_stop, x_step have different lengths"),
    "x per capture": ("survey", lambda m: graph(m).update(x_start=graph(m)["x_start"][:2], x_stop=graph(m)["x_stop"][:2],
                                                           x_step=graph(m)["x_step"][:2]), 0,
                      "x_start has 2 values; expected 1 or one per capture (9)"),
    "x units": ("detection", lambda m: graph(m).pop("x_units"), 0, "x_units missing (required with a x axis)"),
    "x triple": ("detection", lambda m: graph(m).pop("x_step"), 0, "x_start, x_stop and x_step go together"),
    "bin width": ("detection", lambda m: dft(m).update(samples=2048), 0, "x_step 15000.0 Hz times 2048 bins is not the sample rate"),
    "centre frequency": ("survey", lambda m: m["captures"][4].update({"core:frequency": 760e6}), 0,
                         "bin 512 of capture 4 is at 753296000.0 Hz, not at the capture frequency 760000000.0 Hz"),
    "baseband axis": ("detection", lambda m: dft(m).update(baseband=True), 0, "not at 0 (baseband)"),
    "enbw vs window": ("detection", lambda m: dft(m).update(window="hanning"), 0,
                       "equivalent_noise_bandwidth 25926.67956723256 Hz, but a 1024-point hanning window"),
    "unknown window": ("detection", lambda m: dft(m).update(window="gaussian_a3.5"), 0, "window 'gaussian_a3.5' is not one whose ENBW"),
    "dfts vs frames": ("detection", lambda m: dft(m).update(dfts=200), 0,
                       "captures[0]: ntia-sensor:duration 20 ms, but 200 DFTs of 1024 samples (+0 dropped)"),
    "dropped samples take time": ("survey", lambda m: m["captures"][2].update({"scos-gr:dropped_samples": 153_600}), 0,
                                  "captures[2]: ntia-sensor:duration 7 ms, but 100 DFTs of 1024 samples (+153600 dropped)"),
    "length vs samples": ("detection", lambda m: dft(m).update(samples=512, equivalent_noise_bandwidth=51853.35913446512), 0,
                          "1024 values per series from a 512-point DFT"),
    "graph processing id": ("detection", lambda m: graph(m).update(processing=["fft_1"]), 0,
                            "data_products[0].processing: 'fft_1' names no processing_info object"),
    "global processing id": ("detection", lambda m: g(m).update({"ntia-algorithm:processing": ["iir_1"]}), 0,
                             "ntia-algorithm:processing: 'iir_1' names no processing_info object"),
    "duplicate ids": ("detection", lambda m: g(m)["ntia-algorithm:processing_info"].append(dict(dft(m))), 0,
                      "processing_info: id 'dft' is used twice"),
    "series order": ("detection", lambda m: graph(m).update(series=["max", "min", "mean", "median", "sample"]), 0,
                     "annotations[0]: core:label 'min', but these samples are series 'max' of capture 0"),
    "series annotation missing": ("survey", lambda m: m["annotations"].pop(5), 0,
                                  "annotations: none for series 'max' of capture 2"),
    "stray annotation": ("survey", lambda m: m["annotations"].append({"core:sample_start": 100, "core:sample_count": 4}), 0,
                         "samples 100 (+4) are not one series of one capture"),
    "annotation edges": ("survey", lambda m: m["annotations"][2].update({"core:freq_lower_edge": 1.0}), 0,
                         "annotations[2]: frequency edges (1.0,"),
    "iq duration": ("iq", lambda m: None, 8 * 15_360, "captures[0]: ntia-sensor:duration 1 ms, but its samples"),
    "iq annotation past data": ("iq", lambda m: m["annotations"].append({"core:sample_start": 15_000, "core:sample_count": 1000}), 0,
                                "annotations[0]: samples 15000..15999 reach past the 15360 samples"),
    # ntia-nasctn-sea (SEA data products)
    "nasctn-sea declared": ("sea", lambda m: drop_ext(m, "ntia-nasctn-sea"), 0, "ntia-nasctn-sea is used but not declared"),
    "nasctn-sea version": ("sea", lambda m: ext(m, "ntia-nasctn-sea").update(version="v0.5.0"), 0,
                           "ntia-nasctn-sea declared at 'v0.5.0'; the current document is v0.6.0"),
    "nasctn-sea type": ("sea", lambda m: g(m).update({"ntia-nasctn-sea:mean_channel_powers": -58.2}), 0,
                        "ntia-nasctn-sea:mean_channel_powers: expected a list"),
    "nasctn-sea values": ("sea", lambda m: g(m).update({"ntia-nasctn-sea:median_channel_powers": ["-60.1", -61.1, -62.1]}), 0,
                          "ntia-nasctn-sea:median_channel_powers[0]: expected a number"),
    "nasctn-sea per capture": ("sea", lambda m: g(m)["ntia-nasctn-sea:max_of_max_channel_powers"].pop(), 0,
                               "global.ntia-nasctn-sea:max_of_max_channel_powers: 2 values for 3 captures (one per capture)"),
    "nasctn-sea unknown field": ("sea", lambda m: g(m).update({"ntia-nasctn-sea:max_channel_powers": [1.0, 2.0, 3.0]}), 0,
                                 "global: ntia-nasctn-sea:max_channel_powers is not defined here"),
    "y units": ("sea", lambda m: apd(m).pop("y_units"), 0, "data_products[1]: y_units missing (required with a y axis)"),
    "y triple": ("sea", lambda m: apd(m).pop("y_step"), 0, "y_start, y_stop and y_step go together"),
    "products per capture": ("sea", lambda m: None, 4 * 151, "captures[2]: holds 4812 samples, but the data products describe 4661"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_rule_catches_its_problem(name):
    kind, damage, extra_bytes, expected = CASES[name]
    metadata, data_bytes = recording(kind)
    broken = copy.deepcopy(metadata)
    damage(broken)
    found = problems(broken, data_bytes + extra_bytes)
    assert any(expected in p for p in found), found
    assert problems(metadata, data_bytes) == []  # the damage made the difference


def test_both_spellings_of_a_version_are_accepted():
    metadata, data_bytes = recording("detection")
    for e in metadata["global"]["core:extensions"]:
        if e["name"].startswith("ntia-"):
            e["version"] = e["version"].removeprefix("v")  # as scos-actions writes them
    assert problems(metadata, data_bytes) == []


def test_a_correct_diagnostics_object_passes():
    metadata, data_bytes = recording("iq")
    metadata["global"]["ntia-diagnostics:diagnostics"] = {
        "datetime": "2026-11-18T11:06:40.250Z",
        "computer": {"cpu_temp": 51.0, "ntp_sync": True, "ssd_smart_data": {"unsafe_shutdowns": 2}},
        "software": {"python_version": "3.11.2", "scos_sigan_plugin": {"name": "scos_gr", "version": "0.1.0"}},
        "spu": {"power_sensors": [{"name": "5V", "value": 5.02}]},
    }
    metadata["global"]["core:extensions"].append({"name": "ntia-diagnostics", "version": "v2.2.0", "optional": True})
    assert problems(metadata, data_bytes) == []


def test_the_window_oracle_knows_the_textbook_values():
    assert window_enbw_bins("rectangular", 64) == pytest.approx(1.0)
    assert window_enbw_bins("hanning", 4096) == pytest.approx(1.5, abs=1e-3)
    assert window_enbw_bins("blackman", 4096) == pytest.approx(1.73, abs=5e-3)
    assert window_enbw_bins("gaussian_a3.5", 64) is None


# --- scos-gr's own promises ---------------------------------------------------------------------

PROJECT_CASES: dict[str, tuple[str, Damage, str]] = {
    "no sensor": ("iq", lambda m: g(m).pop("ntia-sensor:sensor"), "ntia-sensor:sensor missing"),
    "no hash": ("iq", lambda m: g(m)["ntia-sensor:sensor"].pop("sensor_sha512"), "sensor_sha512: expected 128"),
    "no action": ("iq", lambda m: g(m).pop("ntia-scos:action"), "ntia-scos:action missing"),
    "no summary": ("detection", lambda m: g(m)["ntia-scos:action"].pop("summary"), "ntia-scos:action.summary missing"),
    "description": ("detection", lambda m: g(m).update({"core:description": "other"}), "core:description: expected the action's summary"),
    "no duration": ("survey", lambda m: m["captures"][3].pop("ntia-sensor:duration"), "captures[3]: ntia-sensor:duration missing"),
    "no gain": ("iq", lambda m: m["captures"][0]["ntia-sensor:sigan_settings"].pop("gain"), "sigan_settings: gain missing"),
    "no datetime": ("iq", lambda m: m["captures"][0].pop("core:datetime"), "captures[0]: core:datetime missing"),
    "overload count": ("iq", lambda m: m["captures"][0].update({"scos-gr:overload_samples": 4}),
                       "ntia-sensor:overload is False but scos-gr:overload_samples is 4"),
    "negative count": ("iq", lambda m: m["captures"][0].update({"scos-gr:overflows": -1}), "scos-gr:overflows: expected an integer >= 0"),
    "totals": ("survey", lambda m: m["captures"][1].update({"scos-gr:dropped_samples": 10}),
               "global.scos-gr:dropped_samples: 0, expected the captures' sum 10"),
    "detection without products": ("detection", lambda m: g(m).pop("ntia-algorithm:data_products"),
                                   "ntia-algorithm:data_products missing"),
    "detection without dft": ("detection", lambda m: g(m).update({"ntia-algorithm:processing_info": []}), "no DFT object"),
    "iq with products": ("iq", lambda m: g(m).update({"ntia-algorithm:data_products": [{"name": "x", "length": 1}]}),
                         "IQ recording (cf32_le): has data_products"),
    "unused extension": ("iq", lambda m: g(m)["core:extensions"].append({"name": "ntia-algorithm", "version": "v2.0.1", "optional": False}),
                         "ntia-algorithm declared but not used"),
    "scos-gr version": ("iq", lambda m: ext(m, "scos-gr").update(version="v0.1.0"), "scos-gr at 'v0.1.0', expected 'v0.2.0'"),
}


@pytest.mark.parametrize("name", sorted(PROJECT_CASES))
def test_each_project_promise_is_checked(name):
    kind, damage, expected = PROJECT_CASES[name]
    metadata, _ = recording(kind)
    damage(metadata)
    found = project_problems(metadata)
    assert any(expected in p for p in found), found


def _paths(node, prefix=()):
    if isinstance(node, dict):
        for key, value in node.items():
            yield prefix + (key,)
            yield from _paths(value, prefix + (key,))
    elif isinstance(node, list):
        for i, value in enumerate(node[:3]):
            yield prefix + (i,)
            yield from _paths(value, prefix + (i,))


@pytest.mark.parametrize("kind", ["detection", "survey", "iq", "sea"])
def test_any_value_made_null_is_a_problem_and_never_a_crash(kind):
    """Every value of a recording, replaced by null, gives a problem (no field allows null), and
    removing it or making it a string never makes the checker fail with an exception."""
    metadata, data_bytes = recording(kind)
    for path in _paths(metadata):
        for replacement in (None, "x", "drop"):
            broken = copy.deepcopy(metadata)
            parent = broken
            for step in path[:-1]:
                parent = parent[step]
            if replacement == "drop":
                del parent[path[-1]]
            else:
                parent[path[-1]] = replacement
            found = problems(broken, data_bytes)
            if any(str(step).startswith("scos-gr:") for step in path):
                found += project_problems(broken)  # our own keys are our promise, not the documents'
            if replacement is None:
                assert found, f"{path} = null passed"
