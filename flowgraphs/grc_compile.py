"""Load, check and compile one ``.grc`` with GNU Radio Companion's own Platform (what grcc does, and more).

Run as a program (``python -m scos_gr.flowgraphs.grc_compile OUT_DIR FILE.grc [VALUES.json]``) by
:mod:`scos_gr.flowgraphs.compiler`, never imported by a process that must not load GNU Radio.
It loads the flowgraph exactly as GRC does (the scos block definitions on ``GRC_BLOCKS_PATH``),
lets GRC validate and evaluate it, applies the rules an action's flowgraph must follow
(:func:`action_problems`), generates the Python top block, and writes ``OUT_DIR/report.json``:

    {"ok": bool, "problems": [sentences naming the block and the value],
     "class_name": "...", "module": "<class_name>.py",
     "parameters": {name: {"type": GRC type, "default": evaluated default}},
     "settable": [Parameter names whose generated setter reaches every use (settable_parameters)]}

grcc prints GRC's real reasons on stdout and only "Compilation error" on stderr; here every
reason ends up in ``problems``, which the catalogue shows to the person who edited the file.

With ``VALUES.json`` (Parameter name -> value: what a catalogue entry sets), the flowgraph is
checked as the action will run it, with those values in its Parameter blocks, and nothing is
generated (the generated top block takes them as arguments).
"""
from __future__ import annotations

import io
import json
import math
import os
import re
import sys
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any, Iterable

#: GRC ids of the blocks the rules look at
FFT_BLOCK = "fft_vxx"
DETECTOR_BLOCK = "scos_power_stats"
HEAD_BLOCK = "blocks_head"
CHANNEL_BLOCK = "scos_channel_source"
PVT_BLOCK = "scos_pvt"
PFP_BLOCK = "scos_pfp"

#: a window's taps match the detector's window when no coefficient differs by more than this
#: (GNU Radio computes its windows in float32, the table in float64)
TAP_TOLERANCE = 1e-5


def main(argv: list[str]) -> int:
    out_dir, grc_path = Path(argv[0]), Path(argv[1]).resolve()
    values = json.loads(Path(argv[2]).read_text()) if len(argv) > 2 else None
    out_dir.mkdir(parents=True, exist_ok=True)
    chatter = io.StringIO()
    with redirect_stdout(chatter):  # GRC's messages go to stdout; keep them for the report
        report = compile_file(grc_path, out_dir, values)
    if not report["ok"] and not report["problems"]:
        report["problems"] = [line for line in chatter.getvalue().splitlines() if line.strip()][-12:]
    (out_dir / "report.json").write_text(json.dumps(report, indent=1, default=str))
    return 0


def compile_file(grc_path: Path, out_dir: Path, values: dict[str, Any] | None = None) -> dict[str, Any]:
    from gnuradio import gr
    from gnuradio.grc.core.platform import Platform

    report: dict[str, Any] = {"ok": False, "problems": [], "class_name": None, "module": None, "parameters": {}}
    platform = Platform(name="scos-gr flowgraph compiler", prefs=gr.prefs(), version=gr.version(),
                        version_parts=(gr.major_version(), gr.api_version(), gr.minor_version()))
    platform.build_library()
    try:
        data = platform.parse_flow_graph(str(grc_path))
        unknown = sorted({str(b.get("id")) for b in data.get("blocks") or []} - set(platform.blocks))
        if unknown:  # GRC would drop them and complain only of unconnected ports
            report["problems"] = [f"{grc_path.name}: unknown block(s) {', '.join(unknown)}; is the scos OOT module "
                                  "installed (make deps), and GRC_BLOCKS_PATH right for other modules?"]
            return report
        flow_graph = platform.make_flow_graph()
        flow_graph.grc_file_path = str(grc_path)
        flow_graph.import_data(data)
        report["problems"] = [f"{grc_path.name}: {message}" for message in set_parameters(flow_graph, values or {})]
        if report["problems"]:
            return report
        flow_graph.rewrite()
        flow_graph.validate()
    except Exception as exc:  # a file GRC itself cannot read
        report["problems"] = [f"{grc_path.name}: GNU Radio Companion cannot load it: {exc}"]
        return report
    report["class_name"] = flow_graph.get_option("id")
    report["problems"] = [f"{grc_path.name}: {message}" for message in grc_errors(flow_graph)]
    if report["problems"]:
        return report
    report["parameters"] = parameters_of(flow_graph)
    report["settable"] = settable_parameters(flow_graph)
    report["problems"] = [f"{grc_path.name}: {message}" for message in action_problems(flow_graph)]
    if report["problems"] or values:
        report["ok"] = not report["problems"]
        return report
    generator = platform.Generator(flow_graph, str(out_dir))
    generator.write()
    report["module"] = Path(generator.file_path).name
    report["ok"] = True
    return report


