"""Debian's nginx, started by a test on a loopback port with the shipped deploy/nginx/ files.

The shipped files are used as they are, with only what must change on a test machine replaced
(each replaced text must be found, so an edit to the shipped file that drops one fails here):
the certificate paths, the sensor's port, the listening address, and the include of the
client-certificate snippet when asked for. One line is added: ``proxy_bind 127.0.0.2``, so the
sensor can tell the proxy's connections (from 127.0.0.2) from the test's own (from 127.0.0.1).
nginx runs in the foreground as the test's child process and is stopped by it.
"""
from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any, Optional

import pytest

from tests.ports import free_port, wait_for_port

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = ROOT / "deploy" / "nginx"
PROXY_ADDRESS = "127.0.0.2"


def require_nginx() -> str:
    path = shutil.which("nginx") or ("/usr/sbin/nginx" if os.path.exists("/usr/sbin/nginx") else None)
    if path is None:
        pytest.skip("nginx is not installed (Debian package 'nginx'; `make deps` installs it)")
    return path


def _replace(text: str, old: str, new: str) -> str:
    assert old in text, f"deploy/nginx: {old!r} is no longer in the shipped file"
    return text.replace(old, new)


class Nginx:
    def __init__(self, folder: Path, sensor_port: int, tls_dir: Path, client_certificates: bool = False) -> None:
        self.binary = require_nginx()
        self.folder = Path(folder)
        self.port = free_port()
        self.sensor_port = sensor_port
        self.tls_dir = Path(tls_dir)
        self.client_certificates = client_certificates
        self.proc: Optional[subprocess.Popen] = None

    def render(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        site = (SHIPPED / "scos-gr.conf").read_text()
        site = _replace(site, "server 127.0.0.1:8000;", f"server 127.0.0.1:{self.sensor_port};")
        site = _replace(site, "listen 443 ssl;", f"listen 127.0.0.1:{self.port} ssl;")
        site = _replace(site, "/etc/scos-gr/tls/", f"{self.tls_dir}/")
        site = _replace(site, "proxy_pass http://scos_gr;", f"proxy_pass http://scos_gr;\n        proxy_bind {PROXY_ADDRESS};")
        snippet = _replace((SHIPPED / "client-certificates.conf").read_text(), "/etc/scos-gr/tls/", f"{self.tls_dir}/")
        (self.folder / "client-certificates.conf").write_text(snippet)
        if self.client_certificates:
            site = _replace(site, "# include /etc/scos-gr/nginx/client-certificates.conf;",
                            f"include {self.folder}/client-certificates.conf;")
        (self.folder / "scos-gr.conf").write_text(site)
        user = "user root;\n" if os.geteuid() == 0 else ""  # workers read nothing but need the temp dirs
        main = self.folder / "nginx.conf"
        main.write_text(
            f"{user}worker_processes 1;\npid {self.folder}/nginx.pid;\nerror_log {self.folder}/error.log info;\n"
            "events { worker_connections 256; }\n"
            "http {\n"
            f"    access_log {self.folder}/access.log;\n"
            f"    client_body_temp_path {self.folder}/client_body;\n    proxy_temp_path {self.folder}/proxy;\n"
            f"    fastcgi_temp_path {self.folder}/fastcgi;\n    uwsgi_temp_path {self.folder}/uwsgi;\n"
            f"    scgi_temp_path {self.folder}/scgi;\n"
            f"    include {self.folder}/scos-gr.conf;\n"
            "}\n")
        return main

    def start(self) -> "Nginx":
        main = self.render()
        args = [self.binary, "-p", str(self.folder), "-c", str(main), "-e", str(self.folder / "error.log"),
                "-g", "daemon off;"]
        check = subprocess.run([*args[:-2], "-t"], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, f"nginx -t: {check.stderr}"
        self.proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            wait_for_port(self.port, time.monotonic() + 20, "nginx did not open its port")
        except RuntimeError:
            self.stop()
            raise
        return self

    def log(self) -> str:
        path = self.folder / "error.log"
        return path.read_text() if path.exists() else ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGQUIT)  # graceful: finish the requests in flight
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)

    def __enter__(self) -> "Nginx":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
