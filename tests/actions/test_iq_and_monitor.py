"""acquire_iq_751MHz and monitor_radio: real flowgraphs on the sim radio, and over the API."""
from __future__ import annotations

import json
import time

import numpy as np
import pytest
from sigmf import sigmffile

from gnuradio import scos
from scos_gr.flowgraphs.catalogue import DEFAULT_CATALOGUE, load_catalogue
from scos_gr.flowgraphs.runner import RadioFailure, run_action
from tests.live_server import LiveServer
from scos_gr.sigmf_out.context import ScheduleInfo, TaskContext

RATE = 15.36e6
SIM_TOTAL_DBM = 10 * np.log10(10 ** (-40 / 10) + 10 ** (-60 / 10))  # tone + noise, -39.957 dBm
API = "/api/v1"


@pytest.fixture
def run(tmp_path):
    def go(action, radio="sim", basename="rec_1"):
        if isinstance(action, str):
            action = load_catalogue(DEFAULT_CATALOGUE)[action]
        return run_action(action, radio=radio, output_dir=tmp_path / "out", basename=basename,
                          context=TaskContext(task_id=1, schedule=ScheduleInfo(name="rec")), cache_dir=tmp_path / "cache")
    return go


def test_iq_capture_has_duration_x_rate_samples_at_the_sim_power(run, tmp_path):
    result = run("acquire_iq_751MHz")
    [rec] = result.recordings
    assert rec.data_bytes == round(0.1 * RATE) * 8
    sig = sigmffile.fromfile(str(rec.meta_path))
    assert sig.get_global_field("core:datatype") == "cf32_le"
    samples = sig.read_samples()
    assert samples.dtype == np.complex64 and samples.size == round(0.1 * RATE)
    power_dbm = 10 * np.log10(np.mean(np.abs(samples) ** 2) / 50) + 30
    assert abs(power_dbm - SIM_TOTAL_DBM) < 0.05
    spectrum = np.abs(np.fft.fftshift(np.fft.fft(samples[:65536]))) ** 2
    peak_hz = (np.argmax(spectrum) - 32768) * RATE / 65536
    assert abs(peak_hz - 1e6) < RATE / 65536  # the tone, 1 MHz above the centre
    capture = sig.get_captures()[0]
    assert capture["core:frequency"] == 751e6 and capture["core:datetime"].endswith("Z")
    meta = json.loads(rec.meta_path.read_text())
    assert meta["global"]["scos-gr:dropped_samples"] == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["rec_1.sigmf-data", "rec_1.sigmf-meta"]


def test_iq_capture_radio_failure_leaves_nothing(run, tmp_path):
    scos.reset_failure_counters()
    run("acquire_iq_751MHz", radio="sim,fail_every=2", basename="a_1")
    with pytest.raises(RadioFailure, match="fail_every"):
        run("acquire_iq_751MHz", radio="sim,fail_every=2", basename="a_2")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a_1.sigmf-data", "a_1.sigmf-meta"]


def test_monitor_radio_passes_on_a_healthy_radio_and_records_nothing(run, tmp_path):
    result = run("monitor_radio")
    assert result.recordings == [] and "passed" in result.log and "level_dbm -39.9" in result.log
    [health] = result.measurements.values()
    assert health["healthy"] is True and health["samples"] == 1536000
    assert health["level_dbm"] == pytest.approx(SIM_TOTAL_DBM, abs=0.05) and health["rate_sps"] > 0.9 * RATE
    assert not (tmp_path / "out").exists() or not list((tmp_path / "out").iterdir())


def test_monitor_radio_thresholds_are_catalogue_parameters(tmp_path):
    from dataclasses import replace

    from scos_gr.flowgraphs.catalogue import DEFAULT_CATALOGUE, check_catalogue

    action = check_catalogue(DEFAULT_CATALOGUE, tmp_path / "cache").get("monitor_radio")
    assert {k: action.effective_parameters[k] for k in ("min_dbm", "max_dbm", "min_rate_ratio")} == {
        "min_dbm": -100.0, "max_dbm": 0.0, "min_rate_ratio": 0.9}
    strict = replace(action, parameters={**action.parameters, "max_dbm": -45.0, "num_samples": 200_000})
    with pytest.raises(RadioFailure, match=r"input level -40\.0 dBm outside \[-100, -45\] dBm"):
        run_action(strict, radio="sim", output_dir=tmp_path / "out", basename="m_1", cache_dir=tmp_path / "cache")
    slow = replace(action, parameters={**action.parameters, "min_rate_ratio": 1000.0, "num_samples": 200_000})
    with pytest.raises(RadioFailure, match=r"sample rate .* MS/s below 1000 x 15.36 MS/s"):
        run_action(slow, radio="sim", output_dir=tmp_path / "out", basename="m_2", cache_dir=tmp_path / "cache")


