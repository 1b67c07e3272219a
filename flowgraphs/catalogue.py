"""The action catalogue: which action runs which flowgraph with which parameter values, checked.

Actions are data. ``actions.yml`` (beside this module, or ``SCOS_ACTIONS``) names each action,
its summary and description, whether only admins may schedule it, and either the ``.grc`` file
it runs with the values it sets in that flowgraph's Parameter blocks, or ``kind: log`` for the
built-in logger actions. A Parameter block's default in the ``.grc`` is the action's value
unless the catalogue sets one: one place for each value. Summaries and descriptions may name
the effective values (``{num_ffts}``, ``{frequency:MHz}``), so they never restate a number that
can drift.

:func:`check_catalogue` is what the sensor uses. On every change of the catalogue file or of a
flowgraph it re-checks: YAML syntax (file and line), each entry's keys, each ``.grc`` through
the compiler (GRC's own validation, options "No GUI" and "Run to Completion", the action rules),
every parameter the entry sets exists and fits, and the flowgraph again with those values in
place. A bad action is listed as unavailable with its reason while the others keep working; a
broken catalogue file keeps the last good one in service, with the fault reported.
"""
from __future__ import annotations

import string
import threading
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping

import yaml

from scos_gr.config import Settings, shipped_catalogue
from scos_gr.errors import FlowgraphError
from scos_gr.faults import Fault, FaultClock
from scos_gr.flowgraphs.compiler import check_flowgraph_with, check_values, compile_flowgraph, installed_cache_dir

#: the catalogue shipped in this folder (the default of ``SCOS_ACTIONS``)
DEFAULT_CATALOGUE = shipped_catalogue()
FLOWGRAPHS_DIR = DEFAULT_CATALOGUE.parent

KIND_FLOWGRAPH = "flowgraph"
KIND_LOG = "log"
_KINDS = (KIND_FLOWGRAPH, KIND_LOG)
_ALLOWED_KEYS = {"summary", "description", "admin_only", "kind", "flowgraph", "parameters", "records"}


class CatalogueError(FlowgraphError, ValueError):
    """The catalogue file or one of its entries is malformed; the message names the file, the
    action and the key."""


@dataclass(frozen=True)
class Action:
    name: str
    summary: str
    description: str
    admin_only: bool = False
    kind: str = KIND_FLOWGRAPH
    flowgraph: str | None = None
    #: the values the catalogue sets (overriding the flowgraph's Parameter defaults)
    parameters: Mapping[str, Any] = field(default_factory=dict)
    base_dir: Path = FLOWGRAPHS_DIR
    #: False for checks that record nothing (monitor_radio): success is the flowgraph finishing clean
    records: bool = True
    #: the flowgraph's Parameter defaults (filled in by :func:`check_catalogue`)
    defaults: Mapping[str, Any] = field(default_factory=dict)

    @property
    def flowgraph_path(self) -> Path | None:
        """Absolute path of the action's .grc file (None for log actions)."""
        return None if self.flowgraph is None else (self.base_dir / self.flowgraph)

    @property
    def effective_parameters(self) -> dict[str, Any]:
        """What the flowgraph runs with: its Parameter defaults, overridden by the catalogue."""
        return {**self.defaults, **self.parameters}


@dataclass(frozen=True)
class Catalogue:
    """A checked catalogue: the actions that can run, those that cannot (and why), and the file's
    own problem when it is broken (its last good actions are then the ones in service)."""

    path: Path
    actions: dict[str, Action]
    unavailable: dict[str, str] = field(default_factory=dict)
    file_problem: str | None = None
    #: every entry that could be read, usable or not (who may see an unavailable one)
    declared: dict[str, Action] = field(default_factory=dict)

    def get(self, name: str) -> Action | None:
        return self.actions.get(name)

    def problems(self) -> list[str]:
        """Every problem, as a sentence naming the file and the action."""
        found = [self.file_problem] if self.file_problem else []
        return found + [f"{self.path}: action {name!r} is unavailable: {reason}"
                        for name, reason in sorted(self.unavailable.items())]

    def faults(self) -> list[Fault]:
        """The problems as ``/status`` faults (kind ``catalogue``), each since it was first seen."""
        return _clock.faults("catalogue", self.problems())

    def measurement_frequencies(self) -> list[float]:
        """Every frequency the catalogue's actions measure at, sorted: each flowgraph action's
        ``frequency`` (for a survey, the band centre its calibration is read at) and each of its
        ``frequencies`` (the SEA action's channels). The calibrate action measures here."""
        found: set[float] = set()
        for action in self.actions.values():
            values = action.effective_parameters
            candidates = [values.get("frequency")]
            listed = values.get("frequencies")
            candidates += list(listed) if isinstance(listed, (list, tuple)) else [listed]
            for value in candidates:
                if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
                    found.add(float(value))
        return sorted(found)


