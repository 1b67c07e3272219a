"""Running totals of finished tasks, kept in the store for ``GET /metrics``.

The scheduler adds a task's numbers (:func:`record_task`) in the transaction that records the
task, with one upsert; the web process reads them (:func:`read`) and exposes them in the
Prometheus format. Counters are kept apart from the task log on purpose: deleting an entry's
log or its recordings (by hand, or by retention) must never make a counter go down, which
Prometheus would take for a restart of the sensor.

Each row is one sample of the exposition: ``<family>_total`` for counters, ``<family>_bucket``
(cumulative, with an ``le`` label), ``_sum`` and ``_count`` for histograms. No Prometheus
library is imported here: the scheduler and its worker never need one.
"""
from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from typing import Any, Iterable

from peewee import EXCLUDED

from scos_gr import store

#: (family, help) of each counter; the sample is ``<family>_total``
COUNTERS = {
    "scos_tasks": "Tasks finished, by action and status (success or failure)",
    "scos_dropped_samples": "Samples the radio dropped during captures (scos-gr:dropped_samples of the recordings)",
    "scos_overloads": "Captures in which samples reached the radio's full scale (ntia-sensor:overload of the recordings)",
}
#: (family, help) of each histogram
HISTOGRAMS = {
    "scos_task_duration_seconds": "Time from a task's start to its recorded outcome, by action",
    "scos_capture_duration_seconds": "Time the flowgraph of a successful task ran, by action",
}
#: upper bounds (seconds) of the histograms' buckets: a logger task takes milliseconds, a capture
#: of acquire700c 30-300 ms, a survey seconds, and SCOS_TASK_TIMEOUT stops a task at 60 s by default
DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)


def _labels(**labels: str) -> str:
    return json.dumps(labels, sort_keys=True, separators=(",", ":"))


def _observe(family: str, value: float, **labels: str) -> list[tuple[str, str, float]]:
    rows = [(f"{family}_bucket", _labels(**labels, le=_le(bound)), 1.0) for bound in DURATION_BUCKETS if value <= bound]
    rows.append((f"{family}_bucket", _labels(**labels, le="+Inf"), 1.0))
    rows += [(f"{family}_sum", _labels(**labels), float(value)), (f"{family}_count", _labels(**labels), 1.0)]
    return rows


def _le(bound: float) -> str:
    return repr(float(bound))


def recording_losses(metadata: dict[str, Any]) -> tuple[int, int]:
    """(dropped samples, overloaded captures) a recording's SigMF metadata reports: the global
    ``scos-gr:dropped_samples`` and the captures whose ``ntia-sensor:overload`` is true."""
    dropped = int((metadata.get("global") or {}).get("scos-gr:dropped_samples", 0) or 0)
    overloads = sum(1 for c in metadata.get("captures") or [] if c.get("ntia-sensor:overload") is True)
    return dropped, overloads


def task_rows(action: str, status: str, duration_s: float, capture_s: float | None,
              recordings: Iterable[dict[str, Any]] = ()) -> list[tuple[str, str, float]]:
    """The (sample, labels, increment) rows one finished task adds."""
    dropped = overloads = 0
    for metadata in recordings:
        more_dropped, more_overloads = recording_losses(metadata)
        dropped, overloads = dropped + more_dropped, overloads + more_overloads
    rows = [("scos_tasks_total", _labels(action=action, status=status), 1.0),
            ("scos_dropped_samples_total", _labels(action=action), float(dropped)),
            ("scos_overloads_total", _labels(action=action), float(overloads))]
    rows += _observe("scos_task_duration_seconds", duration_s, action=action)
    if capture_s:
        rows += _observe("scos_capture_duration_seconds", capture_s, action=action)
    return rows


def record_task(action: str, status: str, duration_s: float, capture_s: float | None = None,
                recordings: Iterable[dict[str, Any]] = ()) -> None:
    """Add one finished task to the totals (one statement; call it inside the task's transaction).

    The statement's text depends only on the database and the number of rows (about 35: the
    histograms' buckets), and peewee took 2-3 ms to write it, on every task's path to its
    commit: it is written once per row count and reused with the new values.
    """
    rows = task_rows(action, status, duration_s, capture_s, recordings)
    params = [value for row in rows for value in row]
    key = (type(store.database.obj), len(rows))
    sql = _upsert_sql.get(key)
    if sql is None:
        T = store.MetricTally
        query = (T.insert_many([{"name": n, "labels": labels, "value": v} for n, labels, v in rows])
                 .on_conflict(conflict_target=[T.name, T.labels], update={T.value: T.value + EXCLUDED.value}))
        sql, generated = query.sql()
        if list(generated) != params:  # the text does not take the rows as they are: never reuse it
            query.execute()
            return
        _upsert_sql[key] = sql
    store.database.execute_sql(sql, params)


#: (database class, number of rows) -> the text of record_task's upsert
_upsert_sql: dict[tuple[type, int], str] = {}


@dataclass
class Histogram:
    buckets: list[tuple[str, float]]
    sum: float


def read() -> tuple[dict[str, list[tuple[dict[str, str], float]]], dict[str, list[tuple[dict[str, str], Histogram]]]]:
    """The totals: ``counters[family] = [(labels, value)]``, ``histograms[family] = [(labels,
    Histogram)]`` with the buckets in order, ``+Inf`` last."""
    rows = [(r.name, json.loads(r.labels), r.value) for r in store.MetricTally.select()]
    counters: dict[str, list[tuple[dict[str, str], float]]] = {family: [] for family in COUNTERS}
    for name, labels, value in rows:
        family = name.removesuffix("_total")
        if name.endswith("_total") and family in counters:
            counters[family].append((labels, value))
    histograms: dict[str, list[tuple[dict[str, str], Histogram]]] = {family: [] for family in HISTOGRAMS}
    for family in HISTOGRAMS:
        buckets: dict[str, dict[str, float]] = defaultdict(dict)
        sums: dict[str, float] = {}
        keys: dict[str, dict[str, str]] = {}
        for name, labels, value in rows:
            if name == f"{family}_bucket":
                le = labels.pop("le")
                key = _labels(**labels)
                keys[key] = labels
                buckets[key][le] = value
            elif name == f"{family}_sum":
                sums[_labels(**labels)] = value
        for key, by_le in sorted(buckets.items()):
            # each observation added 1 to every bucket at or above it, so the rows are cumulative
            # already; a bucket without a row has seen no observation at or below its bound
            cumulative = [(le, by_le.get(le, 0.0)) for le in [_le(b) for b in DURATION_BUCKETS] + ["+Inf"]]
            histograms[family].append((keys[key], Histogram(cumulative, sums.get(key, 0.0))))
    return counters, histograms
