"""Acquisitions (SigMF recordings) and their streamed archives.

Lists read only the columns they show (never the stored SigMF metadata), paged in SQL, so they
stay fast with many acquisitions. Archives read their rows first and then stream the files: the
generator never touches the database (the request's connection is closed before the body is
sent).
"""
from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import bottle
from peewee import fn

from scos_gr import store
from scos_gr.config import Settings
from scos_gr.sigmf_out.archive import ArchiveMember, ArchiveStream, DamagedRecording, verified_files

from . import health
from .access import check_may_change, entry_name_filter, entry_named, may_see_entry_name, task_row_or_404
from .web import (
    ApiError, Routes, detail, entry_url, json_body, method_not_allowed, no_content, not_found, paginate, sql_page, url,
)

#: archive chunk: below the web server's per-connection output watermark margin (see http_server.py)
ARCHIVE_CHUNK = 256 << 10
#: the spectrum endpoint reads a detection recording whole: one this large is no detector output
MAX_SPECTRUM_BYTES = 64 << 20

A = store.Acquisition
routes = Routes()
log = logging.getLogger(__name__)


def acquisition_url(entry: str, task_id: int) -> str:
    return url(f"/acquisitions/{entry}/{task_id}/")


def _summary(row: store.Acquisition) -> dict[str, Any]:
    return {
        "url": acquisition_url(row.entry_name, row.task_id),
        "task_id": row.task_id,
        "created": store.iso(row.created),
        "archive": acquisition_url(row.entry_name, row.task_id) + "archive",
    }


def _remove_files(settings: Settings, rows: list[store.Acquisition]) -> None:
    # sigmf_out.writer imports numpy, which the web process loads only when it must
    from scos_gr.sigmf_out.writer import remove_recording

    for row in rows:
        health.clear_damaged(row.entry_name, row.task_id)
        try:
            remove_recording(settings.data_dir / row.meta_path, settings.data_dir / row.data_path, settings.data_dir)
        except DamagedRecording as exc:  # the row is gone; files elsewhere are not the sensor's to delete
            log.warning("acquisition %s/%s deleted, its files left alone: %s", row.entry_name, row.task_id, exc)


def _member(settings: Settings, row: store.Acquisition) -> ArchiveMember:
    """The row's recording, with what the row says of it (checked when its files are opened)."""
    return ArchiveMember(dirname=f"{row.entry_name}_{row.task_id}",
                         meta_path=settings.data_dir / row.meta_path, data_path=settings.data_dir / row.data_path,
                         data_bytes=row.data_bytes, sha512=row.sha512 or None, metadata=row.sigmf_metadata,
                         root=settings.data_dir)


def _damaged(row: store.Acquisition, exc: DamagedRecording) -> ApiError:
    """(fix) a file that is not the recording: a clear answer, never its bytes, and a fault."""
    health.report_damaged(row.entry_name, row.task_id, str(exc))
    return detail(410, f"recording damaged: {exc}; the sensor's /status lists it under faults")


def spectra_of(settings: Settings, row: store.Acquisition) -> dict[str, Any]:
    """Frequencies and per-detector dBm values of an FFT detection recording (one capture)."""
    import numpy as np  # only when a plot is asked for
    from scos_gr.sigmf_out.spectra import detector_spectra

    if row.sigmf_metadata["global"].get("core:datatype") != "rf32_le":
        raise ValueError("not a detection recording")
    if row.data_bytes > MAX_SPECTRUM_BYTES:
        raise ValueError(f"{row.data_bytes} bytes of data, more than a plot reads")
    try:
        meta, data = verified_files(_member(settings, row))
    except DamagedRecording as exc:
        raise _damaged(row, exc) from None
    with meta, data:
        values = np.frombuffer(os.pread(data.fileno(), row.data_bytes, 0), dtype="<f4")
    recording = detector_spectra(row.sigmf_metadata, values, f"{row.entry_name}_{row.task_id}")
    return {"frequencies_hz": recording.frequencies().tolist(),
            "detectors": {name: [round(float(v), 2) for v in values] for name, values in recording.spectra.items()},
            "units": "dBm", "center_frequency": recording.center_frequency, "sample_rate": recording.sample_rate,
            "datetime": recording.datetime}


def products_of(meta_path: Path, data_path: Path) -> dict[str, Any]:
    """Every data product of every capture of a recording (the SEA action's four), for plots."""
    from scos_gr.sigmf_out.products import channel_summaries, read_products  # numpy: only when asked for

    metadata, captures = read_products(meta_path, data_path)
    return {
        "captures": [{
            "frequency": c.frequency,
            "datetime": c.datetime,
            "products": [{"name": p.name, "axis": [float(v) for v in p.axis], "axis_units": p.axis_units,
                          "axis_is_y": p.axis_is_y, "values_units": p.values_units,
                          "series": {name: _compact(values, p.values_units) for name, values in p.series.items()}}
                         for p in c.products],
        } for c in captures],
        "channel_summaries": channel_summaries(metadata),
    }


def _compact(values: Any, units: str) -> list[float | None]:
    """Values for JSON: dB values to 0.01 dB; others (percentages, down to 1e-6 %) to 4 digits."""
    if units.startswith("dB"):
        return [round(float(v), 2) for v in values]
    return [float(f"{float(v):.4g}") for v in values]


