"""The action catalogue: which action runs which flowgraph with which parameter values.

Actions are data. ``actions.yml`` (beside this module) names each action, its summary and
description, whether only admins may schedule it, and either the ``.grc`` file it runs with
the values of that flowgraph's Parameter blocks, or ``kind: log`` for the built-in logger
actions. A new action is a new entry here (and, for a new kind of measurement, a new ``.grc``
drawn in GNU Radio Companion); the catalogue is re-read whenever the file changes, so a
running sensor picks it up without a restart.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping

import yaml

from scos_gr.config import shipped_catalogue
from scos_gr.errors import FlowgraphError

#: the catalogue shipped in this folder (the default of ``SCOS_ACTIONS``)
DEFAULT_CATALOGUE = shipped_catalogue()
FLOWGRAPHS_DIR = DEFAULT_CATALOGUE.parent

KIND_FLOWGRAPH = "flowgraph"
KIND_LOG = "log"
_KINDS = (KIND_FLOWGRAPH, KIND_LOG)
_ALLOWED_KEYS = {"summary", "description", "admin_only", "kind", "flowgraph", "parameters", "records"}


class CatalogueError(FlowgraphError, ValueError):
    """The catalogue file is malformed; the message names the action and the key."""


@dataclass(frozen=True)
class Action:
    name: str
    summary: str
    description: str
    admin_only: bool = False
    kind: str = KIND_FLOWGRAPH
    flowgraph: str | None = None
    parameters: Mapping[str, Any] = field(default_factory=dict)
    base_dir: Path = FLOWGRAPHS_DIR
    #: False for checks that record nothing (monitor_radio): success is the flowgraph finishing clean
    records: bool = True

    @property
    def flowgraph_path(self) -> Path | None:
        """Absolute path of the action's .grc file (None for log actions)."""
        return None if self.flowgraph is None else (self.base_dir / self.flowgraph)


_cache_lock = threading.Lock()
_cache: dict[Path, tuple[tuple[int, int], dict[str, Action]]] = {}


def load_catalogue(path: Path | str) -> dict[str, Action]:
    """The actions of the catalogue file ``path`` (``Settings.actions_file``), by name.

    Parsed once per file version (mtime and size), so calling this per request is cheap and an
    edited file is seen on the next call.
    """
    path = Path(path).resolve()
    stat = path.stat()
    version = (stat.st_mtime_ns, stat.st_size)
    with _cache_lock:
        cached = _cache.get(path)
        if cached and cached[0] == version:
            return dict(cached[1])
    actions = parse_catalogue(yaml.safe_load(path.read_text(encoding="utf-8")), base_dir=path.parent)
    with _cache_lock:
        _cache[path] = (version, actions)
    return dict(actions)


def parse_catalogue(document: Any, base_dir: Path = FLOWGRAPHS_DIR) -> dict[str, Action]:
    """Validate a parsed catalogue document and build its actions."""
    if not isinstance(document, dict) or not isinstance(document.get("actions"), dict):
        raise CatalogueError("catalogue: expected a mapping with an 'actions' mapping")
    actions: dict[str, Action] = {}
    for name, spec in document["actions"].items():
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
        actions[str(name)] = Action(
            name=str(name),
            summary=spec.get("summary", "").strip(),
            description=spec.get("description", "").strip(),
            admin_only=bool(spec.get("admin_only", False)),
            kind=kind,
            flowgraph=flowgraph,
            parameters=dict(parameters),
            base_dir=base_dir,
            records=bool(spec.get("records", kind == KIND_FLOWGRAPH)),
        )
    return actions
