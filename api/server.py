"""`scos-gr serve`: the API on waitress (:mod:`.http_server`: why waitress, and its settings),
plus the scheduler.

On the very first start (no user at all) it creates the user ``admin`` and prints its token once,
as Jupyter prints its URL, so ``make run`` alone gives a newcomer a working token.
"""
from __future__ import annotations

import importlib
import os
import logging
import signal
import sys
import time
from typing import Any, Callable, Iterable

import peewee

from scos_gr import store
from scos_gr.config import Settings
from scos_gr.errors import SchedulerError

from . import http_server
from .app import make_app

log = logging.getLogger("scos_gr.api.access")


class AccessLog:
    """One log line per request: method, path, status, bytes sent, duration."""

    def __init__(self, app: Callable[..., Iterable[bytes]]) -> None:
        self.app = app

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        started = time.perf_counter()
        seen: dict[str, Any] = {}

        def recording_start_response(status: str, headers: list, exc_info: Any = None) -> Any:
            seen["status"] = status.split(" ", 1)[0]
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        body = self.app(environ, recording_start_response)
        return _Logged(body, environ, seen, started)


class _Logged:
    def __init__(self, body: Iterable[bytes], environ: dict[str, Any], seen: dict[str, Any], started: float) -> None:
        self.body, self.environ, self.seen, self.started, self.sent = body, environ, seen, started, 0

    def __iter__(self):
        for chunk in self.body:
            self.sent += len(chunk)
            yield chunk

    def close(self) -> None:
        close = getattr(self.body, "close", None)
        if close:
            close()
        e = self.environ
        path = e.get("PATH_INFO", "") + (f"?{e['QUERY_STRING']}" if e.get("QUERY_STRING") else "")
        log.info('%s "%s %s" %s %d %.1fms', e.get("REMOTE_ADDR", "-"), e.get("REQUEST_METHOD"), path,
                 self.seen.get("status", "-"), self.sent, (time.perf_counter() - self.started) * 1000)


def ensure_first_user(settings: Settings) -> None:
    """Create ``admin`` and print its token when the store has no user at all."""
    with store.database.connection_context():
        if store.User.select().exists():
            return
        try:
            _, token = store.User.create_with_token("admin", is_admin=True)
        except peewee.IntegrityError:  # another process (a second web worker) made it first
            return
    print("scos-gr: created the first user 'admin' (admin); its token, shown only once:", flush=True)
    print(token, flush=True)


def start_scheduler(settings: Settings) -> Any:
    """The scheduler running in a thread of this process, or None when this build has none.

    Imported lazily: the web layer must not depend on the scheduler's (heavier) modules, and an
    API-only install still serves (``/status`` then shows the scheduler as dead).
    Raises what ``start_in_background`` raises (a ``SchedulerError``, such as
    ``SchedulerLockError`` when another one runs).
    """
    try:
        # import_module, not ``from ... import``: the latter returns the package attribute of an
        # already-imported module and never consults sys.modules, so a build without the module
        # (or a test hiding it) would still get one.
        service = importlib.import_module("scos_gr.scheduler.service")
    except ImportError as exc:
        logging.getLogger("scos_gr.api").warning("no scheduler in this build (%s); serving the API only", exc)
        return None
    start = getattr(service, "start_in_background", None)
    if start is None:
        logging.getLogger("scos_gr.api").warning("scheduler has no start_in_background; serving the API only")
        return None
    return start(settings)


def _stop_on_sigterm(*_: Any) -> None:
    logging.getLogger("scos_gr.api").info("SIGTERM (pid %s): stopping", os.getpid())
    sys.exit(0)


def serve(settings: Settings, with_scheduler: bool = True) -> int:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    store.init_store(settings.database_url)
    ensure_first_user(settings)
    app = AccessLog(make_app(settings))
    try:  # listen first: a port in use stops here, before a scheduler takes the database's lock
        # the app's BehindProxy decides which forwarding headers to believe (api/proxy.py)
        http = http_server.create(app, settings, clear_untrusted_proxy_headers=False)
    except http_server.ListenError as exc:
        print(f"error: {exc}", file=sys.stderr, flush=True)
        return 1
    scheduler = None
    if with_scheduler:
        try:
            scheduler = start_scheduler(settings)
        except Exception as exc:  # say why and stop
            if not isinstance(exc, SchedulerError):  # not one it reports on purpose (another one runs...): a defect
                logging.getLogger("scos_gr.api").exception("the scheduler could not start")
            print(f"error: {exc}", file=sys.stderr, flush=True)
            http.close()
            return 1
    # SIGTERM (systemd, docker, tests) stops cleanly: the scheduler frees its lock and its worker
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    print(f"scos-gr: serving http://{settings.host}:{settings.port}/ (radio {settings.radio!r}, "
          f"data in {settings.data_dir})", flush=True)
    if settings.trusted_proxy:
        print(f"scos-gr: believing X-Forwarded-Proto/Host/For and client certificates from {settings.trusted_proxy} "
              "only", flush=True)
    try:
        http.run()
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        http.close()
        if scheduler is not None:
            scheduler.stop()
            scheduler.join(30)
    return 0
