"""What ``/status`` lists under ``faults``: everything standing wrong with the sensor, each a
:class:`~scos_gr.faults.Fault` (kind, a sentence for the operator, since when).

- ``catalogue``: the action catalogue or one of its flowgraphs is invalid (the catalogue's own
  check);
- ``database``: a request of this process could not read or write the database
  (:mod:`.health`), or ``/status`` itself could not;
- ``disk``: the data filesystem is read-only or full (:mod:`scos_gr.disk`, looked at now), a
  recording's file is damaged (found by a download), or the scheduler found the filesystem above
  the retention limit with nothing left to remove (its heartbeat row);
- ``scheduler``: no scheduler runs for this database, or it stopped reporting, or its loop met an
  unexpected error (from its heartbeat row);
- ``radio``: the latest task that used the radio failed because of it;
- ``calibration``: the calibration in use is older than ``SCOS_CALIBRATION_MAX_AGE``.
"""
from __future__ import annotations

import time
from typing import Optional

from scos_gr import disk, store
from scos_gr.calibration import calibration_fault
from scos_gr.config import Settings
from scos_gr.faults import Fault, FaultClock
from scos_gr.flowgraphs.catalogue import catalogue_for

from . import health

_clock = FaultClock()


def observed(hidden: set[str]) -> list[Fault]:
    """What this process met while answering, without damaged recordings deleted since (by another
    process: retention, or another web worker) and those of entries the caller may not see."""
    damaged = health.damaged_acquisitions()
    A = store.Acquisition
    for entry, task_id in damaged:
        if not A.select().where((A.entry_name == entry) & (A.task_id == task_id)).exists():
            health.clear_damaged(entry, task_id)
    unseen = tuple(f"acquisition {entry}/" for entry, _ in damaged if entry in hidden)
    return [fault for fault in health.faults() if not (unseen and fault.detail.startswith(unseen))]


def _reported_by_scheduler(state: Optional[store.SchedulerState]) -> list[Fault]:
    reported = (state.faults or []) if state is not None else []
    return [Fault(f["kind"], f["detail"], float(f["since"])) for f in reported]


def current(settings: Settings, state: Optional[store.SchedulerState], scheduler_dead: Optional[str],
            hidden: set[str]) -> list[Fault]:
    """Every fault standing now. ``scheduler_dead``: why no scheduler runs, or None when one does
    (or is only starting)."""
    healthy_radio = state is None or state.radio_healthy
    if state is not None and scheduler_dead is None:
        health.outages_over_before(state.heartbeat)  # the scheduler wrote to the database since
    return (catalogue_for(settings).faults()
            + calibration(settings)
            + observed(hidden)
            + _clock.faults("disk", disk.fault_details(settings.data_dir))
            + _clock.faults("scheduler", [scheduler_dead] if scheduler_dead else [])
            + _reported_by_scheduler(state if scheduler_dead is None else None)
            + _clock.faults("radio", [] if healthy_radio else [state.radio_detail or "the radio failed"]))


def without_database(settings: Settings, is_admin: bool) -> list[Fault]:
    """What can be said when the database cannot be read (``/status`` answers all the same);
    which entries a user may see is unknown then, so damaged recordings are for admins only."""
    seen = [f for f in health.faults() if is_admin or not f.detail.startswith("acquisition ")]
    return (catalogue_for(settings).faults() + calibration(settings) + seen
            + _clock.faults("disk", disk.fault_details(settings.data_dir)))


def calibration(settings: Settings, now: float | None = None) -> list[Fault]:
    """The ``calibration`` fault: the calibration in use is older than SCOS_CALIBRATION_MAX_AGE
    (or there is none while an age is required)."""
    fault = calibration_fault(settings.calibration_file, settings.onboard_calibration_file,
                              settings.calibration_max_age_s, time.time() if now is None else now)
    return [] if fault is None else [fault]
