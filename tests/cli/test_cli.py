"""The scos-gr console script, run as a user runs it (a subprocess of the installed entry point)."""
from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCOS_GR = Path(sys.executable).with_name("scos-gr")
COMMANDS = ["serve", "scheduler", "createuser", "deleteuser", "rotatetoken", "acquire", "status", "check", "show"]


def run(*args: str, env: dict | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    import os

    return subprocess.run([str(SCOS_GR), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})


@pytest.mark.parametrize("command", [None, *COMMANDS])
def test_every_command_has_help(command):
    proc = run(*([command] if command else []), "--help")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("usage: scos-gr")
    if command is None:
        for name in COMMANDS:
            assert name in proc.stdout


def test_createuser_prints_the_token_on_the_last_line_and_refuses_a_duplicate(tmp_path):
    proc = run("createuser", "alice", "--admin", "--data-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    token = proc.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"[0-9a-f]{40,}", token), token
    from scos_gr import store

    store.init_store(f"sqlite:///{tmp_path / 'scos.db'}")
    with store.database.connection_context():
        user = store.User.get(store.User.name == "alice")
        assert user.is_admin and user.token_hash != token  # stored hashed, never in clear
    again = run("createuser", "alice", "--data-dir", str(tmp_path))
    assert again.returncode == 1 and "already exists" in again.stderr


def test_acquire_runs_the_action_once_and_summarises_the_sim_tone(tmp_path):
    proc = run("acquire", "acquire700c", "--out", str(tmp_path / "out"), "--data-dir", str(tmp_path / "data"))
    assert proc.returncode == 0, proc.stderr
    peak = re.search(r"peak\s+([\d.]+) MHz\s+(-?[\d.]+) dBm", proc.stdout)
    noise = re.search(r"noise\s+(-?[\d.]+) dBm per", proc.stdout)
    assert peak and noise, proc.stdout
    assert abs(float(peak.group(1)) - 752.0) <= 0.015  # +1 MHz from 751 MHz, within one bin
    assert abs(float(peak.group(2)) - (-40.0)) <= 0.1
    assert abs(float(noise.group(1)) - (-60 - 10 * np.log10(1024))) <= 0.3
    meta = Path(re.search(r"recording (\S+\.sigmf-meta)", proc.stdout).group(1))
    assert meta.is_file() and meta.parent == tmp_path / "out"
    assert json.loads(meta.read_text())["captures"][0]["core:frequency"] == 751e6


def test_acquire_records_the_sensor_definition_and_the_classification(tmp_path):
    example = Path(__file__).resolve().parents[2] / "deploy" / "sensor_definition.example.yml"
    proc = run("acquire", "acquire700c", "--out", str(tmp_path / "out"), "--data-dir", str(tmp_path / "data"),
               env={"SCOS_SENSOR_DEFINITION": str(example), "SCOS_CLASSIFICATION": "CUI"})
    assert proc.returncode == 0, proc.stderr
    g = json.loads(next((tmp_path / "out").glob("*.sigmf-meta")).read_text())["global"]
    from scos_gr.sensor_definition import load_sensor_definition

    definition = load_sensor_definition(example)
    assert g["ntia-sensor:sensor"]["sensor_spec"] == definition.document["sensor_spec"]
    assert g["ntia-sensor:sensor"]["sensor_sha512"] == definition.sha512
    assert g["core:geolocation"]["coordinates"][:2] == [definition.location.longitude, definition.location.latitude]
    assert g["ntia-core:classification"] == "CUI"
    assert g["ntia-scos:schedule"]["name"] == "field-check"


@pytest.mark.parametrize("command", ["serve", "scheduler", "acquire"])
@pytest.mark.parametrize("env, named", [
    ({"SCOS_SENSOR_DEFINITION": "{dir}/sensor.yml"}, "sensor.yml: antenna.antenna_spec: required"),
    ({"SCOS_SENSOR_DEFINITION": "{dir}/missing.yml"}, "missing.yml: cannot read the sensor definition file"),
    ({"SCOS_SENSOR_DEFINITION": "{dir}/sensor.yml", "SCOS_SENSOR_ID": "other"}, "antenna.antenna_spec"),
    ({"SCOS_SENSOR_DEFINITION": "{dir}/good.yml", "SCOS_SENSOR_ID": "other"},
     "SCOS_SENSOR_ID is 'other' but {dir}/good.yml: sensor_spec.id is 'roof-1'"),
    ({"SCOS_CLASSIFICATION": ""}, "SCOS_CLASSIFICATION is empty"),
])
def test_a_bad_sensor_configuration_stops_the_commands_with_status_2_and_the_reason(tmp_path, command, env, named):
    (tmp_path / "sensor.yml").write_text("sensor_spec: {id: roof-1}\nantenna: {gain: 2.0}\n")
    (tmp_path / "good.yml").write_text("sensor_spec: {id: roof-1}\n")
    env = {k: v.format(dir=tmp_path) for k, v in env.items()}
    args = {"serve": ["serve", "--port", "9"], "scheduler": ["scheduler"],
            "acquire": ["acquire", "acquire700c", "--out", str(tmp_path / "out")]}[command]
    proc = run(*args, "--data-dir", str(tmp_path / "data"), env=env, timeout=60)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ")
    assert named.format(dir=tmp_path) in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "data").exists() and not (tmp_path / "out").exists()  # nothing started


def test_acquire_reports_a_radio_failure_and_leaves_nothing(tmp_path):
    out = tmp_path / "out"
    proc = run("acquire", "acquire700c", "--out", str(out), "--radio", "sim,fail_every=1",
               "--data-dir", str(tmp_path / "data"))
    assert proc.returncode == 1
    assert "error:" in proc.stderr and "radio" in proc.stderr.lower()
    assert not any(out.glob("*")) if out.exists() else True


def test_acquire_names_an_unknown_action(tmp_path):
    proc = run("acquire", "no_such_action", "--out", str(tmp_path))
    assert proc.returncode == 1 and "no_such_action" in proc.stderr


def test_status_without_a_token_or_a_server_says_why(tmp_path):
    import os

    env = {k: v for k, v in os.environ.items() if k != "SCOS_TOKEN"}
    proc = subprocess.run([str(SCOS_GR), "status"], capture_output=True, text=True, env=env, timeout=30)
    assert proc.returncode == 2 and "SCOS_TOKEN" in proc.stderr
    proc = run("status", "--token", "x", "--url", "http://127.0.0.1:9")
    assert proc.returncode == 1 and "cannot reach the sensor" in proc.stderr


def test_status_prints_a_running_sensors_state_on_one_screen(tmp_path):
    from tests.live_server import LiveServer

    with LiveServer(tmp_path / "data") as server:
        server.wait_scheduler("idle")
        server.post("/api/v1/schedule/", {"name": "later", "action": "logger", "start": int(__import__("time").time()) + 30})
        proc = run("status", "--url", server.url(""), env={"SCOS_TOKEN": server.token})
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["scheduler", "idle"]
    assert any(line.startswith("radio") and "sim" in line and "healthy" in line for line in lines)
    assert any("logger" in line and "/schedule/later/" in line for line in lines)
    assert len(lines) <= 24


def test_status_says_why_the_scheduler_is_dead():
    from scos_gr.field import format_status

    first = format_status({"scheduler": "dead", "scheduler_detail": "starting: warming up", "task_queue": []})
    assert first.splitlines()[0] == "scheduler  dead (starting: warming up)"
    assert format_status({"scheduler": "idle", "scheduler_detail": "", "task_queue": []}).splitlines()[0] == "scheduler  idle"


@pytest.mark.parametrize("catalogue, reason", [
    ("actions: {acquire700c: {flowgraph: acquire700c.grc, parameters: [1, 2]}}\n", "'parameters' must be a mapping"),
    ("actions:\n  - not: a mapping\n", "expected a mapping with an 'actions' mapping"),
])
def test_acquire_with_a_malformed_catalogue_prints_the_error_not_a_traceback(tmp_path, catalogue, reason):
    (tmp_path / "actions.yml").write_text(catalogue)
    (tmp_path / "acquire700c.grc").write_text("")
    proc = run("acquire", "acquire700c", "--out", str(tmp_path / "out"), "--data-dir", str(tmp_path / "data"),
               env={"SCOS_ACTIONS": str(tmp_path / "actions.yml")})
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines()[-1].startswith("error: ") and reason in proc.stderr
    assert "Traceback" not in proc.stderr


def test_check_prints_each_action_and_each_problem_and_fails_when_there_is_one(tmp_path):
    good = run("check", "--data-dir", str(tmp_path / "data"))
    assert good.returncode == 0, good.stdout + good.stderr
    assert "ok       acquire700c: Single-frequency FFT power detection at 751 MHz" in good.stdout
    (tmp_path / "actions.yml").write_text("actions:\n  fm: {summary: x, flowgraph: fm.grc}\n  note: {kind: log}\n")
    bad = run("check", "--actions", str(tmp_path / "actions.yml"), "--data-dir", str(tmp_path / "data"))
    assert bad.returncode == 1
    assert "ok       note" in bad.stdout and "PROBLEM" in bad.stdout and "'fm.grc' not found" in bad.stdout


@pytest.mark.parametrize("name, problem", [
    ("", "This field may not be blank."),
    ("a/b", "Enter a valid 'slug'"),
    ("nl\n", "Enter a valid 'slug'"),
    ("x" * 200, "Ensure this field has no more than 50 characters."),
    ("\u00e9t\u00e9", "Enter a valid 'slug'"),
])
def test_createuser_takes_only_a_slug_as_the_api_does_for_names(tmp_path, name, problem):
    proc = run("createuser", name, "--data-dir", str(tmp_path / "data"))
    assert proc.returncode == 2, proc
    assert proc.stderr.startswith(f"error: user name {name!r}: ") and problem in proc.stderr, proc.stderr
    assert not (tmp_path / "data").exists()  # refused before the store is opened: no user made


def test_createuser_refuses_a_name_that_differs_only_in_case(tmp_path):
    assert run("createuser", "Alice", "--data-dir", str(tmp_path)).returncode == 0
    again = run("createuser", "alice", "--data-dir", str(tmp_path))
    assert again.returncode == 1
    assert "a user named 'Alice' already exists (names that differ only in case are one name)" in again.stderr


def test_an_iq_capture_on_a_full_disk_says_no_space_left_and_leaves_nothing(tmp_path):
    from tests.mounts import small_filesystem

    with small_filesystem(tmp_path / "fs", 4 << 20) as fs:  # 100 ms of IQ is 12.3 MB
        proc = run("acquire", "acquire_iq_751MHz", "--out", str(fs / "out"), "--data-dir", str(tmp_path / "data"))
        assert proc.returncode == 1, proc
        last = proc.stderr.strip().splitlines()[-1]
        assert "disk full: No space left on device (ENOSPC)" in last and "nothing was kept" in last, last
        assert "annotation ends" not in proc.stderr
        assert list((fs / "out").iterdir()) == []
