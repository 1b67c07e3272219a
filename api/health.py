"""What this web process has seen go wrong while answering requests, for ``/status`` faults.

Some faults are found in passing, not by looking: a request that met a database outage, an
archive whose file is not the recording. Each is remembered here as a
:class:`~scos_gr.faults.Fault`: an outage while it keeps happening (it is over
:data:`OUTAGE_STANDS_S` after it was last seen), a damaged recording until its acquisition is
deleted or a later download finds it whole again. Every web process keeps its own (they are
what that process saw); the scheduler reports its own faults through its heartbeat row.
"""
from __future__ import annotations

import threading
import time
from typing import Optional

from scos_gr.faults import Fault
from scos_gr.outage import Outage

#: an outage no request has met for this long is reported as over
OUTAGE_STANDS_S = 30.0

_lock = threading.Lock()
#: (kind, key) -> [detail, first seen, last seen, stands for (None: until cleared)]
_seen: dict[tuple[str, str], list] = {}


def _report(kind: str, key: str, detail: str, stands_s: Optional[float]) -> None:
    now = time.time()
    with _lock:
        item = _seen.get((kind, key))
        if item is None or item[0] != detail:
            _seen[(kind, key)] = [detail, now, now, stands_s]
        else:
            item[2] = now


def report_outage(outage: Outage) -> None:
    """A request met ``outage`` (answered 503)."""
    _report(outage.kind, "outage", outage.detail, OUTAGE_STANDS_S)


def outages_over_before(moment: float) -> None:
    """The database was written at ``moment`` (the scheduler's heartbeat): outages last met
    before it are over."""
    with _lock:
        for key, (_, _, last, stands) in list(_seen.items()):
            if key[1] == "outage" and last < moment:
                del _seen[key]


def report_damaged(entry: str, task_id: int, reason: str) -> None:
    """A recording's file is not the recording (symbolic link, FIFO, wrong size or content)."""
    _report("disk", f"acquisition {entry}/{task_id}", f"acquisition {entry}/{task_id} is damaged: {reason}", None)


def clear_damaged(entry: str, task_id: int) -> None:
    with _lock:
        _seen.pop(("disk", f"acquisition {entry}/{task_id}"), None)


def damaged_acquisitions() -> list[tuple[str, int]]:
    """(entry, task id) of the recordings reported damaged (``/status`` drops those deleted since)."""
    with _lock:
        keys = [key for kind, key in _seen if kind == "disk" and key.startswith("acquisition ")]
    out = []
    for key in keys:
        entry, _, task_id = key[len("acquisition "):].rpartition("/")
        out.append((entry, int(task_id)))
    return out


def faults(now: Optional[float] = None) -> list[Fault]:
    """What stands now, oldest first."""
    now = time.time() if now is None else now
    with _lock:
        for key, (_, _, last, stands) in list(_seen.items()):
            if stands is not None and now - last > stands:
                del _seen[key]
        return [Fault(kind, detail, first) for (kind, _), (detail, first, _, _) in
                sorted(_seen.items(), key=lambda item: item[1][1])]
