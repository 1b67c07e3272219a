"""Acquisitions (SigMF recordings) and their streamed archives.

Lists read only the columns they show (never the stored SigMF metadata), paged in SQL, so they
stay fast with many acquisitions. Archives read their rows first and then stream the files: the
generator never touches the database (the request's connection is closed before the body is
sent).
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import bottle
from peewee import fn

from scos_gr import store
from scos_gr.config import Settings
from scos_gr.sigmf_out.archive import ArchiveMember, ArchiveStream

from .access import check_may_change, entry_name_filter, entry_named, may_see_entry_name, task_row_or_404
from .web import (
    Routes, detail, entry_url, json_body, method_not_allowed, no_content, not_found, paginate, sql_page, url,
)

#: archive chunk: below the web server's per-connection output watermark margin (see server.py)
ARCHIVE_CHUNK = 256 << 10

A = store.Acquisition
routes = Routes()


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
        remove_recording(settings.data_dir / row.meta_path, settings.data_dir / row.data_path)


def spectra_of(meta_path: Path, data_path: Path) -> dict[str, Any]:
    """Frequencies and per-detector dBm values of an FFT detection recording (one capture)."""
    from scos_gr.sigmf_out.spectra import read_detector_spectra  # numpy: only when a plot is asked for

    recording = read_detector_spectra(meta_path, data_path)
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
        body = spectra_of(settings.data_dir / row.meta_path, settings.data_dir / row.data_path)
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
    return _archive_response(settings, _entry_rows_or_404(user, entry), f"{entry}.sigmf")