def load_catalogue(path: Path | str) -> dict[str, Action]:
    """The actions of the catalogue file ``path``, parsed but not checked (see :func:`check_catalogue`).
    Raises :class:`CatalogueError` for the first problem found."""
    path = Path(path).resolve()
    actions, problems = _parse_file(path)
    if problems:
        raise CatalogueError(next(iter(problems.values())))
    return actions


def parse_catalogue(document: Any, base_dir: Path = FLOWGRAPHS_DIR) -> dict[str, Action]:
    """Validate a parsed catalogue document and build its actions; CatalogueError for the first
    problem found."""
    actions, problems = _parse_document(document, base_dir)
    if problems:
        raise CatalogueError(next(iter(problems.values())))
    return actions


_clock = FaultClock()
_lock = threading.Lock()
#: path -> (fingerprint of every file it depends on, the checked catalogue)
_checked: dict[Path, tuple[tuple, Catalogue]] = {}
#: path -> the last catalogue whose file parsed (kept in service while the file is broken)
_last_good: dict[Path, Catalogue] = {}


def catalogue_for(settings: Settings) -> Catalogue:
    """The checked catalogue the sensor uses: ``SCOS_ACTIONS`` with the data directory's cache."""
    return check_catalogue(settings.actions_file, settings.flowgraph_cache_dir)


def check_catalogue(path: Path | str, cache_dir: Path, installed: Path | None = None) -> Catalogue:
    """The checked catalogue of ``path`` (see the module docstring); cheap when nothing changed.

    ``cache_dir``: the flowgraph cache (``Settings.flowgraph_cache_dir``); ``installed``: the
    read-only cache of the shipped flowgraphs (default: the one ``make deps`` fills).
    """
    path = Path(path).resolve()
    with _lock:
        fingerprint = _fingerprint(path, _checked.get(path))
        cached = _checked.get(path)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        catalogue = _check(path, Path(cache_dir), installed or installed_cache_dir())
        _checked[path] = (_fingerprint(path, (None, catalogue)), catalogue)
        return catalogue


def _fingerprint(path: Path, cached: tuple[tuple, Catalogue] | None) -> tuple:
    """Size and time of the catalogue file and of every flowgraph it names (as last checked)."""
    files = [path]
    if cached is not None:
        catalogue = cached[1]
        names = {a.flowgraph_path for a in catalogue.actions.values() if a.flowgraph_path}
        files += sorted(names)
    stats = []
    for file in files:
        try:
            st = file.stat()
            stats.append((str(file), st.st_mtime_ns, st.st_size))
        except OSError:
            stats.append((str(file), None, None))
    return tuple(stats)


def _check(path: Path, cache_dir: Path, installed: Path) -> Catalogue:
    actions, problems = _parse_file(path)
    if "" in problems:  # the file itself: keep the last good catalogue in service
        last = _last_good.get(path)
        if last is None:
            return Catalogue(path=path, actions={}, file_problem=problems[""])
        return replace(last, file_problem=problems[""])
    usable, unavailable = {}, {name: reason for name, reason in problems.items()}
    for name, action in actions.items():
        try:
            usable[name] = check_action(action, cache_dir, installed)
        except FlowgraphError as exc:
            unavailable[name] = str(exc)
    catalogue = Catalogue(path=path, actions=usable, unavailable=unavailable, declared=actions)
    _last_good[path] = catalogue
    return catalogue


def check_action(action: Action, cache_dir: Path, installed: Path | None = None) -> Action:
    """The action with its flowgraph's defaults and its texts rendered; raises CompileError,
    ParameterError or CatalogueError with the reason it cannot run."""
    if action.kind == KIND_FLOWGRAPH:
        compiled = compile_flowgraph(action.flowgraph_path, cache_dir, installed)
        overrides = check_values(compiled, action.parameters)
        if overrides:  # the flowgraph as this action runs it: the catalogue's values in place
            check_flowgraph_with(action.flowgraph_path, overrides, cache_dir)
        action = replace(action, parameters=overrides, defaults=compiled.defaults())
    values = action.effective_parameters
    return replace(action, summary=render(action.summary, values, action.name, "summary"),
                   description=render(action.description, values, action.name, "description"))


