"""A real Prometheus (Debian's) scrapes a sensor's /metrics with the metrics token, and a counter
is read back through Prometheus' HTTP API."""
from __future__ import annotations

import time

import pytest

from tests.fleet.prometheus import Prometheus, require_prometheus
from tests.live_server import LiveServer

API = "/api/v1"
pytestmark = pytest.mark.slow


def test_prometheus_scrapes_the_sensor_and_counts_its_tasks(tmp_path):
    require_prometheus()
    with LiveServer(tmp_path / "data", env={"SCOS_METRICS_TOKEN": "scrape-me"}) as sensor:
        sensor.wait_scheduler()
        start = int(time.time()) + 1
        assert sensor.post(f"{API}/schedule/", {"name": "log", "action": "logger", "start": start, "interval": 1,
                                                "stop": start + 3}).status == 201
        with Prometheus(tmp_path / "prometheus", targets=[(f"127.0.0.1:{sensor.port}", "scrape-me")],
                        labels=[{"sensor": "one"}]) as prometheus:
            up = prometheus.wait_for('up{sensor="one"} == 1')
            assert up[0]["metric"]["instance"] == f"127.0.0.1:{sensor.port}"
            result = prometheus.wait_for('scos_tasks_total{action="logger",status="success",sensor="one"} == 3',
                                         timeout=60)
            assert float(result[0]["value"][1]) == 3
            state = prometheus.wait_for('scos_scheduler_state{state="dead"} == 0')
            assert state[0]["metric"]["sensor"] == "one"


def test_the_readmes_scrape_configuration_is_valid_for_prometheus(tmp_path):
    """The YAML a reader copies from the README's "Running a fleet" passes `promtool check config`."""
    import re
    import shutil
    import subprocess
    from pathlib import Path

    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.skip("promtool is not installed (Debian package 'prometheus'; `make deps` installs it)")
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    block = re.compile(r"```yaml\n(.*?)```", re.S).search(readme, readme.index("## Running a fleet")).group(1)
    for path in ("/etc/prometheus/fleet-ca.crt", "/etc/prometheus/scos-gr-metrics-token"):
        assert path in block
        local = tmp_path / Path(path).name
        local.write_text("x")
        block = block.replace(path, str(local))
    config = tmp_path / "prometheus.yml"
    config.write_text(block)
    proc = subprocess.run([promtool, "check", "config", str(config)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stdout + proc.stderr
