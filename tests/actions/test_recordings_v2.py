"""Every shipped action's recording, read as an outside NTIA tool reads it.

Each action of the shipped catalogue that records is run through its real flowgraph on the
simulated radio, with a task context as the scheduler builds it (the example sensor definition,
a classification, a calibration file); the recording is packed by the API's archive streamer
(sigmf_out.archive.ArchiveStream) into a .sigmf file, opened with sigmf-python's fromarchive
(which validates it and checks its hash), taken as plain JSON, and given to the independent v2
checker (tests/sigmf_out/ntia_v2.py): every object the NTIA v2 documents mark required is there,
typed right, consistent with the data (x axes vs bins and frequency, dfts vs frames, ENBW vs
window, series vs annotations), plus scos-gr's own promises.
"""
from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pytest
from sigmf import sigmffile

from scos_gr.calibration import load_calibration
from scos_gr.flowgraphs.catalogue import DEFAULT_CATALOGUE, check_catalogue
from scos_gr.flowgraphs.runner import run_action
from scos_gr.sensor_definition import load_sensor_definition
from scos_gr.sigmf_out.archive import ArchiveMember, ArchiveStream
from scos_gr.sigmf_out.context import ScheduleInfo, TaskContext
from scos_gr.sigmf_out.windows import enbw_hz
from tests.sigmf_out.ntia_v2 import problems, project_problems

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE_DEFINITION = ROOT / "deploy" / "sensor_definition.example.yml"
# the shipped catalogue as the sensor checks it (compiled at install time: nothing to compile here)
CATALOGUE = check_catalogue(DEFAULT_CATALOGUE, Path(tempfile.gettempdir()) / "scos-gr-test-cache").actions
RECORDING_ACTIONS = sorted(name for name, a in CATALOGUE.items() if a.flowgraph and a.records)
CALIBRATION = """\
calibration_datetime: "2026-11-01T00:00:00Z"
reference: "antenna terminal"
points:
  - {frequency: 7.0e+8, gain_db: 4.0, noise_figure_db: 5.0}
  - {frequency: 8.0e+8, gain_db: 2.0, noise_figure_db: 6.0}
"""


def test_every_recording_action_is_checked():
    assert {"acquire700c", "acquire_iq_751MHz", "survey_700MHz_band"} <= set(RECORDING_ACTIONS)


@pytest.fixture(scope="module")
def archives(tmp_path_factory) -> dict:
    """{action: (metadata as plain JSON, data bytes, samples)} read back from a .sigmf archive."""
    work = tmp_path_factory.mktemp("v2")
    (work / "cal.yml").write_text(CALIBRATION)
    calibration = load_calibration(work / "cal.yml")
    definition = load_sensor_definition(EXAMPLE_DEFINITION)
    found = {}
    for task_id, name in enumerate(RECORDING_ACTIONS, start=1):
        context = TaskContext(task_id=task_id, sensor=definition, classification="CUI", radio="sim",
                              schedule=ScheduleInfo(name="check", start=1_795_000_000, interval=60, priority=10))
        result = run_action(CATALOGUE[name], radio="sim", output_dir=work / "out", basename=f"check_{task_id}",
                            context=context, calibration=calibration, cache_dir=work / "cache", timeout_s=60)
        [rec] = result.recordings
        archive = work / f"check_{task_id}.sigmf"
        with open(archive, "wb") as f:
            for chunk in ArchiveStream([ArchiveMember(f"check_{task_id}", Path(rec.meta_path), Path(rec.data_path))]):
                f.write(chunk)
        recording = sigmffile.fromarchive(str(archive), dir=str(work / f"unpacked_{task_id}"))
        samples = recording.read_samples()
        found[name] = (json.loads(recording.dumps()), samples.nbytes, samples)
    return found


@pytest.mark.parametrize("name", RECORDING_ACTIONS)
def test_the_archive_is_a_recording_the_v2_documents_describe(archives, name):
    metadata, data_bytes, _ = archives[name]
    assert problems(metadata, data_bytes) == []
    assert project_problems(metadata) == []


