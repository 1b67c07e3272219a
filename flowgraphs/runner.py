"""Run one action: build its flowgraph with the task's parameters and run it to completion.

The runner is what the scheduler's worker process calls for each task. It compiles the action's
.grc (cached, see ``compiler``), instantiates the generated top block with the catalogue's
parameter values plus what the task supplies (radio, output path, metadata context, calibration),
runs it under the GNU Radio scheduler with a timeout, and checks that the recording it promised
is there. Whatever goes wrong surfaces as an :class:`ActionError` whose message says why, and no
partial recording is left behind.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Iterable, Mapping

from scos_gr.calibration import Calibration, CalibrationError, load_calibration
from scos_gr.flowgraphs.catalogue import KIND_LOG, Action, load_catalogue
from scos_gr.flowgraphs.compiler import (
    CompileError,
    coerce_parameters,
    compile_flowgraph,
    load_top_block_class,
)

log = logging.getLogger(__name__)

#: Parameters the runner fills in for every flowgraph that declares them.
RUNNER_PARAMETERS = ("radio_args", "output_dir", "basename", "metadata_json", "cal_gain_db")


class ActionError(RuntimeError):
    """An action failed; ``str(error)`` is the reason recorded on the task.

    ``measurements``: what the flowgraph's blocks measured before it failed (see
    :attr:`ActionResult.measurements`), empty when it never ran.
    """

    measurements: Mapping[str, dict] = MappingProxyType({})


class RadioFailure(ActionError):
    """The radio could not be opened, tuned or read."""


class FlowgraphTimeout(ActionError):
    """The flowgraph did not finish within the task timeout and was stopped."""


class RadioStalled(FlowgraphTimeout, RadioFailure):
    """A timeout for which a radio-check block (``radio_check = True``) blames the radio: it did
    not deliver its samples in time. Both a timeout and a radio failure (radio health false)."""


@dataclass(frozen=True)
class RecordingFiles:
    """A complete recording the action produced (metadata file written last, atomically)."""

    meta_path: Path
    data_path: Path
    sha512: str
    data_bytes: int
    metadata: dict


@dataclass
class ActionResult:
    recordings: list[RecordingFiles] = field(default_factory=list)
    log: str = ""
    capture_seconds: float = 0.0
    #: ``.result`` dicts of the flowgraph's blocks, by block name: e.g. monitor_radio's
    #: ``{"scos_radio_health_0": {"samples", "level_dbm", "rate_sps", "healthy"}}``
    measurements: dict[str, dict] = field(default_factory=dict)


def default_cache_dir() -> Path:
    from scos_gr.config import load_settings

    return load_settings().flowgraph_cache_dir


def warm_up(catalogue: Mapping[str, Action] | None = None, cache_dir: Path | None = None) -> list[str]:
    """Import GNU Radio and compile + import every catalogue flowgraph, so the first task is on time.

    Returns the names of the flowgraph actions that were prepared; raises ActionError naming the
    action whose flowgraph does not compile.
    """
    from gnuradio import gr  # noqa: F401  (the import itself is the point: it takes ~0.5 s)

    catalogue = catalogue if catalogue is not None else load_catalogue()
    cache_dir = cache_dir or default_cache_dir()
    prepared = []
    for action in catalogue.values():
        if action.kind == KIND_LOG:
            continue
        try:
            load_top_block_class(compile_flowgraph(action.flowgraph_path, cache_dir))
        except CompileError as exc:
            raise ActionError(f"action {action.name!r}: {exc}") from exc
        prepared.append(action.name)
    return prepared


def run_action(
    action: Action | str,
    *,
    radio: str,
    output_dir: Path,
    basename: str,
    context: Mapping[str, Any] | None = None,
    timeout_s: float = 60.0,
    calibration: Calibration | Mapping[str, Any] | None = None,
    cache_dir: Path | None = None,
) -> ActionResult:
    """Run ``action`` once; return its recordings or raise :class:`ActionError`.

    ``context`` (task id, schedule entry, action, sensor...) goes into the recording's metadata.
    ``calibration``: a :class:`~scos_gr.calibration.Calibration` (evaluated at the action's
    ``frequency``), or an already evaluated mapping carrying ``gain_correction_db`` (added to
    every detector, in dB); None reads ``SCOS_CALIBRATION_FILE`` (uncalibrated if unset).
    """
    if isinstance(action, str):
        catalogue = load_catalogue()
        if action not in catalogue:
            raise ActionError(f"unknown action {action!r}")
        action = catalogue[action]
    context = dict(context or {})
    calibration = resolve_calibration(calibration, action.parameters.get("frequency"))
    if action.kind == KIND_LOG:
        message = f"logger action {action.name!r}: task {context.get('task_id')} of {context.get('schedule_entry', {}).get('name')!r}"
        log.info(message)
        return ActionResult(log=message)

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    cache_dir = Path(cache_dir or default_cache_dir())
    try:
        try:
            return _run_flowgraph(action, radio, output_dir, basename, context, timeout_s, calibration, cache_dir)
        except ActionError:
            raise
        except Exception as exc:  # anything unforeseen still gets a reason, never a silent loss
            raise ActionError(f"action {action.name!r} failed: {type(exc).__name__}: {exc}") from exc
    except ActionError:
        remove_outputs(output_dir, basename)
        raise


def resolve_calibration(calibration: Calibration | Mapping[str, Any] | None, frequency: Any) -> dict[str, Any]:
    """The calibration values for one run at ``frequency`` (Hz, or None)."""
    if calibration is None:
        from scos_gr.config import load_settings

        try:
            calibration = load_calibration(load_settings().calibration_file)
        except CalibrationError as exc:
            raise ActionError(f"calibration: {exc}") from exc
    if isinstance(calibration, Calibration):
        try:
            freq = None if frequency is None else float(frequency)
        except (TypeError, ValueError):
            freq = None
        return calibration.at(freq)
    return dict(calibration)


def _run_flowgraph(
    action: Action,
    radio: str,
    output_dir: Path,
    basename: str,
    context: dict,
    timeout_s: float,
    calibration: Mapping[str, Any],
    cache_dir: Path,
) -> ActionResult:
    try:
        top_block_class = load_top_block_class(compile_flowgraph(action.flowgraph_path, cache_dir))
    except CompileError as exc:
        raise ActionError(str(exc)) from exc

    supplied: dict[str, Any] = {
        "radio_args": radio,
        "output_dir": str(output_dir),
        "basename": basename,
        "metadata_json": json.dumps({**context, "calibration": dict(calibration)}, default=str),
        "cal_gain_db": float(calibration.get("gain_correction_db", 0.0)),
    }
    values = dict(action.parameters)
    accepted = set(_parameter_names(top_block_class))
    values.update({k: v for k, v in supplied.items() if k in accepted})
    try:
        kwargs = coerce_parameters(top_block_class, values)
    except ValueError as exc:
        raise ActionError(f"action {action.name!r}: {exc}") from exc

    try:
        top_block = top_block_class(**kwargs)
    except Exception as exc:
        if type(exc).__name__ == "RadioError":
            raise RadioFailure(str(exc)) from exc
        raise ActionError(f"flowgraph {action.flowgraph} could not be built: {type(exc).__name__}: {exc}") from exc

    started = time.monotonic()
    try:
        top_block.start()
    except Exception as exc:
        raise RadioFailure(f"flowgraph {action.flowgraph} could not start: {exc}") from exc
    finished = threading.Event()
    waiter = threading.Thread(target=lambda: (top_block.wait(), finished.set()), daemon=True)
    waiter.start()
    if not finished.wait(timeout_s):
        top_block.stop()
        finished.wait(5.0)
        message = f"flowgraph {action.flowgraph} did not finish within {timeout_s:g} s; stopped"
        radio_errors = _radio_check_errors(top_block)
        error = RadioStalled(f"{message}: " + "; ".join(radio_errors)) if radio_errors else FlowgraphTimeout(message)
        error.measurements = _measurements(top_block)  # e.g. radio_health judged on stop: too few samples
        raise error
    capture_seconds = time.monotonic() - started

    errors = list(_block_errors(top_block))
    if errors:
        error = (RadioFailure if _radio_check_errors(top_block) else ActionError)("; ".join(errors))
        error.measurements = _measurements(top_block)
        raise error
    for name, block in _finalizers(top_block):
        try:  # blocks whose output is completed after the run (a file sink's data -> SigMF)
            block.finalize()
        except Exception as exc:
            raise ActionError(f"{name}: {exc}") from exc
    if not action.records:
        measurements = _measurements(top_block)
        return ActionResult(capture_seconds=capture_seconds, measurements=measurements,
                            log=f"{action.name}: passed in {capture_seconds:.3f} s" + _describe(measurements))
    recordings = collect_recordings(output_dir, [basename])
    if not recordings:
        raise ActionError(f"flowgraph {action.flowgraph} finished without writing the recording {basename}")
    return ActionResult(recordings=recordings, capture_seconds=capture_seconds, measurements=_measurements(top_block),
                        log=f"{action.name}: {len(recordings)} recording(s) in {capture_seconds:.3f} s")


def _parameter_names(top_block_class: type) -> list[str]:
    from scos_gr.flowgraphs.compiler import parameter_names

    return parameter_names(top_block_class)


def _block_errors(top_block: Any) -> Iterable[str]:
    """Errors that scos blocks caught in their work() (they stop the flowgraph and keep the reason)."""
    for name, value in vars(top_block).items():
        error = getattr(value, "error", None)
        if error:
            yield f"{name}: {error}"


def _radio_check_errors(top_block: Any) -> list[str]:
    """Errors of the blocks that judge the radio (``radio_check = True``): they make a failure
    the radio's (radio health false) rather than the flowgraph's."""
    return [f"{name}: {block.error}" for name, block in vars(top_block).items()
            if getattr(block, "radio_check", False) and getattr(block, "error", None)]


def _finalizers(top_block: Any) -> list[tuple[str, Any]]:
    return [(name, value) for name, value in vars(top_block).items() if callable(getattr(value, "finalize", None))]


def _measurements(top_block: Any) -> dict[str, dict]:
    """The ``.result`` dicts blocks expose (measured values), by block name."""
    return {name: dict(value.result) for name, value in vars(top_block).items()
            if isinstance(getattr(value, "result", None), dict)}


def _describe(measurements: dict[str, dict]) -> str:
    """Measured values for the task log (e.g. radio_health's level and rate)."""
    parts = [", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in result.items())
             for result in measurements.values()]
    return (" (" + "; ".join(parts) + ")") if parts else ""


def collect_recordings(output_dir: Path, basenames: Iterable[str]) -> list[RecordingFiles]:
    """The complete recordings among ``basenames`` (metadata present, data present and sized)."""
    found = []
    for basename in basenames:
        meta_path = output_dir / f"{basename}.sigmf-meta"
        data_path = output_dir / f"{basename}.sigmf-data"
        if not (meta_path.is_file() and data_path.is_file()):
            continue
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
        found.append(RecordingFiles(
            meta_path=meta_path,
            data_path=data_path,
            sha512=metadata.get("global", {}).get("core:sha512", ""),
            data_bytes=data_path.stat().st_size,
            metadata=metadata,
        ))
    return found


def remove_outputs(output_dir: Path, basename: str) -> None:
    """Delete everything an action may have left for ``basename`` (complete or temporary)."""
    for path in list(output_dir.glob(f"{basename}.sigmf-*")) + list(output_dir.glob(f".{basename}.sigmf-*")):
        try:
            path.unlink()
        except FileNotFoundError:
            pass
