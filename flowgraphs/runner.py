"""Run one action: build its flowgraph with the task's parameters and run it to completion.

The runner is what the scheduler's worker process calls for each task. It compiles the action's
.grc (cached, see ``compiler``), instantiates the generated top block with the catalogue's
parameter values plus what the task supplies (radio, output path, task context, calibration),
runs it under the GNU Radio scheduler with a timeout, and asks the flowgraph's scos blocks
(``gnuradio.scos.TaskBlock``: collected while the flowgraph is built) for their errors,
measurements and recordings. Whatever goes wrong surfaces as an :class:`ActionError` whose
message says why, and the task's recording, complete or partial, is removed.
"""
from __future__ import annotations

import dataclasses
import logging
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, Sequence

from scos_gr.calibration import UNCALIBRATED, Calibration
from scos_gr.errors import FlowgraphError, RadioError
from scos_gr.flowgraphs.catalogue import KIND_LOG, Action
from scos_gr.flowgraphs.compiler import CompiledFlowgraph, CompileError, ParameterError, check_values, \
    compile_flowgraph, load_top_block_class
from scos_gr.sigmf_out.context import ActionInfo, TaskContext
from scos_gr.sigmf_out.writer import Recording, recording_paths, remove_recording

log = logging.getLogger(__name__)

#: Parameters the runner fills in for every flowgraph that declares them (the calibrate action's
#: ``catalogue_frequencies``, where to measure, and ``calibration_file``, where to store the result,
#: come from the worker: the catalogue's measurement frequencies and the onboard calibration file).
RUNNER_PARAMETERS = ("radio_args", "output_dir", "basename", "metadata_json", "cal_gain_db",
                     "catalogue_frequencies", "calibration_file")


class ActionError(FlowgraphError):
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


@dataclass
class ActionResult:
    """What a successful action produced."""

    recordings: list[Recording] = field(default_factory=list)
    log: str = ""
    capture_seconds: float = 0.0
    #: the blocks' measurements by block name: e.g. monitor_radio's
    #: ``{"scos_radio_health_3": {"samples", "level_dbm", "rate_sps", "healthy"}}``
    measurements: dict[str, dict] = field(default_factory=dict)


def warm_up(actions: Sequence[Action], cache_dir: Path) -> list[str]:
    """Import GNU Radio and the scos blocks, and import every flowgraph of ``actions`` (compiled:
    they come from a checked catalogue), so the first task is on time. Returns the names of the
    actions prepared."""
    from gnuradio import scos  # noqa: F401  (the import itself is the point: it takes ~0.5 s)

    prepared = []
    for action in actions:
        if action.kind != KIND_LOG:
            load_top_block_class(compile_flowgraph(action.flowgraph_path, cache_dir))
            prepared.append(action.name)
    return prepared


def radio_info(args: str) -> dict[str, Any]:
    """``{"driver", "args", "min_frequency", "max_frequency"}`` of the radio ``args`` names
    (opened only briefly); RadioError when it cannot be opened."""
    from gnuradio import scos

    return scos.radio_info(args)


def run_action(
    action: Action,
    *,
    radio: str,
    output_dir: Path,
    basename: str,
    cache_dir: Path,
    calibration: Calibration = UNCALIBRATED,
    context: TaskContext | None = None,
    timeout_s: float = 60.0,
    catalogue_frequencies: Sequence[float] = (),
    calibration_file: Path | None = None,
) -> ActionResult:
    """Run ``action`` once; return its recordings or raise :class:`ActionError`.

    ``context`` (task, schedule entry, sensor) goes into the recording's metadata, with the
    action's name, summary and description and the calibration values applied: ``calibration``
    evaluated at the action's ``frequency``, whose ``gain_correction_db`` the flowgraph adds to
    every detector (its ``cal_gain_db`` Parameter). ``catalogue_frequencies`` and
    ``calibration_file`` fill the Parameters of those names (the calibrate action's), when given.
    """
    context = dataclasses.replace(context or TaskContext(),
                                  action=ActionInfo(action.name, action.summary, action.description))
    if action.kind == KIND_LOG:
        entry = context.schedule.name if context.schedule else None
        message = f"logger action {action.name!r}: task {context.task_id} of {entry!r}"
        log.info(message)
        return ActionResult(log=message)

    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    try:
        try:
            compiled = compile_flowgraph(action.flowgraph_path, Path(cache_dir))
            overrides = check_values(compiled, action.parameters)
        except (CompileError, ParameterError) as exc:
            raise ActionError(f"action {action.name!r}: {exc}") from exc
        values = calibration.at(_frequency_of({**compiled.defaults(), **overrides}))
        context = dataclasses.replace(context, calibration=values)
        try:
            extra = {"catalogue_frequencies": [float(f) for f in catalogue_frequencies] or None,
                     "calibration_file": None if calibration_file is None else str(calibration_file)}
            return _run_flowgraph(action, compiled, overrides, radio, output_dir, basename, context, timeout_s, values,
                                  {k: v for k, v in extra.items() if v is not None})
        except ActionError:
            raise
        except Exception as exc:  # anything unforeseen still gets a reason, never a silent loss
            raise ActionError(f"action {action.name!r} failed: {type(exc).__name__}: {exc}") from exc
    except ActionError:
        remove_recording(*recording_paths(output_dir, basename))
        raise