def _archive_response(settings: Settings, rows: list[store.Acquisition], filename: str) -> Any:
    try:
        stream = ArchiveStream([_member(settings, r) for r in rows], chunk_size=ARCHIVE_CHUNK)
    except FileNotFoundError as exc:
        raise detail(404, f"recording file missing: {Path(str(exc.filename or exc)).name}") from None
    except DamagedRecording as exc:
        row = next(r for r in rows if exc.path.name.startswith(f"{r.entry_name}_{r.task_id}."))
        raise _damaged(row, exc) from None
    for row in rows:  # verified whole: a fault reported for it before is over
        health.clear_damaged(row.entry_name, row.task_id)
    bottle.response.status = 200
    bottle.response.content_type = "application/x-tar"
    bottle.response.set_header("Content-Disposition", f'attachment; filename="{filename}"')
    bottle.response.set_header("Content-Length", str(stream.content_length))
    return stream


def _entry_rows(user: store.User, entry: str):
    """The entry's acquisitions (the listed columns), by task id; 404 if the caller may not see it."""
    if not may_see_entry_name(user, entry):
        raise not_found()
    return A.select(A.id, A.entry_name, A.task_id, A.created, A.meta_path, A.data_path) \
        .where(A.entry_name == entry).order_by(A.task_id)


def _entry_rows_or_404(user: store.User, entry: str) -> list[store.Acquisition]:
    rows = list(_entry_rows(user, entry))
    if not rows:
        raise not_found()
    return rows


def _acquisition(user: store.User, entry: str, task_id: int) -> store.Acquisition:
    return task_row_or_404(A, user, entry, task_id)


@routes.get("/acquisitions/")
def overview(*, user: store.User) -> str:
    visible = entry_name_filter(user)
    rows = A.select(A.entry_name, fn.COUNT(A.id).alias("n")).group_by(A.entry_name).order_by(A.entry_name)
    return json_body(paginate([{"schedule_entry": entry_url(row.entry_name), "acquisitions_available": row.n,
                                "url": url(f"/acquisitions/{row.entry_name}/")}
                               for row in rows if visible(row.entry_name)]))


@routes.delete("/acquisitions/")
def overview_delete() -> str:
    raise method_not_allowed("GET")


@routes.get("/acquisitions/<entry>/")
def entry_list(entry: str, *, user: store.User) -> str:
    query = _entry_rows(user, entry)
    page = sql_page(query)
    if not query.exists():
        raise not_found()
    return json_body([_summary(r) for r in page])


@routes.delete("/acquisitions/<entry>/")
def entry_delete(entry: str, *, user: store.User, settings: Settings) -> str:
    rows = _entry_rows_or_404(user, entry)
    check_may_change(user, entry_named(entry))
    with store.write_transaction():
        A.delete().where(A.entry_name == entry).execute()
    _remove_files(settings, rows)
    return no_content()


@routes.get("/acquisitions/<entry>/<task_id:int>/")
def detail_view(entry: str, task_id: int, *, user: store.User) -> str:
    row = _acquisition(user, entry, task_id)
    return json_body({**_summary(row), "sigmf_metadata": row.sigmf_metadata})


@routes.delete("/acquisitions/<entry>/<task_id:int>/")
def detail_delete(entry: str, task_id: int, *, user: store.User, settings: Settings) -> str:
    row = _acquisition(user, entry, task_id)
    check_may_change(user, entry_named(entry))
    row.delete_instance()
    _remove_files(settings, [row])
    return no_content()


@routes.route("/acquisitions/<entry>/<task_id:int>/", method=["PUT", "PATCH"])
def detail_modify(entry: str, task_id: int, *, user: store.User) -> str:
    _acquisition(user, entry, task_id)
    check_may_change(user, entry_named(entry))
    raise method_not_allowed("GET", "DELETE")


@routes.get("/acquisitions/<entry>/<task_id:int>/spectrum")
def spectrum(entry: str, task_id: int, *, user: store.User, settings: Settings) -> str:
    """(ext) The detector spectra of a detection recording, for plots (the dashboard)."""
    row = _acquisition(user, entry, task_id)
    try:
        body = spectra_of(settings, row)
    except (ValueError, KeyError, OSError) as exc:
        raise detail(404, f"no detector spectra in this recording ({exc})") from None
    return json_body(body)


@routes.get("/acquisitions/<entry>/<task_id:int>/products")
def products(entry: str, task_id: int, *, user: store.User, settings: Settings) -> str:
    """(ext) Every data product of a recording (the SEA action's PSD, APD, power vs. time and
    periodic frame power, per channel), for plots (the dashboard)."""
    row = _acquisition(user, entry, task_id)
    try:
        body = products_of(settings.data_dir / row.meta_path, settings.data_dir / row.data_path)
    except (ValueError, KeyError, OSError) as exc:
        raise detail(404, f"no data products in this recording ({exc})") from None
    return json_body(body)


@routes.get("/acquisitions/<entry>/<task_id:int>/archive")
def archive(entry: str, task_id: int, *, user: store.User, settings: Settings) -> Any:
    row = _acquisition(user, entry, task_id)
    return _archive_response(settings, [row], f"{entry}_{task_id}.sigmf")


@routes.get("/acquisitions/<entry>/archive")
def entry_archive(entry: str, *, user: store.User, settings: Settings) -> Any:
    if not may_see_entry_name(user, entry):
        raise not_found()
    rows = list(A.select().where(A.entry_name == entry).order_by(A.task_id))  # with what the files are checked against
    if not rows:
        raise not_found()
    return _archive_response(settings, rows, f"{entry}.sigmf")
