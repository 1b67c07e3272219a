"""The HTTP server under the API: waitress, set up for a sensor nobody watches on an open network.

Why waitress, and these settings (measured on a 2-core machine; docs in the README's "The HTTP
server" section):

- **Idle and slow clients cost a socket, never a thread.** waitress reads every request (headers
  and body) in its event loop and hands it to a worker thread only once it is complete, so a
  client that connects and sends nothing, or one header line now and then, holds a connection
  slot and nothing else. With waitress's default limit of 100 connections about 95 such sockets
  stopped the API answering anyone; :data:`CONNECTION_LIMIT` slots, with ``poll()`` instead of
  ``select()`` (which cannot watch a descriptor above 1023), leave ``/status`` answering with
  500 of them open. Past the limit new connections wait in the kernel's accept queue until a slot
  frees. A thread-per-connection server (cheroot, wsgiref) gives a slow client a thread for as
  long as it trickles.
- **Silent connections are closed** after :data:`CHANNEL_TIMEOUT_S` without a byte either way
  (nginx's default header timeout); a client that trickles a byte at a time keeps its slot: the
  connection limit is what bounds those.
- **Bodies over the limit are refused from their headers.** ``max_request_body_size`` is the
  document's ``x-max-request-body-bytes`` (1 MiB): waitress answers 413 as soon as the
  ``Content-Length`` (or, chunked, the bytes read so far) passes it, before the application,
  authentication or any spooling; the answer is JSON like every other error
  (:class:`JsonErrorTask`). Accepted bodies above :data:`INBUF_OVERFLOW` wait in a temporary
  file, so memory stays bounded by the connection limit.
"""
from __future__ import annotations

import errno
import json
import resource
import socket
from typing import Any, Callable

from waitress.channel import HTTPChannel
from waitress.server import BaseWSGIServer, create_server
from waitress.task import ErrorTask
from waitress.utilities import RequestEntityTooLarge

from scos_gr.config import Settings
from scos_gr.errors import ApiRequestError

from . import openapi

THREADS = 16
#: connection slots (idle ones included); also bounded by the process's descriptor limit
CONNECTION_LIMIT = 2000
#: descriptors kept for everything else (database, recordings, logs, the scheduler's pipes)
RESERVED_FDS = 200
#: seconds a connection may stay without a byte either way before it is closed
CHANNEL_TIMEOUT_S = 60
#: an accepted request body above this waits in a temporary file instead of memory
INBUF_OVERFLOW = 64 << 10
#: waitress queues a response for a slow client up to its high watermark (16 MiB by default, past
#: 1 MiB in a temporary file) before it blocks the app thread. An archive must neither grow the
#: server's memory by that much nor be copied to a temp file: a connection holds at most
#: watermark + one archive chunk (512 + 256 KiB), always below the overflow, so always in memory.
#: Measured: a 512 MiB archive to a slow reader grew RSS 17-18 MB with the defaults, ~2.5 MB with
#: these; a fast reader downloads at the same ~1 GB/s either way.
OUTBUF_HIGH_WATERMARK = 512 << 10
OUTBUF_OVERFLOW = 1 << 20


class ListenError(ApiRequestError):
    """The server cannot listen where it was told to (port in use, no such address...)."""


class JsonErrorTask(ErrorTask):
    """waitress's own error answers (413, 400 for a malformed request, 431...) as the API's JSON
    ``{"detail": ...}`` instead of waitress's text page."""

    def execute(self) -> None:
        error = self.request.error
        if isinstance(error, RequestEntityTooLarge):
            limit = openapi.max_body_bytes()
            message = f"Request body too large: the limit is {limit} bytes ({limit / 1048576:g} MiB)."
        else:
            message = f"{error.reason}: {error.body}"
        body = json.dumps({"detail": message}).encode()
        self.status = f"{error.code} {error.reason}"
        self.response_headers.append(("Content-Type", "application/json"))
        self.set_close_on_finish()
        self.content_length = len(body)
        self.write(body)


class JsonErrorChannel(HTTPChannel):
    error_task_class = JsonErrorTask


def connection_limit() -> int:
    """:data:`CONNECTION_LIMIT`, within what this process may open (the soft descriptor limit is
    raised to the hard one first: a systemd unit's soft 1024 would otherwise cap it)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
            soft = hard
        except (ValueError, OSError):
            pass
    if soft == resource.RLIM_INFINITY:
        return CONNECTION_LIMIT
    return max(16, min(CONNECTION_LIMIT, soft - RESERVED_FDS))


def create(app: Callable[..., Any], settings: Settings, **adjustments: Any) -> Any:
    """The server, bound to ``settings.host:port`` and ready to ``run()``; :class:`ListenError`
    with one sentence when it cannot listen there. ``adjustments``: more waitress settings (they
    win over these)."""
    server_map: dict[int, Any] = {}
    try:
        server = create_server(
            app, map=server_map, host=settings.host, port=settings.port, threads=THREADS, ident="scos-gr",
            connection_limit=connection_limit(), channel_timeout=CHANNEL_TIMEOUT_S, asyncore_use_poll=True,
            max_request_body_size=openapi.max_body_bytes() + 1,  # waitress refuses sizes >= this
            inbuf_overflow=INBUF_OVERFLOW, outbuf_high_watermark=OUTBUF_HIGH_WATERMARK,
            outbuf_overflow=OUTBUF_OVERFLOW, **adjustments)
    except OSError as exc:
        reason = {errno.EADDRINUSE: "address already in use (another scos-gr, or another server, has it)",
                  errno.EACCES: "permission denied (ports below 1024 need privileges)",
                  errno.EADDRNOTAVAIL: "no such address on this machine"}.get(exc.errno, exc.strerror or str(exc))
        if isinstance(exc, socket.gaierror):
            reason = f"cannot resolve the host name ({exc.strerror})"
        raise ListenError(f"cannot listen on {settings.host}:{settings.port}: {reason}") from None
    for listener in server_map.values():  # one per address the host name resolves to
        if isinstance(listener, BaseWSGIServer):
            listener.channel_class = JsonErrorChannel
    return server
