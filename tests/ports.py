"""Loopback ports for the servers the tests start (scos-gr serve, a throwaway PostgreSQL)."""
from __future__ import annotations

import socket
import time


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, deadline: float, what: str) -> None:
    """Return once 127.0.0.1:``port`` accepts a connection; RuntimeError(``what``) at ``deadline``
    (a ``time.monotonic()`` value)."""
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(what)
