"""A fleet on one machine, as the README's "Running a fleet" sets it up: three sensors started the
way deploy/systemd/scos-gr.service starts one (its ExecStart, Environment and EnvironmentFile,
each with its own port, data directory and env file), scheduled through the API; every result
arrives at one callback receiver and every sensor is in one Prometheus. Also: the shipped unit
passes `systemd-analyze verify` and asks for what an unattended sensor needs."""
from __future__ import annotations

import configparser
import shlex
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from tests.fleet.prometheus import Prometheus, require_prometheus
from tests.fleet.receiver import CallbackReceiver
from tests.live_server import SCOS_GR, LiveServer
from tests.ports import free_port

ROOT = Path(__file__).resolve().parents[2]
UNIT = ROOT / "deploy" / "systemd" / "scos-gr.service"
ENV_FILE = ROOT / "deploy" / "systemd" / "scos-gr.env"
API = "/api/v1"
pytestmark = pytest.mark.slow


def unit_service() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None, strict=True)
    parser.optionxform = str  # keys are case-sensitive in unit files
    parser.read_string(UNIT.read_text())
    return parser["Service"]


def read_environment_file(text: str) -> dict[str, str]:
    """KEY=value lines as systemd reads an EnvironmentFile (comments and blank lines skipped)."""
    env = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith(("#", ";")):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def test_the_unit_restarts_on_failure_uses_the_data_dir_and_the_environment_file(tmp_path):
    service = unit_service()
    assert service["Restart"] == "on-failure"
    assert service["StateDirectory"] == "scos-gr" and service["Environment"] == "SCOS_DATA_DIR=/var/lib/scos-gr"
    assert service["EnvironmentFile"] == "/etc/scos-gr/scos-gr.env"
    assert shlex.split(service["ExecStart"])[1:] == ["serve"]
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        pytest.skip("systemd-analyze is not installed: the unit's syntax is not checked here")
    # verify needs the programs to exist: point it at this checkout's venv and env file
    unit = tmp_path / "scos-gr.service"
    unit.write_text(UNIT.read_text().replace("/opt/scos-gr/.venv/bin/scos-gr", str(SCOS_GR))
                    .replace("/etc/scos-gr/scos-gr.env", str(ENV_FILE)))
    proc = subprocess.run([analyze, "verify", str(unit)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "scos-gr.service" not in proc.stderr, proc.stderr


def start_sensor(folder: Path, number: int, metrics_token: str, callback_token: str) -> LiveServer:
    """One sensor as the unit runs it: ExecStart's command with Environment= and then the
    EnvironmentFile's values (which win), from a copy of the shipped env file edited for it."""
    service = unit_service()
    assert shlex.split(service["ExecStart"])[1:] == ["serve"]
    port = free_port()
    env_text = ENV_FILE.read_text()
    for key, value in {"SCOS_SENSOR_ID": f"sensor{number}", "SCOS_PORT": str(port),
                       "SCOS_PUBLIC_URL": f"https://sensor{number}.example.org",
                       "SCOS_CALLBACK_TOKEN": callback_token, "SCOS_METRICS_TOKEN": metrics_token}.items():
        lines = [line for line in env_text.splitlines() if line.startswith(f"{key}=")]
        assert len(lines) == 1, f"{ENV_FILE.name} has no {key}= line"
        env_text = env_text.replace(lines[0], f"{key}={value}")
    env_text += f"SCOS_DATA_DIR={folder / 'data'}\n"  # its own data directory (the unit's default is one per machine)
    (folder / "scos-gr.env").write_text(env_text)
    key, _, value = service["Environment"].partition("=")
    env = {key: value, **read_environment_file(env_text)}
    server = LiveServer(folder / "data", env=env)
    server.port = port
    return server.start()


def test_three_sensors_report_to_one_receiver_and_one_prometheus(tmp_path):
    require_prometheus()
    sensors: list[LiveServer] = []
    with CallbackReceiver() as receiver:
        try:
            for number in (1, 2, 3):
                folder = tmp_path / f"sensor{number}"
                folder.mkdir()
                sensors.append(start_sensor(folder, number, metrics_token="fleet-metrics",
                                            callback_token="fleet-callbacks"))
            assert len({s.port for s in sensors}) == 3 and len({s.data_dir for s in sensors}) == 3
            with Prometheus(tmp_path / "prometheus", targets=[(f"127.0.0.1:{s.port}", "fleet-metrics") for s in sensors],
                            labels=[{"sensor": f"sensor{n}"} for n in (1, 2, 3)]) as prometheus:
                for sensor in sensors:
                    sensor.wait_scheduler()
                    start = int(time.time()) + 1
                    r = sensor.post(f"{API}/schedule/", {"name": "survey", "action": "acquire700c", "start": start,
                                                         "interval": 1, "stop": start + 2,
                                                         "callback_url": receiver.url("/fleet")})
                    assert r.status == 201, r
                results = receiver.wait_for(6, timeout=90)
                by_sensor: dict[str, list[int]] = {}
                for result in results:
                    assert result.headers["authorization"] == "Token fleet-callbacks"
                    body = result.json()
                    assert body["status"] == "success" and body["acquisition"], body
                    host = body["url"].split("/")[2]
                    by_sensor.setdefault(host, []).append(body["task_id"])
                assert {h: sorted(ids) for h, ids in by_sensor.items()} == \
                    {f"sensor{n}.example.org": [1, 2] for n in (1, 2, 3)}
                # each recording names the sensor it came from
                for number, sensor in enumerate(sensors, 1):
                    meta = sensor.get(f"{API}/acquisitions/survey/1/").json()["sigmf_metadata"]
                    assert f"sensor{number}" in str(meta["global"].get("ntia-sensor:sensor")), meta["global"]
                up = prometheus.wait_for("up == 1", count=3)
                assert sorted(series["metric"]["sensor"] for series in up) == ["sensor1", "sensor2", "sensor3"]
                done = prometheus.wait_for('scos_tasks_total{action="acquire700c",status="success"} == 2', count=3)
                assert sorted(series["metric"]["sensor"] for series in done) == ["sensor1", "sensor2", "sensor3"]
                total = prometheus.wait_for('sum(scos_tasks_total{action="acquire700c"})')
                assert float(total[0]["value"][1]) == 6
        finally:
            for sensor in sensors:
                sensor.stop()
