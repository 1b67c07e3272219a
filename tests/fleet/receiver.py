"""A real HTTP server that receives callbacks, for tests: a manager's endpoint on loopback.

    with CallbackReceiver(fail_first=2) as receiver:     # answers 503 to the first two POSTs
        url = receiver.url("/results")
        ...
        receiver.wait_for(3)                             # three deliveries accepted
        receiver.accepted[0].json(), receiver.attempts  # what came, and every try

It runs in a thread of the test process (``http.server.ThreadingHTTPServer``), so the sensor's
POSTs cross a real socket. ``hang_s`` makes every answer wait that long first (a receiver that
is slow or stuck); ``stop()`` closes the port (a receiver that is down).
"""
from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional

from tests.ports import free_port


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    status: int

    def json(self) -> Any:
        return json.loads(self.body)


class CallbackReceiver:
    def __init__(self, fail_first: int = 0, hang_s: float = 0.0, port: Optional[int] = None) -> None:
        self.port = port or free_port()
        self.fail_first = fail_first
        self.hang_s = hang_s
        self.attempts: list[Received] = []
        self._lock = threading.Condition()
        self._server: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    @property
    def accepted(self) -> list[Received]:
        with self._lock:
            return [r for r in self.attempts if r.status == 200]

    def url(self, path: str = "/callback") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> "CallbackReceiver":
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if receiver.hang_s:
                    time.sleep(receiver.hang_s)
                with receiver._lock:
                    status = 503 if len(receiver.attempts) < receiver.fail_first else 200
                    receiver.attempts.append(Received(self.path, {k.lower(): v for k, v in self.headers.items()},
                                                      body, time.time(), status))
                    receiver._lock.notify_all()
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def wait_for(self, count: int, timeout: float = 60.0) -> list[Received]:
        """Wait until ``count`` deliveries were accepted; return them (AssertionError at the timeout)."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                accepted = [r for r in self.attempts if r.status == 200]
                if len(accepted) >= count:
                    return accepted
                left = deadline - time.monotonic()
                assert left > 0, f"{len(accepted)} of {count} callbacks arrived in {timeout} s; tries: {self.attempts}"
                self._lock.wait(left)

    def __enter__(self) -> "CallbackReceiver":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