class _UnitFormatter(string.Formatter):
    """``{frequency:MHz}`` -> ``751 MHz``; also ``kHz``, ``GHz``, ``MS/s``, ``ms``; else Python's
    format specs."""

    UNITS = {"GHz": (1e-9, "GHz"), "MHz": (1e-6, "MHz"), "kHz": (1e-3, "kHz"), "MS/s": (1e-6, "MS/s"),
             "ms": (1e3, "ms")}

    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec in self.UNITS:
            scale, unit = self.UNITS[format_spec]
            if isinstance(value, (list, tuple)):  # a list of frequencies: "739, 751, 763 MHz"
                return ", ".join(f"{float(v) * scale:g}" for v in value) + f" {unit}"
            return f"{float(value) * scale:g} {unit}"
        return super().format_field(value, format_spec)


def render(text: str, values: Mapping[str, Any], action: str, key: str) -> str:
    """``text`` with ``{parameter}`` fields filled from the action's effective values."""
    try:
        return _UnitFormatter().vformat(text, (), dict(values))
    except KeyError as exc:
        raise CatalogueError(f"action {action!r}: {key} names {{{exc.args[0]}}}, which is not one of its "
                             f"parameters ({', '.join(sorted(values)) or 'none'})") from None
    except (ValueError, IndexError) as exc:
        raise CatalogueError(f"action {action!r}: {key}: {exc} (write a literal brace as {{{{ or }}}})") from None


def _parse_file(path: Path) -> tuple[dict[str, Action], dict[str, str]]:
    """Actions and, by action name, the problems found; problem key "" is the file's own."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        return {}, {"": f"{path}: cannot read the action catalogue: {exc.strerror}"}
    try:
        document = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark else "somewhere"
        return {}, {"": f"{path}: not valid YAML at {where}: {exc.problem or exc.context}"}
    except yaml.YAMLError as exc:
        return {}, {"": f"{path}: not valid YAML: {exc}"}
    actions, problems = _parse_document(document, path.parent)
    if "" in problems:
        problems[""] = f"{path}: {problems['']}"
    return actions, problems


def _parse_document(document: Any, base_dir: Path) -> tuple[dict[str, Action], dict[str, str]]:
    if not isinstance(document, dict) or not isinstance(document.get("actions"), dict):
        return {}, {"": "catalogue: expected a mapping with an 'actions' mapping"}
    actions: dict[str, Action] = {}
    problems: dict[str, str] = {}
    for name, spec in document["actions"].items():
        try:
            actions[str(name)] = _parse_action(str(name), spec, base_dir)
        except CatalogueError as exc:
            problems[str(name)] = str(exc)
    return actions, problems


def _parse_action(name: str, spec: Any, base_dir: Path) -> Action:
    if not isinstance(spec, dict):
        raise CatalogueError(f"action {name!r}: expected a mapping")
    unknown = set(spec) - _ALLOWED_KEYS
    if unknown:
        raise CatalogueError(f"action {name!r}: unknown keys {sorted(unknown)}")
    kind = spec.get("kind", KIND_FLOWGRAPH)
    if kind not in _KINDS:
        raise CatalogueError(f"action {name!r}: kind must be one of {_KINDS}, not {kind!r}")
    flowgraph = spec.get("flowgraph")
    if kind == KIND_FLOWGRAPH:
        if not flowgraph:
            raise CatalogueError(f"action {name!r}: 'flowgraph' (a .grc file) is required")
        if not (base_dir / flowgraph).is_file():
            raise CatalogueError(f"action {name!r}: flowgraph file {flowgraph!r} not found in {base_dir}")
    parameters = spec.get("parameters") or {}
    if not isinstance(parameters, dict):
        raise CatalogueError(f"action {name!r}: 'parameters' must be a mapping")
    for key in ("summary", "description"):
        if not isinstance(spec.get(key, ""), str):
            raise CatalogueError(f"action {name!r}: {key!r} must be text")
    return Action(
        name=name,
        summary=spec.get("summary", "").strip(),
        description=spec.get("description", "").strip(),
        admin_only=bool(spec.get("admin_only", False)),
        kind=kind,
        flowgraph=flowgraph,
        parameters=dict(parameters),
        base_dir=base_dir,
        records=bool(spec.get("records", kind == KIND_FLOWGRAPH)),
    )
