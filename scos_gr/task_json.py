"""A task's JSON, the one form both ``GET /api/v1/tasks/{entry}/{task_id}/`` and its callback use.

The spec makes the callback's body "the JSON of GET /api/v1/tasks/{entry}/{task_id}/", so the
representation lives here, in the shared core, where the web layer (which builds it for each
request, with the URL the client used) and the scheduler (which builds it once a task has
finished, with the sensor's public URL) both find it.
"""
from __future__ import annotations

from typing import Any, Optional

from scos_gr import store

#: where the API lives under the sensor's base URL
API_PATH = "/api/v1"


def task_json(task: store.Task, *, api_url: str, acquired: bool,
              delivery: Optional[store.CallbackDelivery]) -> dict[str, Any]:
    """The task's representation. ``api_url`` is ``scheme://host[:port]/api/v1``; ``acquired``
    whether the task has a recording; ``delivery`` its callback (None: its entry has no
    ``callback_url``, or the task has not finished)."""
    entry, task_id = task.entry_name, task.task_id
    return {
        "url": f"{api_url}/tasks/{entry}/{task_id}/",
        "task_id": task_id,
        "schedule_entry": f"{api_url}/schedule/{entry}/",
        "action": task.action,
        "status": task.status,
        "detail": task.detail,
        "scheduled_time": task.scheduled_time,
        "started": store.iso(task.started),
        "finished": store.iso(task.finished) if task.finished else None,
        "duration_s": task.duration_s,
        "acquisition": f"{api_url}/acquisitions/{entry}/{task_id}/" if acquired else None,
        "retention": task.retention,  # "removed": data retention removed its recording (spec)
        "callback": delivery.state if delivery is not None else None,
        "callback_attempts": delivery.attempts if delivery is not None else 0,
        "callback_error": delivery.last_error if delivery is not None else None,
    }