def test_monitor_radio_fails_a_dead_radio_with_the_reason(run):
    with pytest.raises(RadioFailure, match=r"input level -1[0-9][0-9]\.\d dBm outside \[-100, 0\]") as e:
        run("monitor_radio", radio="sim,noise_dbm=-150,tones=0:-150")
    [health] = e.value.measurements.values()
    assert health["healthy"] is False and health["level_dbm"] < -140


def test_new_actions_over_the_api_capabilities_schedule_archive_and_health(tmp_path):
    with LiveServer(tmp_path / "data", env={"SCOS_RADIO": "sim,noise_dbm=-150,tones=0:-150"}) as server:
        server.wait_scheduler("idle")
        caps = {a["name"]: a for a in server.get(f"{API}/capabilities/").json()["actions"]}
        assert caps["acquire_iq_751MHz"]["parameters"]["duration_s"] == 0.1
        assert caps["monitor_radio"]["flowgraph"] == "monitor_radio.grc"
        user = server.create_user("viewer")
        user_caps = {a["name"] for a in server.get(f"{API}/capabilities/", token=user).json()["actions"]}
        assert "monitor_radio" not in user_caps and "acquire_iq_751MHz" in user_caps
        start = int(time.time()) + 1
        # health runs last: the status shows the latest evidence about the radio
        for name, action, at in (("iq", "acquire_iq_751MHz", start), ("survey", "survey_700MHz_band", start),
                                 ("health", "monitor_radio", start + 1)):
            r = server.post(f"{API}/schedule/", {"name": name, "action": action, "start": at})
            assert r.status == 201, r
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            tasks = [server.get(f"{API}/tasks/{n}/").json() for n in ("iq", "health", "survey")]
            if all(t and t[0]["status"] != "in-progress" for t in tasks):
                break
            time.sleep(0.2)
        [iq_task], [health_task], [survey_task] = tasks
        assert survey_task["status"] == "success", survey_task
        assert caps["survey_700MHz_band"]["parameters"]["overlap"] == 0.2
        survey_archive = server.get(f"{API}/acquisitions/survey/1/archive")
        (tmp_path / "survey_1.sigmf").write_bytes(survey_archive.body)
        survey_rec = sigmffile.fromarchive(str(tmp_path / "survey_1.sigmf"))
        assert len(survey_rec.get_captures()) == 9
        assert iq_task["status"] == "success", iq_task
        assert health_task["status"] == "failure" and "radio health" in health_task["detail"]
        radio = server.get(f"{API}/status").json()["radio"]
        assert radio["healthy"] is False and "input level" in radio["detail"]
        archive = server.get(f"{API}/acquisitions/iq/1/archive")
        path = tmp_path / "iq_1.sigmf"
        path.write_bytes(archive.body)
        samples = sigmffile.fromarchive(str(path)).read_samples()
        assert samples.dtype == np.complex64 and samples.size == round(0.1 * RATE)


def test_monitor_radio_on_a_radio_too_slow_to_finish_is_a_radio_failure_not_just_a_timeout(tmp_path):
    from dataclasses import replace

    from scos_gr.flowgraphs.catalogue import DEFAULT_CATALOGUE, load_catalogue
    from scos_gr.flowgraphs.runner import FlowgraphTimeout

    action = load_catalogue(DEFAULT_CATALOGUE)["monitor_radio"]
    action = replace(action, parameters={**action.parameters, "num_samples": int(RATE * 10)})  # 10 s of samples
    with pytest.raises(RadioFailure, match=r"did not finish within 0.5 s; stopped: .*only \d+ of 153600000 samples") as e:
        run_action(action, radio="sim,throttle=1", output_dir=tmp_path / "out", basename="m_1", timeout_s=0.5,
                   cache_dir=tmp_path / "cache")
    assert isinstance(e.value, FlowgraphTimeout)
    [health] = e.value.measurements.values()
    assert health["healthy"] is False and 0 < health["samples"] < RATE * 10
