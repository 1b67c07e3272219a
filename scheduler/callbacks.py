"""Callbacks (spec "Callbacks"): each finished task of an entry with a ``callback_url`` is POSTed
there, from a durable queue, by a thread of its own.

The scheduler calls :func:`enqueue` inside the transaction that records the task, so a recorded
task with a callback URL always has its delivery row (``store.CallbackDelivery``), and never
waits for the network. :class:`CallbackSender` (a thread of the process that holds the scheduler
lock, so one per database) sends the due rows one at a time: ``POST <url>`` with the task's JSON,
``Content-Type: application/json`` and ``Authorization: Token <SCOS_CALLBACK_TOKEN>`` when that
is set. A 2xx answer is delivered; anything else (no connection, timeout, TLS error, another
status, a redirect) is retried after a growing delay (1 s, 2 s, 4 s, ... at most 10 min) until
``SCOS_CALLBACK_RETRY_FOR`` seconds have passed since the task finished; then it is failed.
The rows live in the store, so pending deliveries survive a restart. A delivery cut short by a
crash is sent again after the restart (at least once: a receiver tells repeats apart by the
task's ``url``).
"""
from __future__ import annotations

import json
import logging
import threading
import time
import urllib.error
import urllib.request
from http.client import HTTPException
from typing import Any, Optional

import peewee

from scos_gr import store
from scos_gr.config import Settings

log = logging.getLogger(__name__)

FIRST_DELAY_S = 1.0
MAX_DELAY_S = 600.0
#: seconds one POST may take (connect, send, answer)
POST_TIMEOUT_S = 10.0
#: the sender wakes at least this often to look for due deliveries
POLL_S = 1.0
#: deliveries fetched per look (the rest wait for the next one)
BATCH = 50
USER_AGENT = "scos-gr callback"


def retry_delay(attempts: int) -> float:
    """Seconds to wait after the ``attempts``-th failed attempt: doubling from 1 s, capped."""
    return min(MAX_DELAY_S, FIRST_DELAY_S * 2 ** max(0, attempts - 1))


def enqueue(task: store.Task, url: str, payload: dict[str, Any], now: Optional[float] = None) -> store.CallbackDelivery:
    """Queue ``payload`` (the task's JSON) for ``url``; call it in the transaction that records the task."""
    now = time.time() if now is None else now
    return store.CallbackDelivery.create(task=task.id, url=url, payload=payload, state=store.CALLBACK_PENDING,
                                         attempts=0, next_attempt=now, created=now)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """A redirect is an answer other than 2xx: a POST is never re-sent elsewhere (or as a GET)."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects())


def post(url: str, payload: dict[str, Any], token: Optional[str], timeout: float = POST_TIMEOUT_S) -> Optional[str]:
    """POST ``payload`` as JSON; None when the receiver answered 2xx, else why not (a sentence)."""
    headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
    if token:
        headers["Authorization"] = f"Token {token}"
    request = urllib.request.Request(url, data=json.dumps(payload).encode("utf-8"), headers=headers, method="POST")
    try:
        with _opener.open(request, timeout=timeout) as response:
            response.read(65536)
            return None if 200 <= response.status < 300 else f"HTTP {response.status} {response.reason}"
    except urllib.error.HTTPError as exc:
        return f"HTTP {exc.code} {exc.reason}"
    except urllib.error.URLError as exc:
        return f"cannot reach {url}: {exc.reason}"
    except (OSError, HTTPException, ValueError) as exc:  # timeouts, resets, a URL urllib cannot use
        return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class CallbackSender:
    """The thread that delivers the queue (start, wake after a task, stop)."""

    def __init__(self, settings: Settings) -> None:
        self.token = settings.callback_token
        self.retry_for_s = settings.callback_retry_s
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: Optional[threading.Thread] = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="callback-sender", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """A delivery was queued: look now rather than at the next poll."""
        self._wake.set()

    def stop(self, timeout: float = POST_TIMEOUT_S + 5) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                sent = self.deliver_due()
            except peewee.PeeweeException as exc:  # the database is away: try again later
                log.warning("callbacks: database error, retrying: %s", exc)
                sent = 0
            if not sent:
                self._wake.wait(self._sleep_time())
                self._wake.clear()

    def _sleep_time(self) -> float:
        C = store.CallbackDelivery
        try:
            with store.database.connection_context():
                due = (C.select(peewee.fn.MIN(C.next_attempt)).where(C.state == store.CALLBACK_PENDING).scalar())
        except peewee.PeeweeException:
            return POLL_S
        return POLL_S if due is None else max(0.0, min(POLL_S, due - time.time()))

    def deliver_due(self, now: Optional[float] = None) -> int:
        """Try every delivery due now, oldest due first; return how many were tried."""
        C = store.CallbackDelivery
        now = time.time() if now is None else now
        with store.database.connection_context():
            due = list(C.select().where((C.state == store.CALLBACK_PENDING) & (C.next_attempt <= now))
                       .order_by(C.next_attempt, C.id).limit(BATCH))
        for delivery in due:
            if self._stop.is_set():
                break
            self.attempt(delivery)
        return len(due)

    def attempt(self, delivery: store.CallbackDelivery) -> str:
        """One POST of ``delivery``, and its outcome stored; returns the new state."""
        error = post(delivery.url, delivery.payload, self.token)
        now = time.time()
        attempts = delivery.attempts + 1
        changes: dict[Any, Any] = {"attempts": attempts}
        if error is None:
            changes.update(state=store.CALLBACK_DELIVERED, finished=store.utcnow())
            log.info("callback of task %s delivered to %s (attempt %d)", delivery.payload.get("url"), delivery.url, attempts)
        elif now - delivery.created >= self.retry_for_s:
            changes.update(state=store.CALLBACK_FAILED, last_error=error, finished=store.utcnow())
            log.error("callback of task %s to %s failed for good after %d attempts: %s",
                      delivery.payload.get("url"), delivery.url, attempts, error)
        else:
            delay = retry_delay(attempts)
            changes.update(last_error=error, next_attempt=now + delay)
            log.warning("callback of task %s to %s failed (attempt %d), retrying in %g s: %s",
                        delivery.payload.get("url"), delivery.url, attempts, delay, error)
        with store.database.connection_context():
            store.CallbackDelivery.update(**changes).where(store.CallbackDelivery.id == delivery.id).execute()
        return changes.get("state", store.CALLBACK_PENDING)