def _frequency_of(parameters: Mapping[str, Any]) -> float | None:
    try:
        return float(parameters["frequency"])
    except (KeyError, TypeError, ValueError):
        return None


def _run_flowgraph(action: Action, compiled: CompiledFlowgraph, overrides: Mapping[str, Any], radio: str,
                   output_dir: Path, basename: str, context: TaskContext, timeout_s: float,
                   calibration: Mapping[str, Any], extra: Mapping[str, Any] | None = None) -> ActionResult:
    from gnuradio import scos

    top_block_class = load_top_block_class(compiled)
    supplied: dict[str, Any] = {
        "radio_args": radio,
        "output_dir": str(output_dir),
        "basename": basename,
        "metadata_json": context.to_json(),
        "cal_gain_db": float(calibration.get("gain_correction_db", 0.0)),
        **(extra or {}),
    }
    kwargs = {**overrides, **{k: v for k, v in supplied.items() if k in compiled.parameters}}
    with scos.collect_task_blocks() as task_blocks:
        try:
            top_block = top_block_class(**kwargs)
        except RadioError as exc:
            raise RadioFailure(str(exc)) from exc
        except Exception as exc:
            raise ActionError(f"flowgraph {action.flowgraph} could not be built: {type(exc).__name__}: {exc}") \
                from exc

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
        radio_errors = _errors(task_blocks, radio_only=True)
        error = RadioStalled(f"{message}: " + "; ".join(radio_errors)) if radio_errors else FlowgraphTimeout(message)
        error.measurements = _measurements(task_blocks)  # e.g. radio_health judged on stop: too few samples
        raise error
    capture_seconds = time.monotonic() - started

    errors = _errors(task_blocks)
    if errors:
        error = (RadioFailure if _errors(task_blocks, radio_only=True) else ActionError)("; ".join(errors))
        error.measurements = _measurements(task_blocks)
        raise error
    for block in task_blocks:
        try:  # blocks whose output is completed after the run (a file sink's data -> SigMF)
            block.finalize()
        except Exception as exc:
            raise ActionError(f"{block.task_name()}: {exc}") from exc
    measurements = _measurements(task_blocks)
    if not action.records:
        return ActionResult(capture_seconds=capture_seconds, measurements=measurements,
                            log=f"{action.name}: passed in {capture_seconds:.3f} s" + _describe(measurements))
    recordings = [recording for block in task_blocks for recording in block.recordings()]
    if not recordings:
        raise ActionError(f"flowgraph {action.flowgraph} finished without writing the recording {basename}")
    return ActionResult(recordings=recordings, capture_seconds=capture_seconds, measurements=measurements,
                        log=f"{action.name}: {len(recordings)} recording(s) in {capture_seconds:.3f} s")


def _errors(task_blocks: Sequence[Any], radio_only: bool = False) -> list[str]:
    """The errors the blocks caught in their work() (they stop the flowgraph and keep the reason);
    ``radio_only``: only those of the blocks that judge the radio (their failure is the radio's)."""
    return [f"{block.task_name()}: {block.error}" for block in task_blocks
            if block.error and (block.radio_check or not radio_only)]


def _measurements(task_blocks: Sequence[Any]) -> dict[str, dict]:
    """What the blocks measured, by block name."""
    found = {}
    for block in task_blocks:
        measured = block.measurements()
        if measured is not None:
            found[block.task_name()] = dict(measured)
    return found


def _describe(measurements: dict[str, dict]) -> str:
    """Measured values for the task log (e.g. radio_health's level and rate)."""
    parts = [", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in result.items())
             for result in measurements.values()]
    return (" (" + "; ".join(parts) + ")") if parts else ""
