"""The calibration lifecycle over HTTP on a live sensor: no calibration (a fault when an age is
required), an admin schedules calibrate, the fault clears and the capabilities show the stored
table, the next recording is corrected by it, and the table growing old shows in /status and
/metrics again."""
from __future__ import annotations

import datetime as dt
import time

import pytest

from scos_gr.calibration import CalibrationPoint, load_calibration, write_calibration
from tests.live_server import LiveServer

API = "/api/v1"
RADIO = "sim,gain_db=10,nf_db=5"


def schedule(server, name, action):
    response = server.post(f"{API}/schedule/", {"name": name, "action": action, "start": int(time.time()) + 1})
    assert response.status == 201, response
    [task] = server.wait_tasks(name, 1, timeout=120)
    return task


def faults(server, kind="calibration"):
    return [f for f in server.get(f"{API}/status").json()["faults"] if f["kind"] == kind]


def test_calibrate_clears_the_fault_corrects_recordings_and_ages_into_a_fault_again(tmp_path):
    env = {"SCOS_RADIO": RADIO, "SCOS_CALIBRATION_MAX_AGE": "3600"}
    with LiveServer(tmp_path / "data", env=env) as server:
        server.wait_scheduler("idle")
        [fault] = faults(server)
        assert "no calibration" in fault["detail"]

        task = schedule(server, "cal", "calibrate")
        assert task["status"] == "success", task
        assert "751 MHz" in task["detail"] and "noise figure" in task["detail"]
        assert faults(server) == []
        table = server.get(f"{API}/capabilities/").json()["calibration"]
        assert table["reference"] == "noise source output" and table["temperature_c"] == pytest.approx(16.85)
        measured = {p["frequency"]: p for p in table["points"]}
        assert set(measured) == {739e6, 751e6, 752e6, 763e6}
        assert all(p["gain_db"] == pytest.approx(10.0, abs=0.3) and p["noise_figure_db"] == pytest.approx(5.0, abs=0.3)
                   for p in measured.values())
        assert server.get(f"{API}/acquisitions/cal/").status == 404  # it records nothing

        assert schedule(server, "c-block", "acquire700c")["status"] == "success"
        meta = server.get(f"{API}/acquisitions/c-block/1/").json()["sigmf_metadata"]
        applied = meta["captures"][0]["ntia-sensor:sensor_calibration"]
        assert applied["gain"] == measured[751e6]["gain_db"] and applied["reference"] == "noise source output"
        spectrum = server.get(f"{API}/acquisitions/c-block/1/spectrum").json()
        assert max(spectrum["detectors"]["mean"]) == pytest.approx(-42.9, abs=0.5)  # as without the receiver's 10 dB

        onboard = tmp_path / "data" / "onboard-calibration.yml"
        old = load_calibration(onboard)
        two_hours_ago = dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=2)
        write_calibration(onboard, [CalibrationPoint(p.frequency, p.gain_db, p.noise_figure_db) for p in old.points],
                          calibration_datetime=two_hours_ago.isoformat().replace("+00:00", "Z"),
                          reference=old.reference, temperature_c=old.temperature_c)
        [fault] = faults(server)
        assert "older than SCOS_CALIBRATION_MAX_AGE (3600 s)" in fault["detail"]
        assert fault["since"] == pytest.approx(two_hours_ago.timestamp() + 3600, abs=1.0)
        metrics = server.get("/metrics").body.decode()
        assert 'scos_faults{kind="calibration"} 1.0' in metrics