def grc_errors(flow_graph: Any) -> list[str]:
    """GRC's own validation errors, each with the block (and port) it belongs to."""
    messages = []
    for element, message in flow_graph.iter_error_messages():
        if element is flow_graph:
            messages.append(message)
        elif getattr(element, "is_port", False):
            messages.append(f"{element.parent_block.name} port {element.name!r}: {message}")
        elif getattr(element, "is_param", False):
            messages.append(f"{element.parent_block.name} parameter {element.key} ({element.name}): {message}")
        else:
            messages.append(f"{getattr(element, 'name', element)}: {message}")
    return messages


def set_parameters(flow_graph: Any, values: dict[str, Any]) -> list[str]:
    """Put ``values`` into the Parameter blocks of those names; a name with no such block is a problem."""
    blocks = {b.name: b for b in flow_graph.blocks if b.key == "parameter"}
    unknown = sorted(set(values) - set(blocks))
    if unknown:
        return [f"no Parameter block named {', '.join(unknown)} (the flowgraph has {', '.join(sorted(blocks))})"]
    for name, value in values.items():
        param = blocks[name].params["value"]
        param.set_value(str(value) if blocks[name].params["type"].get_value() == "str" else repr(value))
    return []


def parameters_of(flow_graph: Any) -> dict[str, dict[str, Any]]:
    """The flowgraph's Parameter blocks (its contract): GRC type and evaluated default."""
    found = {}
    for block in enabled_blocks(flow_graph):
        if block.key == "parameter":
            found[block.name] = {"type": block.params["type"].get_value(),
                                 "default": _jsonable(block.params["value"].get_evaluated())}
    return found


#: blocks trusted to take a new value through their GRC callbacks before the flowgraph starts
#: (their setters are written for it); any other block that uses a Parameter makes it unsettable
SETTABLE_BLOCK_PREFIX = "scos_"


def settable_parameters(flow_graph: Any) -> list[str]:
    """The Parameter blocks whose value can be changed after the top block is built, before it
    starts: the generated ``set_<name>`` (GRC calls every callback that names the Parameter)
    then reaches each block that uses it. That holds when every use is a parameter of a scos
    block whose definition has a callback for that parameter; a use by another block (its
    value taken once, at construction), by a Variable, another Parameter or a snippet makes
    the Parameter unsettable. The runner builds a flowgraph before its task only when the
    values it gives each task are all settable (``runner.prepare``)."""
    from gnuradio.grc.core.utils.expr_utils import get_variable_dependencies

    blocks = enabled_blocks(flow_graph)
    names = [b.name for b in blocks if b.key == "parameter"]
    if any(b.key in ("snippet", "epy_module") for b in blocks):
        return []
    settable = []
    for name in names:
        fits = True
        for block in blocks:
            if block.name == name or block.key in ("options", "import", "note"):
                continue
            callbacks = " ".join(str(c) for c in (block.templates.get("callbacks") or []))
            for key, param in block.params.items():
                value = param.get_value()
                if not isinstance(value, str) or not get_variable_dependencies(value, [name]):
                    continue
                if not (block.key.startswith(SETTABLE_BLOCK_PREFIX)
                        and re.search(r"\$\{\s*" + re.escape(key) + r"\s*\}", callbacks)):
                    fits = False
        if fits:
            settable.append(name)
    return settable


def action_problems(flow_graph: Any) -> list[str]:
    """What makes a flowgraph unfit to run as an action, or would make its recording wrong."""
    problems = []
    generate, run = flow_graph.get_option("generate_options"), flow_graph.get_option("run_options")
    if generate != "no_gui":
        problems.append(f"Options block: Generate Options is {generate!r}; an action runs without a screen, "
                        "so it must be 'No GUI' (no_gui)")
    if run != "run":
        problems.append(f"Options block: Run Options is {run!r}; an action must end by itself, so it must be "
                        "'Run to Completion' (run)")
    for detector in [b for b in enabled_blocks(flow_graph) if b.key == DETECTOR_BLOCK]:
        problems += _detector_problems(flow_graph, detector)
    for block in [b for b in enabled_blocks(flow_graph) if b.key in (DETECTOR_BLOCK, PVT_BLOCK, PFP_BLOCK)]:
        problems += _capture_problems(flow_graph, block)
    return problems


