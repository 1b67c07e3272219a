"""Operator workflows end to end: a calibration file, and an action added while the sensor runs."""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from scos_gr.config import VARIABLES
from tests.live_server import LiveServer

ROOT = Path(__file__).resolve().parents[2]
SCOS_GR = Path(sys.executable).with_name("scos-gr")


def acquire_peak(tmp_path, name, env):
    proc = subprocess.run([str(SCOS_GR), "acquire", "acquire700c", "--out", str(tmp_path / name),
                           "--data-dir", str(tmp_path / "data")], capture_output=True, text=True, timeout=120,
                          env={**os.environ, **env})
    assert proc.returncode == 0, proc.stderr
    return float(re.search(r"peak\s+[\d.]+ MHz\s+(-?[\d.]+) dBm", proc.stdout).group(1)), proc.stdout


def test_a_plus_3_db_gain_in_the_calibration_file_moves_the_tone_by_minus_3_db(tmp_path):
    cal = tmp_path / "cal.yml"
    # +3 dB at 751 MHz, interpolated between two points
    cal.write_text("calibration_datetime: '2026-11-01T00:00:00Z'\npoints:\n"
                   "  - {frequency: 7.01e+8, gain_db: 2.0, noise_figure_db: 5.0}\n"
                   "  - {frequency: 8.01e+8, gain_db: 4.0, noise_figure_db: 6.0}\n")
    plain, _ = acquire_peak(tmp_path, "plain", {})
    calibrated, out = acquire_peak(tmp_path, "cal", {"SCOS_CALIBRATION_FILE": str(cal)})
    assert abs(plain - (-40.0)) <= 0.1
    assert abs((calibrated - plain) - (-3.0)) <= 0.01
    meta = json.loads(next((tmp_path / "cal").glob("*.sigmf-meta")).read_text())
    assert meta["captures"][0]["ntia-sensor:sensor_calibration"] == {
        "datetime": "2026-11-01T00:00:00.000000Z", "gain": 3.0, "noise_figure": 5.5, "reference": "antenna terminal"}
    with LiveServer(tmp_path / "srv", env={"SCOS_CALIBRATION_FILE": str(cal)}, scheduler=False) as server:
        calibration = server.get("/api/v1/capabilities/").json()["calibration"]
        assert [p["gain_db"] for p in calibration["points"]] == [2.0, 4.0]


def test_an_action_added_to_the_catalogue_is_offered_and_runs_without_a_restart(tmp_path):
    catalogue_dir = tmp_path / "actions"
    shutil.copytree(ROOT / "flowgraphs", catalogue_dir, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    env = {"SCOS_ACTIONS": str(catalogue_dir / "actions.yml")}
    with LiveServer(tmp_path / "data", env=env) as server:
        server.wait_scheduler("idle")
        names = {a["name"] for a in server.get("/api/v1/capabilities/").json()["actions"]}
        assert "acquire_fm" not in names
        # the README's recipe: copy a .grc, change its id and a default, add a catalogue entry
        grc = (catalogue_dir / "acquire700c.grc").read_text().replace("id: acquire700c", "id: acquire_fm")
        (catalogue_dir / "acquire_fm.grc").write_text(grc)
        with open(catalogue_dir / "actions.yml", "a") as f:
            f.write("  acquire_fm:\n    summary: \"FFT power detection at 98 MHz\"\n"
                    "    flowgraph: acquire_fm.grc\n"
                    "    parameters: {frequency: 98.0e+6, sample_rate: 2.4e+6, fft_size: 512, num_ffts: 100}\n")
        caps = {a["name"]: a for a in server.get("/api/v1/capabilities/").json()["actions"]}
        assert caps["acquire_fm"]["parameters"]["frequency"] == 98e6
        r = server.post("/api/v1/schedule/", {"name": "fm", "action": "acquire_fm", "start": int(time.time()) + 1})
        assert r.status == 201, r
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            tasks = server.get("/api/v1/tasks/fm/").json()
            if tasks and tasks[0]["status"] != "in-progress":
                break
            time.sleep(0.2)
        assert tasks[0]["status"] == "success", tasks
        meta = server.get("/api/v1/acquisitions/fm/1/").json()["sigmf_metadata"]
        assert meta["captures"][0]["core:frequency"] == 98e6
        assert meta["global"]["core:sample_rate"] == 2.4e6
        spectrum = server.get("/api/v1/acquisitions/fm/1/spectrum").json()
        mean = np.array(spectrum["detectors"]["mean"])
        assert len(mean) == 512 and abs(spectrum["frequencies_hz"][int(np.argmax(mean))] - 99e6) < 2.4e6 / 512


def test_the_readme_configuration_table_is_the_variables_table():
    """The README's table mirrors scos_gr.config.VARIABLES row for row: name, default, meaning."""
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index("| variable | default | meaning |"):]
    rows = []
    for line in table.splitlines()[2:]:
        if not line.startswith("| `"):
            break
        name, default, meaning = (cell.strip() for cell in line.strip("|").split(" | "))
        rows.append((name.strip("`"), default.strip("`"), meaning))
    assert rows == list(VARIABLES)