@pytest.mark.parametrize("name", RECORDING_ACTIONS)
def test_the_task_context_and_the_sensor_are_in_it(archives, name):
    metadata, _, _ = archives[name]
    g = metadata["global"]
    action = CATALOGUE[name]
    definition = load_sensor_definition(EXAMPLE_DEFINITION)
    assert g["ntia-core:classification"] == "CUI"
    assert g["ntia-scos:action"] == {"name": name, "summary": action.summary, "description": action.description}
    assert g["core:description"] == action.summary
    assert g["ntia-scos:schedule"]["name"] == "check" and g["ntia-scos:schedule"]["interval"] == 60
    sensor = g["ntia-sensor:sensor"]
    assert sensor["sensor_sha512"] == definition.sha512 and sensor["antenna"] == definition.document["antenna"]
    assert (sensor["signal_analyzer"]["frequency_low"], sensor["signal_analyzer"]["frequency_high"]) == (1e6, 6e9)
    location = definition.location
    assert g["core:geolocation"] == {"type": "Point",
                                     "coordinates": [location.longitude, location.latitude, location.altitude]}
    # the calibration applied: the table at the action's frequency, on every capture
    applied = load_calibration_at(float(action.effective_parameters["frequency"]))
    for capture in metadata["captures"]:
        assert capture["ntia-sensor:sensor_calibration"] == applied
        assert capture["ntia-sensor:sigan_settings"] == {"gain": float(action.effective_parameters["gain"])}
        assert capture["ntia-sensor:overload"] is False and capture["scos-gr:overload_samples"] == 0


def load_calibration_at(frequency: float) -> dict:
    gain = 4.0 + (frequency - 700e6) / 100e6 * (2.0 - 4.0)
    noise_figure = 5.0 + (frequency - 700e6) / 100e6 * (6.0 - 5.0)
    return {"datetime": "2026-11-01T00:00:00.000000Z", "gain": pytest.approx(gain),
            "noise_figure": pytest.approx(noise_figure), "reference": "antenna terminal"}


def test_the_detection_recordings_data_are_what_their_graph_says(archives):
    metadata, _, samples = archives["acquire700c"]
    g = metadata["global"]
    [graph], [dft] = g["ntia-algorithm:data_products"], g["ntia-algorithm:processing_info"]
    assert graph["series"] == ["min", "max", "mean", "median", "sample"] and graph["y_units"] == "dBm"
    assert graph["reference"] == "antenna terminal"
    assert (dft["samples"], dft["dfts"], dft["window"]) == (1024, 300, "blackman")
    assert dft["equivalent_noise_bandwidth"] == pytest.approx(enbw_hz("blackman", 1024, 15.36e6))
    mean = samples[2 * 1024:3 * 1024]
    frequencies = graph["x_start"][0] + graph["x_step"][0] * np.arange(graph["length"])
    peak = int(np.argmax(mean))
    assert abs(frequencies[peak] - 752e6) <= graph["x_step"][0]  # the sim's tone, +1 MHz
    # calibrated: referred to the antenna terminal, 3.02 dB of chain gain at 751 MHz taken off
    assert float(np.median(mean)) == pytest.approx(-90.1 - 2.98, abs=0.3)


def test_the_survey_has_a_capture_and_an_axis_per_step(archives):
    metadata, _, _ = archives["survey_700MHz_band"]
    captures = metadata["captures"]
    graph = metadata["global"]["ntia-algorithm:data_products"][0]
    assert len(captures) == 9 and len(graph["x_start"]) == 9 and graph["series"] == ["mean", "max"]
    assert all(c["ntia-sensor:duration"] == 7 for c in captures)  # 100 x 1024 samples: 6.67 ms
    assert metadata["global"]["ntia-algorithm:processing_info"][0]["dfts"] == 100


def test_the_iq_recording_is_samples_only(archives):
    metadata, data_bytes, samples = archives["acquire_iq_751MHz"]
    assert metadata["global"]["core:datatype"] == "cf32_le" and samples.size == round(0.1 * 15.36e6)
    assert "ntia-algorithm:data_products" not in metadata["global"] and metadata["annotations"] == []
    assert metadata["captures"][0]["ntia-sensor:duration"] == 100
