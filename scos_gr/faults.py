"""What is wrong with the sensor right now, as ``/status`` reports it: one :class:`Fault` each.

Every room that can find a standing problem (the action catalogue, the database, the data
disk, the scheduler, the radio, a calibration too old) describes it as a Fault: its kind, a sentence for the operator
naming the file or device and the reason, and since when it has been so (epoch seconds).
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

KINDS = ("database", "disk", "catalogue", "scheduler", "radio", "calibration")


@dataclass(frozen=True)
class Fault:
    kind: str
    detail: str
    since: float

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "detail": self.detail, "since": round(self.since, 3)}


class FaultClock:
    """Remembers when each standing problem was first seen, so ``since`` does not move while it
    lasts and starts again when it comes back after being fixed."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._first_seen: dict[tuple[str, str], float] = {}

    def faults(self, kind: str, details: list[str], now: float | None = None) -> list[Fault]:
        """The faults of ``kind`` standing now (forgetting those of that kind that are gone)."""
        now = time.time() if now is None else now
        with self._lock:
            current = {(kind, d) for d in details}
            for key in [k for k in self._first_seen if k[0] == kind and k not in current]:
                del self._first_seen[key]
            return [Fault(kind, d, self._first_seen.setdefault((kind, d), now)) for d in details]
