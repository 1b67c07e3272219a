"""Acquisitions (SigMF recordings), their streamed archives, and the task log (ext).

Lists read only the columns they show (never the stored SigMF metadata), paged in SQL, so they
stay fast with many acquisitions. Archives read their rows first and then stream the files: the
generator never touches the database (Bottle closes the request's connection before the body
is sent).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import bottle
from peewee import Case, fn

from scos_gr import store
from scos_gr.config import Settings
from scos_gr.sigmf_out.archive import ArchiveMember, ArchiveStream

from .web import (
    ApiError, api_route, detail, entry_name_filter, forbidden, json_body, may_change, may_see_entry_name,
    not_found, page_bounds, paginate, url,
)


#: task ids are 32-bit integers in the store; a larger id in a URL simply does not exist
MAX_TASK_ID = 2**31 - 1
#: archive chunk: below the web server's per-connection output watermark margin (see server.py)
ARCHIVE_CHUNK = 256 << 10


def acquisition_url(entry: str, task_id: int) -> str:
    return url(f"/acquisitions/{entry}/{task_id}/")


def _summary(row: store.Acquisition) -> dict[str, Any]:
    return {
        "url": acquisition_url(row.entry_name, row.task_id),
        "task_id": row.task_id,
        "created": store.iso(row.created),
        "archive": acquisition_url(row.entry_name, row.task_id) + "archive",
    }


def _task_repr(task: store.Task, acquired: set[int]) -> dict[str, Any]:
    return {
        "url": url(f"/tasks/{task.entry_name}/{task.task_id}/"),
        "task_id": task.task_id,
        "schedule_entry": url(f"/schedule/{task.entry_name}/"),
        "action": task.action,
        "status": task.status,
        "detail": task.detail,
        "scheduled_time": task.scheduled_time,
        "started": store.iso(task.started),
        "finished": store.iso(task.finished) if task.finished else None,
        "duration_s": task.duration_s,
        "acquisition": acquisition_url(task.entry_name, task.task_id) if task.task_id in acquired else None,
    }


def _remove_files(settings: Settings, rows: list[store.Acquisition]) -> None:
    for row in rows:
        for relative in (row.meta_path, row.data_path):  # metadata first: no half recording looks whole
            (settings.data_dir / relative).unlink(missing_ok=True)


def spectra_of(meta_path: Path, data_path: Path) -> dict[str, Any]:
    """Frequencies and per-detector dBm values of an FFT detection recording (one capture)."""
    from scos_gr.sigmf_out.spectra import read_detector_spectra  # numpy: only when a plot is asked for

    recording = read_detector_spectra(meta_path, data_path)
    return {"frequencies_hz": recording.frequencies().tolist(),
            "detectors": {name: [round(float(v), 2) for v in values] for name, values in recording.spectra.items()},
            "units": "dBm", "center_frequency": recording.center_frequency, "sample_rate": recording.sample_rate,
            "datetime": recording.datetime}


def _archive_response(settings: Settings, rows: list[store.Acquisition], filename: str) -> Any:
    members = [ArchiveMember(dirname=f"{r.entry_name}_{r.task_id}",
                             meta_path=settings.data_dir / r.meta_path,
                             data_path=settings.data_dir / r.data_path) for r in rows]
    try:
        stream = ArchiveStream(members, chunk_size=ARCHIVE_CHUNK)
    except FileNotFoundError as exc:
        raise detail(404, f"recording file missing: {Path(str(exc.filename or exc)).name}") from None
    bottle.response.status = 200
    bottle.response.content_type = "application/x-tar"
    bottle.response.set_header("Content-Disposition", f'attachment; filename="{filename}"')
    bottle.response.set_header("Content-Length", str(stream.content_length))
    return stream


def install(app: bottle.Bottle, settings: Settings) -> None:
    A = store.Acquisition

    @app.get("/api/v1/acquisitions/")
    @api_route
    def overview(user):
        visible = entry_name_filter(user)
        rows = (A.select(A.entry_name, fn.COUNT(A.id).alias("n")).group_by(A.entry_name).order_by(A.entry_name))
        items = []
        for row in rows:
            if not visible(row.entry_name):
                continue
            items.append({"schedule_entry": url(f"/schedule/{row.entry_name}/"),
                          "acquisitions_available": row.n,
                          "url": url(f"/acquisitions/{row.entry_name}/")})
        return json_body(paginate(items))

    @app.delete("/api/v1/acquisitions/")
    @api_route
    def overview_delete(user):
        raise ApiError(405, {"detail": 'Method "DELETE" not allowed.'}, {"Allow": "GET"})

    def entry_rows_or_404(user, entry):
        if not may_see_entry_name(user, entry):
            raise not_found()
        return A.select(A.id, A.entry_name, A.task_id, A.created, A.meta_path, A.data_path) \
            .where(A.entry_name == entry).order_by(A.task_id)

    @app.get("/api/v1/acquisitions/<entry>/")
    @api_route
    def entry_list(user, entry):
        query = entry_rows_or_404(user, entry)
        offset, limit = page_bounds()
        if not query.exists():
            raise not_found()
        page = query.offset(offset)
        if limit is not None:
            page = page.limit(limit)
        return json_body([_summary(r) for r in page])

    @app.delete("/api/v1/acquisitions/<entry>/")
    @api_route
    def entry_delete(user, entry):
        rows = list(entry_rows_or_404(user, entry))
        if not rows:
            raise not_found()
        if not may_change(user, store.ScheduleEntry.get_or_none(store.ScheduleEntry.name == entry)):
            raise forbidden()
        with store.write_transaction():
            A.delete().where(A.entry_name == entry).execute()
        _remove_files(settings, rows)
        bottle.response.status = 204
        return ""

    def one_or_404(user, entry, task_id):
        if not 0 < task_id <= MAX_TASK_ID or not may_see_entry_name(user, entry):
            raise not_found()
        row = A.get_or_none((A.entry_name == entry) & (A.task_id == task_id))
        if row is None:
            raise not_found()
        return row

    @app.get("/api/v1/acquisitions/<entry>/<task_id:int>/")
    @api_route
    def detail_view(user, entry, task_id):
        row = one_or_404(user, entry, task_id)
        return json_body({**_summary(row), "sigmf_metadata": row.sigmf_metadata})

    @app.delete("/api/v1/acquisitions/<entry>/<task_id:int>/")
    @api_route
    def detail_delete(user, entry, task_id):
        row = one_or_404(user, entry, task_id)
        if not may_change(user, store.ScheduleEntry.get_or_none(store.ScheduleEntry.name == entry)):
            raise forbidden()
        row.delete_instance()
        _remove_files(settings, [row])
        bottle.response.status = 204
        return ""

    @app.route("/api/v1/acquisitions/<entry>/<task_id:int>/", method=["PUT", "PATCH"])
    @api_route
    def detail_modify(user, entry, task_id):
        one_or_404(user, entry, task_id)
        if not may_change(user, store.ScheduleEntry.get_or_none(store.ScheduleEntry.name == entry)):
            raise forbidden()
        method = bottle.request.method
        raise ApiError(405, {"detail": f'Method "{method}" not allowed.'}, {"Allow": "GET, DELETE"})

    @app.get("/api/v1/acquisitions/<entry>/<task_id:int>/spectrum")
    @api_route
    def spectrum(user, entry, task_id):
        """(ext) The detector spectra of a detection recording, for plots (the dashboard)."""
        row = one_or_404(user, entry, task_id)
        try:
            body = spectra_of(settings.data_dir / row.meta_path, settings.data_dir / row.data_path)
        except (ValueError, KeyError, OSError) as exc:
            raise detail(404, f"no detector spectra in this recording ({exc})") from None
        return json_body(body)

    @app.get("/api/v1/acquisitions/<entry>/<task_id:int>/archive")
    @api_route
    def archive(user, entry, task_id):
        row = one_or_404(user, entry, task_id)
        return _archive_response(settings, [row], f"{entry}_{task_id}.sigmf")

    @app.get("/api/v1/acquisitions/<entry>/archive")
    @api_route
    def entry_archive(user, entry):
        rows = list(entry_rows_or_404(user, entry))
        if not rows:
            raise not_found()
        return _archive_response(settings, rows, f"{entry}.sigmf")

    # -- tasks (ext) ---------------------------------------------------------------------------
    T = store.Task

    @app.get("/api/v1/tasks/")
    @api_route
    def tasks_overview(user):
        visible = entry_name_filter(user)
        rows = T.select(T.entry_name, fn.COUNT(T.id).alias("n"),
                        fn.SUM(Case(None, [(T.status == store.TASK_FAILURE, 1)], 0)).alias("failed")) \
            .group_by(T.entry_name).order_by(T.entry_name)
        items = []
        for row in rows:
            if not visible(row.entry_name):
                continue
            items.append({"schedule_entry": url(f"/schedule/{row.entry_name}/"), "tasks": row.n,
                          "failures": int(row.failed or 0), "url": url(f"/tasks/{row.entry_name}/")})
        return json_body(paginate(items))

    def acquired_ids(entry: str) -> set[int]:
        return {r.task_id for r in A.select(A.task_id).where(A.entry_name == entry)}

    @app.get("/api/v1/tasks/<entry>/")
    @api_route
    def task_list(user, entry):
        if not may_see_entry_name(user, entry):
            raise not_found()
        offset, limit = page_bounds()
        query = T.select().where(T.entry_name == entry).order_by(T.task_id)
        if not query.exists() and store.ScheduleEntry.get_or_none(store.ScheduleEntry.name == entry) is None:
            raise not_found()
        page = query.offset(offset)
        if limit is not None:
            page = page.limit(limit)
        done = acquired_ids(entry)
        return json_body([_task_repr(t, done) for t in page])

    @app.get("/api/v1/tasks/<entry>/<task_id:int>/")
    @api_route
    def task_detail(user, entry, task_id):
        if not 0 < task_id <= MAX_TASK_ID or not may_see_entry_name(user, entry):
            raise not_found()
        task = T.get_or_none((T.entry_name == entry) & (T.task_id == task_id))
        if task is None:
            raise not_found()
        return json_body(_task_repr(task, acquired_ids(entry)))
