"""A real `scos-gr serve` process on a loopback socket, for tests that go through HTTP.

    with LiveServer(tmp_path, env={"SCOS_RADIO": "sim"}) as server:
        server.token            # the first user's (admin) token, as `serve` printed it
        server.get("/api/v1/status")
        server.create_user("bob")   # `scos-gr createuser bob`, returns the token

Requests go through ``requests``-free ``urllib`` helpers that never follow redirects, so tests
see 301s as they are.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Optional

from tests.ports import free_port, wait_for_port

SCOS_GR = Path(sys.executable).with_name("scos-gr")


class Response:
    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.status, self.headers, self.body = status, headers, body

    def json(self) -> Any:
        return json.loads(self.body)

    def __repr__(self) -> str:
        return f"<Response {self.status} {self.body[:200]!r}>"


class LiveServer:
    def __init__(self, data_dir: Path, env: Optional[dict[str, str]] = None, scheduler: bool = True,
                 database_url: Optional[str] = None, args: tuple[str, ...] = (),
                 log_dir: Optional[Path] = None) -> None:
        self.data_dir = Path(data_dir)
        self.port = free_port()
        self.env = {**os.environ, "SCOS_DATA_DIR": str(self.data_dir), "SCOS_PORT": str(self.port),
                    "SCOS_HOST": "127.0.0.1", **(env or {})}
        if database_url:
            self.env["DATABASE_URL"] = database_url
        else:
            self.env.pop("DATABASE_URL", None)
        self.scheduler = scheduler
        self.args = tuple(args)  # more `serve` flags (--trusted-proxy ...)
        self.proc: Optional[subprocess.Popen] = None
        self.token: Optional[str] = None
        self.log_path = Path(log_dir or self.data_dir.parent) / f"serve-{self.port}.log"

    # -- process -------------------------------------------------------------------------------
    def start(self, timeout: float = 90.0) -> "LiveServer":
        self.data_dir.mkdir(parents=True, exist_ok=True)
        args = [str(SCOS_GR), "serve", *self.args] + ([] if self.scheduler else ["--no-scheduler"])
        self._log = open(self.log_path, "a")
        self.proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=self._log, text=True, env=self.env)
        deadline = time.monotonic() + timeout
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                raise RuntimeError(f"scos-gr serve exited ({self.proc.poll()}); log: {self.log()[-3000:]}")
            if re.fullmatch(r"[0-9a-f]{40,}\n", line):
                self.token = line.strip()
            if line.startswith("scos-gr: serving"):
                break
        wait_for_port(self.port, deadline, "server did not open its port")
        return self

    def wait_scheduler(self, state: str = "idle", timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.get("/api/v1/status").json()["scheduler"] == state:
                return
            time.sleep(0.1)
        raise AssertionError(f"scheduler never became {state}; log: {self.log()[-3000:]}")

    def wait_tasks(self, entry: str, count: int, timeout: float = 60.0) -> list[dict[str, Any]]:
        """The entry's task log once it holds ``count`` finished tasks (AssertionError at the timeout)."""
        deadline = time.monotonic() + timeout
        while True:
            tasks = self.get(f"/api/v1/tasks/{entry}/").json()
            if len(tasks) >= count and all(t["status"] != "in-progress" for t in tasks):
                return tasks
            assert time.monotonic() < deadline, f"{entry}: not {count} finished tasks in {timeout} s: {tasks}"
            time.sleep(0.1)

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        if self.proc and self.proc.stdout:
            self.proc.stdout.close()
        if getattr(self, "_log", None):
            self._log.close()

    def kill9(self) -> None:
        """SIGKILL the server and its worker (a power cut, as far as the sensor can tell)."""
        assert self.proc is not None
        children = subprocess.run(["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout.split()
        self.proc.kill()
        for pid in children:
            try:
                os.kill(int(pid), signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(10)
        self.stop()

    def log(self) -> str:
        return self.log_path.read_text() if self.log_path.exists() else ""

    def __enter__(self) -> "LiveServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- users ---------------------------------------------------------------------------------
    def create_user(self, name: str, admin: bool = False) -> str:
        args = [str(SCOS_GR), "createuser", name] + (["--admin"] if admin else [])
        proc = subprocess.run(args, capture_output=True, text=True, env=self.env, timeout=60)
        assert proc.returncode == 0, proc.stderr
        return proc.stdout.strip().splitlines()[-1]

    # -- HTTP ----------------------------------------------------------------------------------
    def request(self, method: str, path: str, body: Any = None, token: Optional[str] = "default",
                headers: Optional[dict[str, str]] = None, raw: Optional[bytes] = None,
                source: Optional[str] = None) -> Response:
        """``source``: the local address to connect from (a loopback address such as 127.0.0.2)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60,
                                          source_address=(source, 0) if source else None)
        hdrs = dict(headers or {})
        if token == "default":
            token = self.token
        if token:
            hdrs.setdefault("Authorization", f"Token {token}")
        payload = raw
        if body is not None:
            payload = json.dumps(body).encode()
            hdrs.setdefault("Content-Type", "application/json")
        try:
            conn.request(method, path, body=payload, headers=hdrs)
        except ConnectionRefusedError:
            if self.proc is not None and self.proc.poll() is not None:  # say how it ended
                raise RuntimeError(f"scos-gr serve has exited (status {self.proc.returncode}); its log ends:\n"
                                   f"{self.log()[-4000:]}") from None
            raise
        resp = conn.getresponse()
        data = resp.read()
        conn.close()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, data)

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Response:
        return self.request("POST", path, body, **kw)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"
