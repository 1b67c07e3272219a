"""Field checks from the command line: one acquisition without the server, a running sensor's status.

``scos-gr acquire`` is what an engineer runs next to a freshly installed antenna: it runs one
action through the same flowgraph runner the scheduler uses and prints what it saw (peak,
noise floor, where the recording is), so a wrong cable or gain shows at once. ``scos-gr status``
asks a running sensor over its public API, as any client would.
"""
from __future__ import annotations

import json
import math
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from scos_gr.config import Settings
from scos_gr.errors import ScosGrError
from scos_gr.sigmf_out.context import ScheduleInfo, TaskContext
from scos_gr.sigmf_out.spectra import DetectorSpectra, read_detector_spectra

#: bins either side of the peak summed for the integrated peak power (the tone's window leakage)
PEAK_HALF_WIDTH_BINS = 5


class SensorUnreachable(ScosGrError):
    """A running sensor could not be asked (no connection, or an HTTP error with its detail)."""


@dataclass(frozen=True)
class SpectrumSummary:
    detector: str
    peak_frequency_hz: float
    peak_bin_dbm: float
    peak_integrated_dbm: float
    noise_floor_dbm_per_bin: float
    bin_width_hz: float


def summarize_detection(meta_path: Path, detector: str = "mean") -> SpectrumSummary:
    """Peak and noise floor of one detector spectrum of a detection recording (its first capture)."""
    recording = read_detector_spectra(meta_path)
    if detector not in recording.spectra:
        raise ValueError(f"{Path(meta_path).name}: no {detector!r} detector spectrum")
    return summarize_spectra(recording, detector)


def summarize_spectra(recording: DetectorSpectra, detector: str = "mean") -> SpectrumSummary:
    """Peak (integrated over +-PEAK_HALF_WIDTH_BINS) and noise floor (the median bin) of one
    detector spectrum of one capture."""
    spectrum_dbm = recording.spectra[detector].astype(np.float64)
    count = len(spectrum_dbm)
    peak = int(np.argmax(spectrum_dbm))
    lo, hi = max(0, peak - PEAK_HALF_WIDTH_BINS), min(count, peak + PEAK_HALF_WIDTH_BINS + 1)
    watts = 10.0 ** (spectrum_dbm[lo:hi] / 10.0)
    return SpectrumSummary(
        detector=detector,
        peak_frequency_hz=float(recording.frequencies()[peak]),
        peak_bin_dbm=float(spectrum_dbm[peak]),
        peak_integrated_dbm=float(10.0 * math.log10(watts.sum())),
        noise_floor_dbm_per_bin=float(np.median(spectrum_dbm)),
        bin_width_hz=recording.bin_width_hz,
    )


def acquire_once(action_name: str, settings: Settings, out_dir: Path) -> tuple[list[Path], str]:
    """Run ``action_name`` once with the configured radio; return its metadata paths and a summary text."""
    from scos_gr.calibration import load_sensor_calibration
    from scos_gr.flowgraphs.catalogue import catalogue_for
    from scos_gr.flowgraphs.runner import ActionError, run_action  # GNU Radio is imported only here

    catalogue = catalogue_for(settings)
    action = catalogue.get(action_name)
    if action is None:
        reason = catalogue.unavailable.get(action_name) or catalogue.file_problem
        raise ActionError(f"action {action_name!r} is unavailable: {reason}" if reason
                          else f"unknown action {action_name!r} (not in the catalogue {settings.actions_file})")
    basename = f"{action_name}-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}"
    context = TaskContext(sensor=settings.sensor_definition, classification=settings.classification.strip(),
                          schedule=ScheduleInfo(name="field-check"), radio=settings.radio)
    result = run_action(
        action,
        radio=settings.radio,
        output_dir=out_dir,
        basename=basename,
        context=context,
        calibration=load_sensor_calibration(settings.calibration_file, settings.onboard_calibration_file),
        timeout_s=settings.task_timeout_s,
        cache_dir=settings.flowgraph_cache_dir,
        catalogue_frequencies=catalogue.measurement_frequencies(),
        calibration_file=settings.onboard_calibration_file,
    )
    lines = [f"action {action_name} on radio {settings.radio!r}: {result.log or 'done'}"]
    metas = [Path(r.meta_path) for r in result.recordings]
    for meta in metas:
        try:
            s = summarize_detection(meta)
            lines += [
                f"  peak     {s.peak_frequency_hz / 1e6:.4f} MHz  {s.peak_integrated_dbm:.2f} dBm "
                f"(+-{PEAK_HALF_WIDTH_BINS} bins; {s.peak_bin_dbm:.2f} dBm in the peak bin, {s.detector} detector)",
                f"  noise    {s.noise_floor_dbm_per_bin:.2f} dBm per {s.bin_width_hz / 1e3:.2f} kHz bin (median)",
            ]
        except (ValueError, KeyError):
            pass  # not a detection recording (IQ, ...): the path is what matters
        lines.append(f"  recording {meta}")
    if not metas:
        lines.append("  (this action records nothing)")
    return metas, "\n".join(lines)


def fetch_status(base_url: str, token: str, timeout_s: float = 5.0) -> dict[str, Any]:
    """GET /api/v1/status of a running sensor; raises SensorUnreachable with a readable reason."""
    request = urllib.request.Request(
        base_url.rstrip("/") + "/api/v1/status", headers={"Authorization": f"Token {token}"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        try:
            detail = json.loads(exc.read()).get("detail", "")
        except Exception:
            detail = ""
        raise SensorUnreachable(f"{base_url}: HTTP {exc.code} {detail}".rstrip()) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise SensorUnreachable(f"{base_url}: cannot reach the sensor ({reason})") from None


def format_status(status: dict[str, Any]) -> str:
    """One screen of a status document."""
    detail = status.get("scheduler_detail")
    lines = [f"scheduler  {status.get('scheduler', '?')}" + (f" ({detail})" if detail else "")]
    radio = status.get("radio") or {}
    if radio:
        health = "healthy" if radio.get("healthy") else "NOT healthy"
        lines.append(f"radio      {radio.get('driver', '?')} {radio.get('args', '')!r} {health}")
    last = status.get("last_task")
    if last:
        lines.append(f"last task  {json.dumps(last, sort_keys=True)}")
    if "uptime_s" in status:
        lines.append(f"uptime     {float(status['uptime_s']):.0f} s")
    disk = status.get("disk") or {}
    if disk:
        lines.append(f"disk       {disk.get('used_bytes', 0) / 1e6:.1f} MB used, {disk.get('free_bytes', 0) / 1e9:.1f} GB free")
    queue = status.get("task_queue") or []
    lines.append(f"queue      {len(queue)} task(s)")
    for item in queue[:10]:
        when = time.strftime("%H:%M:%S", time.gmtime(item.get("time", 0)))
        lines.append(f"  {when}Z  {item.get('action')}  prio {item.get('priority')}  {item.get('schedule_entry')}")
    if len(queue) > 10:
        lines.append(f"  ... {len(queue) - 10} more")
    return "\n".join(lines)
