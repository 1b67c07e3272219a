"""Which errors mean "the database or the data disk is unavailable", and how to say so.

A sensor on a pole meets full disks, read-only remounts, a database locked by a backup or a
PostgreSQL server restarting. Those are not defects: the API answers 503 with the cause (and
``Retry-After``), the scheduler fails the task with the cause and keeps going, ``/status`` lists
the fault. :func:`outage_of` tells them from defects (which stay 500s with a trace in the log)
by class (peewee's and the OS's), and words the cause for the operator.
"""
from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Optional

import peewee

#: errno values that mean the data filesystem cannot take a write
DISK_ERRNOS = {errno.ENOSPC: "disk full", errno.EDQUOT: "disk quota exceeded", errno.EROFS: "read-only filesystem",
               errno.EIO: "disk I/O error"}


@dataclass(frozen=True)
class Outage:
    """``kind``: ``database`` or ``disk`` (the :class:`~scos_gr.faults.Fault` kinds); ``detail``:
    the cause, a sentence for the operator."""

    kind: str
    detail: str


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0]


def outage_of(exc: BaseException) -> Optional[Outage]:
    """The outage ``exc`` reports, or None when it is not one (a defect, a constraint...).

    The most telling cause in its chain wins: a commit that fails on a full disk makes the
    rollback after it fail too ("cannot rollback - no transaction is active"), and that second
    error is the one raised."""
    chain = []
    seen: Optional[BaseException] = exc
    while seen is not None and seen not in chain and len(chain) < 8:
        chain.append(seen)
        seen = seen.__cause__ or seen.__context__
    found = [o for o in map(_outage_of_one, chain) if o is not None]
    specific = [o for o in found if not o.detail.startswith(GENERIC)]
    if found and _outage_of_one(exc) is None:
        return None  # a defect raised while handling an outage is still a defect
    return (specific or found or [None])[0]


#: how an outage without a more specific cause begins
GENERIC = "the database is unavailable"


def _outage_of_one(exc: BaseException) -> Optional[Outage]:
    if isinstance(exc, (peewee.OperationalError, peewee.InterfaceError)):
        message = _first_line(exc)
        lowered = message.lower()
        if "disk is full" in lowered or "no space left" in lowered:
            return Outage("disk", f"disk full: the database cannot be written ({message})")
        if "readonly" in lowered or "read-only" in lowered:
            return Outage("disk", f"read-only filesystem: the database cannot be written ({message})")
        if "disk i/o error" in lowered:
            return Outage("disk", f"disk I/O error: the database cannot be read or written ({message}; a full "
                                  "or failing disk?)")
        if "locked" in lowered or "lock timeout" in lowered:
            return Outage("database", f"the database is locked by another writer ({message})")
        return Outage("database", f"{GENERIC} ({message})")
    if isinstance(exc, OSError) and exc.errno in DISK_ERRNOS:
        where = f" ({exc.filename})" if exc.filename else ""
        return Outage("disk", f"{DISK_ERRNOS[exc.errno]}: {exc.strerror}{where}")
    return None
