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
#: Those of them that change from one task to the next (radio_args is the worker's, for good).
TASK_PARAMETERS = ("output_dir", "basename", "metadata_json", "cal_gain_db")
#: Those the worker gives only some actions (calibrate): a flowgraph that declares one is built
#: for its task, never ahead of it (it is rare, and its values have no placeholder).
WORKER_PARAMETERS = ("catalogue_frequencies", "calibration_file")
#: The basename a flowgraph built ahead of its task holds until the task gives it its own
#: (never a task's: those are ``{entry}_{task id}``).
PREPARED_BASENAME = "scos-gr-prepared"


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
    #: seconds each step of the run took, in order (see :data:`STEPS`); ``bench/task_overhead.py``
    #: prints them
    steps: dict[str, float] = field(default_factory=dict)
    #: when the flowgraph was started (epoch seconds; 0 for a log action)
    started_at: float = 0.0


#: The steps of :func:`run_action`, in order: ``compile`` (the compile cache's answer and the
#: catalogue's values checked), ``build`` (the top block constructed: blocks, FFT plans, the
#: radio opened) or, for a flowgraph :func:`prepare` built, ``set`` (the task's values given to
#: it), ``wait`` (for the task's due time, when it was handed over ahead), ``start`` (GNU Radio
#: allocates the buffers and starts a thread per block), ``run`` (from then until the flowgraph
#: has finished; the blocks' own steps, e.g. ``scos_sigmf_sink.write``, are inside it and listed
#: after it), ``finish`` (errors, finalize, recordings). Tearing the flowgraph down is not among them: it is left to
#: :func:`release_finished`, after the task's outcome has been sent.
STEPS = ("compile", "build", "set", "wait", "start", "run", "finish")


#: the top block of the last run, kept until release_finished() (see run_action)
_finished: list[Any] = []


@dataclass
class _Prepared:
    """A flowgraph built ahead of its task (see :func:`prepare`)."""

    #: what it was built for: (flowgraph file, compile key, the catalogue's values, radio)
    key: tuple
    top_block: Any
    task_blocks: list[Any]
    #: the build's failure, which the task that would have used it reports
    error: ActionError | None
    #: where it was built to write until the task says where (its sinks' temp files)
    output_dir: Path


_prepared: list[_Prepared] = []  # at most one


def prepare(action: Action, *, radio: str, output_dir: Path, cache_dir: Path) -> bool:
    """Build ``action``'s flowgraph now, for its next :func:`run_action`; True if it was built.

    Building a top block (its blocks, the FFT plans, the radio opened) takes 3-5 ms of a
    task that lasts 20; the worker calls this once a task's outcome is on its way, for the
    action it just ran (the most likely next one). The next task of that action with the same
    catalogue values, flowgraph and radio then only gives the flowgraph its own values (output
    directory, basename, context, calibration) through the setters GRC generates, and runs
    it. Each task still gets a flowgraph that has never run: fresh blocks, counters and
    buffers. Only flowgraphs whose task values are all settable are prepared (every block that
    uses one takes it through a callback: ``CompiledFlowgraph.settable``); an edited ``.grc``
    or catalogue value changes the key, so the next task builds from the new one.

    A failure to build (the radio cannot be opened) is kept and reported by the task that
    would have used the flowgraph, as if it had happened then. ``output_dir``: where the
    flowgraph may create its temp files until its task's values are set (the last task's
    directory: whatever a dead worker leaves there is swept at start-up).
    """
    release_finished()  # a radio is never held by two flowgraphs
    discard_prepared()
    if action.kind == KIND_LOG:
        return False
    from gnuradio import scos

    try:
        compiled = compile_flowgraph(action.flowgraph_path, Path(cache_dir))
        overrides = check_values(compiled, action.parameters)
    except (CompileError, ParameterError):
        return False  # the task will say so
    if any(p in compiled.parameters and p not in compiled.settable for p in TASK_PARAMETERS) \
            or any(p in compiled.parameters for p in WORKER_PARAMETERS):
        return False
    placeholders = {"radio_args": radio, "output_dir": str(output_dir), "basename": PREPARED_BASENAME,
                    "metadata_json": "{}", "cal_gain_db": 0.0}
    kwargs = {**overrides, **{k: v for k, v in placeholders.items() if k in compiled.parameters}}
    top_block, error = None, None
    with scos.collect_task_blocks() as task_blocks:
        try:
            top_block = load_top_block_class(compiled)(**kwargs)
        except Exception as exc:
            error = _build_error(action, exc)
    _prepared.append(_Prepared(_prepared_key(action, compiled, overrides, radio), top_block, task_blocks, error,
                               Path(output_dir)))
    return error is None


