"""The sensor's own resources: the API root, its OpenAPI document, capabilities and status."""
from __future__ import annotations

import time
from typing import Any

from peewee import fn

from scos_gr import disk, store
from scos_gr.calibration import CalibrationError, load_sensor_calibration
from scos_gr.config import Settings
from scos_gr.radio_args import SIM_FREQUENCY_RANGE, driver_of, is_sim
from scos_gr.sigmf_out.ntia import geolocation
from scos_gr.flowgraphs.catalogue import catalogue_for
from scos_gr.outage import Outage, outage_of
from scos_gr.scheduler import planner

from . import health, openapi, status_faults
from .access import private_entry_names
from .validation import may_schedule
from .web import Routes, entry_url, json_body, url

#: a heartbeat older than this shows the scheduler as dead (it beats every second)
DEAD_AFTER_S = 5.0

routes = Routes()


def _radio_range(settings: Settings, state: store.SchedulerState | None) -> tuple[float | None, float | None]:
    """The radio's range as the scheduler's worker measured it at warm-up (the web process never
    opens the radio: an SDR is exclusive); the sim's known range before any scheduler ran."""
    if state is not None and state.radio_min_frequency is not None and state.radio_args == settings.radio:
        return state.radio_min_frequency, state.radio_max_frequency
    if is_sim(settings.radio):
        return SIM_FREQUENCY_RANGE
    return None, None


def _radio_driver(settings: Settings, state: store.SchedulerState | None) -> str:
    """The driver the worker reported, or what the radio args say before any scheduler ran."""
    if state is not None and state.radio_driver:
        return state.radio_driver
    return driver_of(settings.radio)


def recordings_bytes() -> int:
    """Bytes of recordings stored (every entry's)."""
    return int(store.Acquisition.select(fn.COALESCE(fn.SUM(store.Acquisition.data_bytes), 0)).scalar() or 0)


def free_bytes(settings: Settings) -> int:
    """Bytes free on the data filesystem (0 when it cannot be read)."""
    try:
        return disk.usage(settings.data_dir).free_bytes
    except OSError:
        return 0


def scheduler_status(state: store.SchedulerState | None, now: float) -> tuple[str, str]:
    """The spec's word for the scheduler, and why when it is ``dead`` (else an empty detail).

    A scheduler that cannot run a task now is ``dead``: none runs, it stopped beating, or it is
    still starting. Starting is no fault (its worker imports GNU Radio, compiles the flowgraphs
    and checks the radio, which takes seconds), so the detail tells the operator which it is.
    """
    if state is None or state.owner is None or state.state == "stopped":
        return "dead", "no scheduler is running for this database"
    age = now - state.heartbeat
    if age > DEAD_AFTER_S:
        return "dead", f"no heartbeat for {age:.0f} s (scheduler pid {state.pid} on {state.host or '?'})"
    if state.state == "starting":
        return "dead", "starting: the worker is importing GNU Radio, compiling the flowgraphs and checking the radio"
    return ("running" if state.state == "running" else "idle"), ""


@routes.get("/")
def root() -> str:
    return json_body({
        "acquisitions": url("/acquisitions/"),
        "capabilities": url("/capabilities/"),
        "schedule": url("/schedule/"),
        "status": url("/status"),
        "users": url("/users/"),
        "tasks": url("/tasks/"),
        "schema": url("/schema/"),
    })


@routes.get("/schema/")
def schema() -> str:
    return json_body(openapi.document())


