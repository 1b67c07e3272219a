"""``GET /metrics`` **(ext)**: the sensor in the Prometheus text format, for a fleet's Prometheus.

Everything comes from the store and the data filesystem at scrape time, so any web process
answers for the scheduler wherever it runs (and never imports GNU Radio): the task totals the
scheduler keeps (:mod:`scos_gr.tally`: tasks by action and status, task and capture durations,
dropped samples, overloads), its heartbeat row (state, heartbeat age, radio health), the
schedule (the queue /status shows), the recordings (bytes, count), the free disk space, the
callback queue (deliveries by state, the age of the oldest pending one) and the catalogue's
faults. The web process's own CPU and memory come with them (``process_*``).

Who may read it: an admin's token, or ``SCOS_METRICS_TOKEN`` (a token good for this endpoint
only, for Prometheus' ``authorization`` setting). Either in ``Authorization: Token <key>`` or, as
Prometheus sends it by default, ``Authorization: Bearer <key>``.
"""
from __future__ import annotations

import hmac
import shutil
import time
from typing import Any, Iterator

import bottle
from peewee import fn
from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from scos_gr import store, tally
from scos_gr.config import Settings
from scos_gr.faults import KINDS
from scos_gr.flowgraphs.catalogue import catalogue_for
from scos_gr.scheduler import planner

from .auth import SETTINGS_KEY, authenticate
from . import status_faults
from .sensor import free_bytes, recordings_bytes, scheduler_status
from .web import ApiError, Routes, forbidden, json_body

routes = Routes(prefix="")
SCHEDULER_STATES = ("running", "idle", "dead")


def _presented_key() -> str | None:
    """The key of ``Authorization: Token <key>`` or ``Authorization: Bearer <key>``."""
    scheme, _, key = bottle.request.environ.get("HTTP_AUTHORIZATION", "").strip().partition(" ")
    return key.strip() if scheme.lower() in ("token", "bearer") and key.strip() else None


def _check_access(settings: Settings) -> None:
    """``SCOS_METRICS_TOKEN``, or an admin's token (a user's is 403); 401 without either."""
    key = _presented_key()
    if key and settings.metrics_token and hmac.compare_digest(key.encode(), settings.metrics_token.encode()):
        return
    if key:  # a Bearer key authenticates as a Token one does
        bottle.request.environ["HTTP_AUTHORIZATION"] = f"Token {key}"
    if not authenticate().is_admin:
        raise forbidden()


class SensorCollector:
    """The sensor's metrics, read from the store when Prometheus scrapes."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def collect(self) -> Iterator[Metric]:
        yield from self._task_totals()
        yield from self._scheduler()
        yield from self._storage()
        yield from self._callbacks()
        faults = GaugeMetricFamily("scos_faults", "Standing faults (as /status lists them), by kind", labels=["kind"])
        standing = catalogue_for(self.settings).faults() + status_faults.calibration(self.settings)
        for kind in KINDS:
            faults.add_metric([kind], sum(1 for f in standing if f.kind == kind))
        yield faults

    def _task_totals(self) -> Iterator[Metric]:
        counters, histograms = tally.read()
        for family, rows in counters.items():
            label_names = sorted(rows[0][0]) if rows else ["action"]
            metric = CounterMetricFamily(family, tally.COUNTERS[family], labels=label_names)
            for labels, value in sorted(rows, key=lambda r: sorted(r[0].items())):
                metric.add_metric([labels[k] for k in label_names], value)
            yield metric
        for family, rows in histograms.items():
            metric = HistogramMetricFamily(family, tally.HISTOGRAMS[family], labels=["action"])
            for labels, histogram in sorted(rows, key=lambda r: r[0]["action"]):
                metric.add_metric([labels["action"]], histogram.buckets, histogram.sum)
            yield metric

    def _scheduler(self) -> Iterator[Metric]:
        now = time.time()
        state = store.SchedulerState.get_or_none(store.SchedulerState.id == 1)
        word, _ = scheduler_status(state, now)
        states = GaugeMetricFamily("scos_scheduler_state", "1 for the scheduler's state now (as /status says it)",
                                   labels=["state"])
        for name in SCHEDULER_STATES:
            states.add_metric([name], 1.0 if name == word else 0.0)
        yield states
        yield GaugeMetricFamily("scos_scheduler_heartbeat_age_seconds", "Seconds since the scheduler's last heartbeat",
                                value=now - state.heartbeat if state is not None and state.heartbeat else float("inf"))
        yield GaugeMetricFamily("scos_radio_healthy", "1 unless the latest task that used the radio failed because of it",
                                value=1.0 if state is None or state.radio_healthy else 0.0)
        active = store.ScheduleEntry.select().where(store.ScheduleEntry.is_active == True)  # noqa: E712
        queue = planner.task_queue([planner.plan_of(e) for e in active], int(now))
        yield GaugeMetricFamily("scos_task_queue_length", "Tasks due in the window /status shows (every entry)",
                                value=len(queue))

    def _storage(self) -> Iterator[Metric]:
        yield GaugeMetricFamily("scos_recordings_bytes", "Bytes of recordings stored", value=recordings_bytes())
        yield GaugeMetricFamily("scos_recordings", "Recordings (acquisitions) stored",
                                value=store.Acquisition.select().count())
        yield GaugeMetricFamily("scos_disk_free_bytes", "Bytes free on the data filesystem",
                                value=free_bytes(self.settings))
        try:
            total = shutil.disk_usage(self.settings.data_dir).total
        except OSError:
            total = 0
        yield GaugeMetricFamily("scos_disk_size_bytes", "Size of the data filesystem", value=total)

    def _callbacks(self) -> Iterator[Metric]:
        C = store.CallbackDelivery
        counts = {row.state: row.n for row in C.select(C.state, fn.COUNT(C.id).alias("n")).group_by(C.state)}
        by_state = GaugeMetricFamily("scos_callbacks", "Callback deliveries by state (pending: the backlog)",
                                     labels=["state"])
        for name in (store.CALLBACK_PENDING, store.CALLBACK_DELIVERED, store.CALLBACK_FAILED):
            by_state.add_metric([name], counts.get(name, 0))
        yield by_state
        oldest = C.select(fn.MIN(C.created)).where(C.state == store.CALLBACK_PENDING).scalar()
        yield GaugeMetricFamily("scos_callback_oldest_pending_seconds",
                                "Age of the oldest pending callback delivery (0: none pending)",
                                value=time.time() - oldest if oldest else 0.0)


@routes.get("/metrics", auth=False)
def metrics() -> Any:
    settings: Settings = bottle.request.app.config[SETTINGS_KEY]
    try:
        with store.database.connection_context():
            _check_access(settings)
            registry = CollectorRegistry(auto_describe=False)
            registry.register(SensorCollector(settings))
            ProcessCollector(registry=registry)
            body = generate_latest(registry)
    except ApiError as err:
        return json_body(err.body, err.status, err.headers)
    bottle.response.content_type = CONTENT_TYPE_PLAIN_0_0_4
    return body