def _capture_problems(flow_graph: Any, block: Any) -> list[str]:
    """Behind an SCOS Channel Source, each capture (samples_per_channel) must be exactly one
    capture of power_stats and whole bins of power vs. time, whole frames (of whole windows) of
    periodic frame power: else a channel's products would never complete, or mix two channels."""
    problems = []
    for source in [b for b in upstream_blocks(flow_graph, block) if b.key == CHANNEL_BLOCK]:
        samples = int(source.params["samples_per_channel"].get_evaluated())
        rate = float(source.params["samp_rate"].get_evaluated())
        where = f"{source.name} passes {samples} samples per channel"
        if block.key == DETECTOR_BLOCK:
            frame = int(block.params["fft_size"].get_evaluated()) * int(block.params["num_ffts"].get_evaluated())
            if frame != samples:
                problems.append(f"{where} but {block.name} takes fft_size x num_ffts = {frame} per capture: each "
                                "channel must be exactly one capture")
            continue
        if block.key == PVT_BLOCK:
            length_ms, what = float(block.params["bin_ms"].get_evaluated()), "bin"
        else:
            length_ms, what = float(block.params["frame_ms"].get_evaluated()), "frame"
        length = length_ms * 1e-3 * rate
        if abs(length - round(length)) > 1e-6 * max(1.0, length) or round(length) < 1:
            problems.append(f"{block.name}: a {length_ms:g} ms {what} is {length:g} samples at {rate:g} S/s (from "
                            f"{source.name}); it must be a whole number of samples")
            continue
        length = int(round(length))
        if samples % length:
            problems.append(f"{where}, not a whole number of {block.name}'s {length_ms:g} ms {what}s ({length} samples)")
        if block.key == PFP_BLOCK:
            points = int(block.params["points"].get_evaluated())
            if points < 1 or length % points:
                problems.append(f"{block.name}: a {length_ms:g} ms frame ({length} samples) does not split into "
                                f"{points} windows of whole samples")
    return problems


def _detector_problems(flow_graph: Any, detector: Any) -> list[str]:
    """The FFT window and the number of samples in front of a detector agree with what it assumes."""
    from scos_gr.sigmf_out.windows import UnknownWindow, window_coefficients

    from gnuradio.scos.detectors import DetectorError, parse_detectors

    problems = []
    if "detectors" in detector.params:
        try:
            parse_detectors(detector.params["detectors"].get_evaluated())
        except DetectorError as exc:
            problems.append(f"{detector.name}: {exc}")
    fft_size = int(detector.params["fft_size"].get_evaluated())
    upstream = list(upstream_blocks(flow_graph, detector))
    window_param = detector.params.get("window")
    for fft in [b for b in upstream if b.key == FFT_BLOCK]:
        if window_param is None:
            break
        name = window_param.get_evaluated()
        taps = [float(x) for x in fft.params["window"].get_evaluated()]
        try:
            expected = window_coefficients(name, fft_size)
        except UnknownWindow as exc:
            problems.append(f"{detector.name}: {exc}")
            continue
        if len(taps) != len(expected) or max(abs(a - b) for a, b in zip(taps, expected)) > TAP_TOLERANCE:
            problems.append(
                f"{fft.name} multiplies by the window {fft.params['window'].get_value()!r} "
                f"({describe_taps(taps)}) but {detector.name} computes power and ENBW for window {name!r}: "
                "the recording would be wrong; use one window variable for both blocks")
    num_ffts = int(detector.params["num_ffts"].get_evaluated())
    for head in [b for b in upstream if b.key == HEAD_BLOCK]:
        items = int(head.params["num_items"].get_evaluated())
        if items <= 0 or items % (fft_size * num_ffts):
            problems.append(
                f"{head.name} passes {items} samples but {detector.name} needs a multiple of "
                f"fft_size x num_ffts = {fft_size} x {num_ffts} = {fft_size * num_ffts}: its capture would "
                "never complete")
    return problems


def describe_taps(taps: list[float]) -> str:
    """A window's name when the taps are one the table knows, else 'N custom taps'."""
    from scos_gr.sigmf_out.windows import known_windows, window_coefficients

    for name in known_windows():
        expected = window_coefficients(name, len(taps))
        if max(abs(a - b) for a, b in zip(taps, expected)) <= TAP_TOLERANCE:
            return name
    return f"{len(taps)} custom taps"


def enabled_blocks(flow_graph: Any) -> list[Any]:
    return [b for b in flow_graph.blocks if b.enabled and not b.get_bypassed()]


def upstream_blocks(flow_graph: Any, block: Any) -> Iterable[Any]:
    """Every enabled block whose output reaches ``block``'s inputs (breadth first)."""
    seen, frontier = set(), [block]
    while frontier:
        current = frontier.pop(0)
        for connection in flow_graph.connections:
            if connection.enabled and connection.sink_block is current and connection.source_block not in seen:
                seen.add(connection.source_block)
                frontier.append(connection.source_block)
                yield connection.source_block


def _jsonable(value: Any) -> Any:
    if isinstance(value, (str, bool, int)) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return str(value)


if __name__ == "__main__":
    os.environ.setdefault("GRC_BLOCKS_PATH", "")
    sys.exit(main(sys.argv[1:]))