def discard_prepared() -> None:
    """Drop the flowgraph :func:`prepare` built (its radio is released, its temp files removed)."""
    while _prepared:
        prepared = _prepared.pop()
        prepared.top_block = None
        prepared.task_blocks.clear()
        remove_recording(*recording_paths(prepared.output_dir, PREPARED_BASENAME))


def _take_prepared(key: tuple) -> _Prepared | None:
    """The prepared flowgraph if it was built for ``key`` (it is then the caller's), else None
    (and any other is discarded)."""
    if _prepared and _prepared[0].key == key:
        return _prepared.pop()
    discard_prepared()
    return None


def _prepared_key(action: Action, compiled: CompiledFlowgraph, overrides: Mapping[str, Any], radio: str) -> tuple:
    return (str(action.flowgraph_path), compiled.key, tuple(sorted((k, repr(v)) for k, v in overrides.items())), radio)


def _build_error(action: Action, exc: Exception) -> ActionError:
    if isinstance(exc, RadioError):
        return RadioFailure(str(exc))
    return ActionError(f"flowgraph {action.flowgraph} could not be built: {type(exc).__name__}: {exc}")


def release_finished() -> float:
    """Tear down the last run's flowgraph (its buffers, threads' state, block objects, and the
    radio it opened); returns the seconds it took. :func:`run_action` leaves this for later
    because it costs 2-3 ms that no task needs to wait for: the worker calls it once the
    outcome is on its way. The next :func:`run_action` calls it first in any case, so a radio is
    never held by two flowgraphs."""
    started = time.perf_counter()
    while _finished:
        _finished.pop()
    return time.perf_counter() - started


