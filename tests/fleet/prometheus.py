"""Debian's Prometheus, started by a test on a loopback port to scrape sensors.

    with Prometheus(tmp_path / "prom", targets=[("127.0.0.1:8001", token), ...]) as prom:
        prom.wait_for('scos_tasks_total{action="logger"}')   # the query's result, once non-empty

One scrape job per target (each with its own bearer token, as Prometheus' ``authorization``
setting sends it), scraped every second; queries go through Prometheus' HTTP API. The server
runs as the test's child process, its storage in the test's directory, and is stopped by it.
"""
from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Optional

import pytest
import yaml

from tests.ports import free_port, wait_for_port


def require_prometheus() -> str:
    path = shutil.which("prometheus")
    if path is None:
        pytest.skip("prometheus is not installed (Debian package 'prometheus'; `make deps` installs it)")
    return path


class Prometheus:
    def __init__(self, folder: Path, targets: list[tuple[str, str]], labels: Optional[list[dict[str, str]]] = None) -> None:
        self.binary = require_prometheus()
        self.folder = Path(folder)
        self.port = free_port()
        self.targets = targets
        self.labels = labels or [{} for _ in targets]
        self.proc: Optional[subprocess.Popen] = None

    def config(self) -> dict[str, Any]:
        jobs = []
        for i, ((target, token), labels) in enumerate(zip(self.targets, self.labels)):
            secret = self.folder / f"token-{i}"
            secret.write_text(token)
            secret.chmod(0o600)
            jobs.append({"job_name": f"sensor-{i}", "metrics_path": "/metrics",
                         "authorization": {"type": "Bearer", "credentials_file": str(secret)},
                         "static_configs": [{"targets": [target], "labels": labels}]})
        return {"global": {"scrape_interval": "1s", "scrape_timeout": "1s"}, "scrape_configs": jobs}

    def start(self) -> "Prometheus":
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "prometheus.yml"
        config.write_text(yaml.safe_dump(self.config()))
        self.log_path = self.folder / "prometheus.log"
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen([self.binary, f"--config.file={config}", f"--storage.tsdb.path={self.folder / 'tsdb'}",
                                      f"--web.listen-address=127.0.0.1:{self.port}"],
                                     stdout=self._log, stderr=subprocess.STDOUT)
        try:
            wait_for_port(self.port, time.monotonic() + 30, "prometheus did not open its port")
            deadline = time.monotonic() + 30
            while self._get("/-/ready") is None:
                assert time.monotonic() < deadline, self.log()
                time.sleep(0.2)
        except BaseException:
            self.stop()
            raise
        return self

    def _get(self, path: str) -> Optional[bytes]:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=10) as resp:
                return resp.read()
        except OSError:
            return None

    def query(self, promql: str) -> list[dict[str, Any]]:
        """The instant query's result vector, through the HTTP API (/api/v1/query)."""
        body = self._get("/api/v1/query?" + urllib.parse.urlencode({"query": promql}))
        assert body is not None, self.log()
        answer = json.loads(body)
        assert answer["status"] == "success", answer
        return answer["data"]["result"]

    def wait_for(self, promql: str, count: int = 1, timeout: float = 60.0) -> list[dict[str, Any]]:
        """The query's result once it holds at least ``count`` series."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(promql)
            if len(result) >= count:
                return result
            assert time.monotonic() < deadline, f"{promql}: {result}; targets: {self.targets_health()}"
            time.sleep(0.5)

    def targets_health(self) -> list[dict[str, Any]]:
        body = self._get("/api/v1/targets")
        return [{k: t.get(k) for k in ("scrapeUrl", "health", "lastError")}
                for t in json.loads(body)["data"]["activeTargets"]] if body else []

    def log(self) -> str:
        return self.log_path.read_text()[-3000:] if self.log_path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if getattr(self, "_log", None):
            self._log.close()

    def __enter__(self) -> "Prometheus":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