@routes.get("/capabilities/")
def capabilities(*, user: store.User, settings: Settings) -> str:
    state = store.SchedulerState.get_or_none(store.SchedulerState.id == 1)
    low, high = _radio_range(settings, state)
    try:
        calibration = load_sensor_calibration(settings.calibration_file, settings.onboard_calibration_file).describe()
    except CalibrationError as exc:
        calibration = {"error": str(exc)}
    catalogue = catalogue_for(settings)
    actions = []
    for action in catalogue.actions.values():
        if may_schedule(user, action):
            actions.append({"name": action.name, "summary": action.summary, "description": action.description,
                            "parameters": action.effective_parameters, "flowgraph": action.flowgraph,
                            "admin_only": action.admin_only, "available": True})
    for name, problem in sorted(catalogue.unavailable.items()):
        declared = catalogue.declared.get(name)
        if may_schedule(user, declared):  # listed, so that whoever schedules it sees why it cannot run
            actions.append({"name": name, "summary": declared.summary if declared else "",
                            "description": declared.description if declared else "",
                            "flowgraph": declared.flowgraph if declared else None,
                            "admin_only": declared.admin_only if declared else True,
                            "available": False, "problem": problem})
    definition = settings.sensor_definition
    served = definition.capabilities()["sensor_definition"]
    if low is not None and high is not None:  # the radio in use says what it can tune, as recordings do
        served["signal_analyzer"] = {**served.get("signal_analyzer", {}), "frequency_low": low, "frequency_high": high}
    location = definition.location
    return json_body({
        "sensor_definition": served,
        "minimum_frequency": low,
        "maximum_frequency": high,
        "mobility": definition.mobile,
        "location": geolocation(location) if location is not None else None,
        "radio": {"driver": _radio_driver(settings, state), "args": settings.radio},
        "calibration": calibration,
        "actions": actions,
    })


@routes.get("/status", degraded=True)
def status(*, user: store.User, settings: Settings) -> str:
    """The sensor's state; it answers even when the database cannot be read (spec: faults), with
    what can be known without it and the fault."""
    try:
        return json_body(_status(user, settings))
    except Exception as exc:
        outage = outage_of(exc)
        if outage is None:
            raise
        health.report_outage(outage)
        return json_body(_status_without_database(user, settings, outage))


def _disk(settings: Settings, used: int) -> dict[str, int]:
    return {"used_bytes": int(used), "free_bytes": free_bytes(settings)}


def _status(user: store.User, settings: Settings) -> dict[str, Any]:
    now = time.time()
    state = store.SchedulerState.get_or_none(store.SchedulerState.id == 1)
    entries = store.ScheduleEntry.select().where(store.ScheduleEntry.is_active == True)  # noqa: E712
    if not user.is_admin:
        entries = entries.where(store.ScheduleEntry.is_private == False)  # noqa: E712
    plans = [planner.plan_of(e) for e in entries]
    queue = [{"schedule_entry": entry_url(t.entry_name), "action": t.action,
              "priority": t.priority, "time": t.time} for t in planner.task_queue(plans, int(now))]
    used = recordings_bytes()
    hidden = set() if user.is_admin else private_entry_names()  # entries this caller may not see
    last = state.last_task if state is not None else None
    if last and last.get("schedule_entry") in hidden:
        last = None
    if last:
        last = {**last, "schedule_entry": entry_url(last["schedule_entry"])}
    scheduler, scheduler_detail = scheduler_status(state, now)
    starting = state is not None and state.state == "starting" and now - state.heartbeat <= DEAD_AFTER_S
    dead = scheduler_detail if scheduler == "dead" and not starting else None
    body: dict[str, Any] = {
        "scheduler": scheduler,
        "scheduler_detail": scheduler_detail,
        "task_queue": queue,
        "radio": {
            "driver": _radio_driver(settings, state),
            "args": settings.radio,
            "healthy": bool(state.radio_healthy) if state is not None else True,
            "detail": state.radio_detail if state is not None else "",
        },
        "last_task": last,
        "uptime_s": round(now - state.started, 3) if state is not None and state.started else 0.0,
        "disk": _disk(settings, used),
        "faults": [fault.to_json() for fault in status_faults.current(settings, state, dead, hidden)],
    }
    if state is not None and state.state == "running" and state.current_entry:
        if state.current_entry not in hidden:
            body["current_task"] = {"schedule_entry": entry_url(state.current_entry),
                                    "task_id": state.current_task_id}
    return body


def _status_without_database(user: store.User, settings: Settings, outage: Outage) -> dict[str, Any]:
    return {
        "scheduler": "dead",
        "scheduler_detail": f"unknown: the database cannot be read ({outage.detail})",
        "task_queue": [],
        "radio": {"driver": driver_of(settings.radio), "args": settings.radio, "healthy": True, "detail": ""},
        "last_task": None,
        "uptime_s": 0.0,
        "disk": _disk(settings, 0),
        "faults": [fault.to_json() for fault in status_faults.without_database(settings, user.is_admin)],
    }