def warm_up(actions: Sequence[Action], cache_dir: Path, radio: str | None = None) -> list[str]:
    """Import GNU Radio and the scos blocks, and import every flowgraph of ``actions`` (compiled:
    they come from a checked catalogue), so the first task is on time. Returns the names of the
    actions prepared.

    With ``radio``, also what a first task would otherwise do once for the whole process: the
    recording writer's schema compiled, and each flowgraph built once and dropped (a rehearsal,
    never run): FFT plans made (and FFTW's wisdom read), the simulated radio's signal file
    written, the blocks' own imports done. The rehearsal uses ``radio`` when it is the
    simulated radio (its signal file is the one tasks will use), else the plain sim: devices
    are opened by tasks only. A simulated radio built in rehearsal counts no construction
    (``fail_every``) and waits no open delay (``scos.rehearsal``).
    """
    import tempfile

    from gnuradio import scos  # noqa: F401  (the import itself is the point: it takes ~0.5 s)

    from scos_gr.radio_args import is_sim
    from scos_gr.sigmf_out import writer

    prepared = []
    for action in actions:
        if action.kind != KIND_LOG:
            load_top_block_class(compile_flowgraph(action.flowgraph_path, cache_dir))
            prepared.append(action.name)
    if radio is None:
        return prepared
    writer.warm_up()
    rehearsal_radio = radio if is_sim(radio) else "sim"
    with tempfile.TemporaryDirectory(prefix="scos-gr-rehearsal-") as scratch:
        for action in actions:
            if action.kind == KIND_LOG:
                continue
            try:
                compiled = compile_flowgraph(action.flowgraph_path, cache_dir)
                values = {**check_values(compiled, action.parameters), "radio_args": rehearsal_radio,
                          "output_dir": scratch, "basename": PREPARED_BASENAME}
                with scos.rehearsal(), scos.collect_task_blocks():
                    load_top_block_class(compiled)(**{k: v for k, v in values.items() if k in compiled.parameters})
            except Exception as exc:  # its task will say what is wrong; the others still warm up
                log.warning("warm-up: %s could not be built: %s: %s", action.name, type(exc).__name__, exc)
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
    start_at: float = 0.0,
) -> ActionResult:
    """Run ``action`` once; return its recordings or raise :class:`ActionError`.

    ``context`` (task, schedule entry, sensor) goes into the recording's metadata, with the
    action's name, summary and description and the calibration values applied: ``calibration``
    evaluated at the action's ``frequency``, whose ``gain_correction_db`` the flowgraph adds to
    every detector (its ``cal_gain_db`` Parameter). ``catalogue_frequencies`` and
    ``calibration_file`` fill the Parameters of those names (the calibrate action's), when given.
    ``start_at`` (epoch seconds): the flowgraph starts no earlier (everything before its start is
    done meanwhile); a log action logs no earlier.
    """
    context = dataclasses.replace(context or TaskContext(),
                                  action=ActionInfo(action.name, action.summary, action.description))
    if action.kind == KIND_LOG:
        entry = context.schedule.name if context.schedule else None
        message = f"logger action {action.name!r}: task {context.task_id} of {entry!r}"
        _wait_until(start_at)
        log.info(message)
        return ActionResult(log=message)

    release_finished()
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    steps: dict[str, float] = {}
    began = time.perf_counter()
    try:
        try:
            compiled = compile_flowgraph(action.flowgraph_path, Path(cache_dir))
            overrides = check_values(compiled, action.parameters)
        except (CompileError, ParameterError) as exc:
            raise ActionError(f"action {action.name!r}: {exc}") from exc
        values = calibration.at(_frequency_of({**compiled.defaults(), **overrides}))
        context = dataclasses.replace(context, calibration=values)
        steps["compile"] = time.perf_counter() - began
        try:
            extra = {"catalogue_frequencies": [float(f) for f in catalogue_frequencies] or None,
                     "calibration_file": None if calibration_file is None else str(calibration_file)}
            return _run_flowgraph(action, compiled, overrides, radio, output_dir, basename, context, timeout_s, values,
                                  steps, {k: v for k, v in extra.items() if v is not None}, start_at)
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
                   calibration: Mapping[str, Any], steps: dict[str, float],
                   extra: Mapping[str, Any] | None = None, start_at: float = 0.0) -> ActionResult:
    from gnuradio import scos

    mark = time.perf_counter()

    def step(name: str) -> None:
        nonlocal mark
        now = time.perf_counter()
        steps[name] = now - mark
        mark = now

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
    prepared = _take_prepared(_prepared_key(action, compiled, overrides, radio))
    if prepared is not None and prepared.error is not None:
        raise prepared.error
    if prepared is not None:  # built after the last task: only this task's values to give it
        top_block, task_blocks = prepared.top_block, prepared.task_blocks
        _finished.append(top_block)
        for name in TASK_PARAMETERS:
            if name in compiled.parameters:
                getattr(top_block, f"set_{name}")(supplied[name])
        step("set")
    else:
        with scos.collect_task_blocks() as task_blocks:
            try:
                top_block = top_block_class(**kwargs)
            except Exception as exc:
                raise _build_error(action, exc) from exc
        _finished.append(top_block)  # torn down by release_finished(), off the task's path
        step("build")

    if _wait_until(start_at):
        step("wait")  # for the due time: not the task's work
    started, started_at = time.monotonic(), time.time()
    try:
        top_block.start()
    except Exception as exc:
        raise RadioFailure(f"flowgraph {action.flowgraph} could not start: {exc}") from exc
    step("start")
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
    step("run")
    for block in task_blocks:  # inside "run": what the blocks timed of their own work
        steps.update((f"{block.name()}.{name}", seconds) for name, seconds in block.step_seconds().items())

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
        step("finish")
        return ActionResult(capture_seconds=capture_seconds, measurements=measurements, steps=steps,
                            started_at=started_at,
                            log=f"{action.name}: passed in {capture_seconds:.3f} s" + _describe(measurements))
    recordings = [recording for block in task_blocks for recording in block.recordings()]
    if not recordings:
        raise ActionError(f"flowgraph {action.flowgraph} finished without writing the recording {basename}")
    step("finish")
    return ActionResult(recordings=recordings, capture_seconds=capture_seconds, measurements=measurements,
                        steps=steps, started_at=started_at,
                        log=f"{action.name}: {len(recordings)} recording(s) in {capture_seconds:.3f} s")


def _wait_until(start_at: float) -> bool:
    """Sleep until the epoch time ``start_at``; whether it was still ahead."""
    ahead = start_at - time.time()
    if ahead <= 0:
        return False
    time.sleep(ahead)
    return True


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
