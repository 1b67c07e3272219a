"""Compile ``.grc`` flowgraphs into a content-addressed cache, and import them.

Compiling means running :mod:`scos_gr.flowgraphs.grc_compile` in a child process: GNU Radio
Companion's own Platform loads, validates and evaluates the flowgraph, the action rules are
checked, and the Python top block is generated, with a report (``report.json``: the problems
found, in GRC's and our words, and the flowgraph's Parameter blocks with their defaults). A
failed compile is cached too, so a broken file costs one compile, not one per request.

The cache key is a hash of the .grc file's bytes, the GNU Radio installation, the scos block
definitions and the compiler's own rules (each changes the result), so a flowgraph saved in
GRC is compiled again before its next use while unchanged ones are compiled once. A cache
entry is built in a temporary directory renamed into place: a crash mid-compile never leaves a
half-written entry. Besides the data directory's cache, a read-only cache filled at install
time (``make deps``) is looked up first, so a fresh data directory needs no compile at all.

This module never imports GNU Radio (the web process uses it to check the catalogue); only the
child process and :func:`load_top_block_class` (the worker) do.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from scos_gr.errors import FlowgraphError

#: seconds a compile may take (GRC loads its whole block library first: about 1-2 s)
COMPILE_TIMEOUT_S = 180


class CompileError(FlowgraphError):
    """A flowgraph cannot be used: GRC refused it, or it breaks an action rule. The message
    names the file, the blocks and the values."""


class ParameterError(FlowgraphError, ValueError):
    """A value given for a flowgraph's Parameter block does not fit it (unknown name, wrong type)."""


@dataclass(frozen=True)
class CompiledFlowgraph:
    """A flowgraph that compiled: its generated module and its Parameter blocks."""

    grc_path: Path
    module_path: Path
    class_name: str
    key: str
    #: name -> {"type": GRC type, "default": evaluated default}
    parameters: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the Parameters whose generated setter reaches every block that uses them
    #: (``grc_compile.settable_parameters``): they can be given after the top block is built
    settable: tuple[str, ...] = ()

    def defaults(self) -> dict[str, Any]:
        """Each Parameter block's default value (what the .grc says)."""
        return {name: p["default"] for name, p in self.parameters.items()}


def grc_blocks_path() -> str:
    """GRC_BLOCKS_PATH for the compiler: where the scos .block.yml files are installed.

    The venv (``make deps``) installs them under ``sys.prefix/share/gnuradio/grc/blocks``; a
    system install (``cmake --install``) under ``/usr/local``; the source tree is the fallback.
    """
    candidates = [
        *(p for p in os.environ.get("GRC_BLOCKS_PATH", "").split(os.pathsep) if p),
        os.path.join(sys.prefix, "share", "gnuradio", "grc", "blocks"),
        "/usr/local/share/gnuradio/grc/blocks",
        str(Path(__file__).resolve().parent.parent / "blocks" / "grc"),
    ]
    seen: list[str] = []
    for c in candidates:
        if os.path.isdir(c) and c not in seen:
            seen.append(c)
    return os.pathsep.join(seen)


def installed_cache_dir() -> Path:
    """Where ``make deps`` puts the shipped flowgraphs, compiled (read-only at run time)."""
    return Path(sys.prefix) / "share" / "scos-gr" / "flowgraph-cache"


def _digest_files(digest: Any, paths: Iterable[Path]) -> None:
    for path in paths:
        digest.update(path.name.encode())
        digest.update(path.read_bytes())


def _gnuradio_fingerprint() -> str:
    """What identifies the installed GNU Radio, read without importing it (the web process must
    not): the size and time of its Python package's files that generate code."""
    locations = _gnuradio_locations()
    if not locations:
        return "no-gnuradio"
    parts = []
    for location in locations:
        for relative in ("__init__.py", "gr/__init__.py", "grc/core/platform.py",
                         "grc/core/generator/flow_graph.py.mako"):
            try:
                stat = os.stat(os.path.join(location, relative))
            except OSError:
                continue
            parts.append(f"{relative}:{stat.st_size}:{stat.st_mtime_ns}")
    return ";".join(parts)


@functools.lru_cache(maxsize=1)
def _gnuradio_locations() -> tuple[str, ...]:
    """Where the gnuradio package is (looked up once: it does not move while a process runs)."""
    spec = importlib.util.find_spec("gnuradio")
    return tuple(spec.submodule_search_locations or ()) if spec is not None else ()


def _compiler_digest() -> str:
    """The compiler's own rules (and the window table they use) are part of every result."""
    digest = hashlib.sha256()
    _digest_files(digest, _compiler_inputs())
    return digest.hexdigest()


def cache_key(grc_path: Path, blocks_path: str | None = None) -> str:
    """The compile cache's key of ``grc_path``: a hash of every file the result depends on.

    Reading and hashing those files costs about 1 ms, paid by every task; so the key is kept,
    per file, with the size, time and inode of each input, and read again only when one of them
    changes. Files changed within the last :data:`RACY_S` seconds are always read (a file
    rewritten within the filesystem's clock tick keeps its time; git calls this "racy").
    """
    blocks_path = blocks_path or grc_blocks_path()
    inputs = [Path(grc_path), *_compiler_inputs(), *_block_definitions(blocks_path)]
    stamp = (_gnuradio_fingerprint(), blocks_path, tuple(_file_stamp(f) for f in inputs))
    memo = (str(grc_path), blocks_path)
    known = _keys.get(memo)
    if known is not None and known[0] == stamp:
        return known[1]
    digest = hashlib.sha256()
    digest.update(Path(grc_path).read_bytes())
    digest.update(_gnuradio_fingerprint().encode())
    for directory in blocks_path.split(os.pathsep):
        _digest_files(digest, sorted(Path(directory).glob("scos_*.block.yml")))
    digest.update(_compiler_digest().encode())
    key = digest.hexdigest()[:20]
    newest = max((t[1] for t in stamp[2] if t is not None), default=0)
    if time.time_ns() - newest > RACY_S * 1e9:
        _keys[memo] = (stamp, key)
    else:
        _keys.pop(memo, None)
    return key


#: seconds within which a file's time cannot be trusted to show a change (the clock tick of the
#: filesystem's timestamps, with a wide margin)
RACY_S = 2.0
#: (grc path, blocks path) -> (the inputs' stamps, the key they gave)
_keys: dict[tuple[str, str], tuple[tuple, str]] = {}


def _file_stamp(path: Path) -> tuple[int, int, int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_size, max(st.st_mtime_ns, st.st_ctime_ns), st.st_ino, st.st_dev)


@functools.lru_cache(maxsize=1)
def _compiler_inputs() -> tuple[Path, ...]:
    from scos_gr.sigmf_out import windows

    return Path(__file__).resolve().parent / "grc_compile.py", Path(windows.__file__).resolve()


#: blocks path -> (its folders' stamps, the scos block definitions found in them)
_definitions: dict[str, tuple[tuple, list[Path]]] = {}


def _block_definitions(blocks_path: str) -> list[Path]:
    """The scos ``.block.yml`` files on ``blocks_path``, listed again only when a folder changes
    (adding or removing a file changes its folder's time)."""
    folders = blocks_path.split(os.pathsep)
    stamp = tuple(_file_stamp(Path(d)) for d in folders)
    known = _definitions.get(blocks_path)
    if known is not None and known[0] == stamp and all(s is not None and time.time_ns() - s[1] > RACY_S * 1e9
                                                       for s in stamp):
        return known[1]
    found = [f for d in folders for f in sorted(Path(d).glob("scos_*.block.yml"))]
    _definitions[blocks_path] = (stamp, found)
    return found


_compile_lock = threading.Lock()


def compile_flowgraph(grc_path: Path, cache_dir: Path, installed: Path | None = None) -> CompiledFlowgraph:
    """The compiled flowgraph of ``grc_path``, compiling only when no cache holds it; raises
    :class:`CompileError` with every problem found (also when a cached compile failed).

    ``installed``: a read-only cache looked up first (default :func:`installed_cache_dir`).
    """
    grc_path = Path(grc_path).resolve()
    if not grc_path.is_file():
        raise CompileError(f"flowgraph file {grc_path} not found")
    blocks_path = grc_blocks_path()
    key = cache_key(grc_path, blocks_path)
    entry = f"{grc_path.stem}-{key}"
    for directory in (installed or installed_cache_dir(), Path(cache_dir)):
        if (directory / entry / "report.json").is_file():
            return _result(grc_path, directory / entry, key)
    target = Path(cache_dir) / entry
    with _compile_lock:
        if not (target / "report.json").is_file():
            _compile_into(grc_path, target, blocks_path)
    return _result(grc_path, target, key)


def _compile_into(grc_path: Path, target: Path, blocks_path: str, values_file: Path | None = None) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{grc_path.stem}-", dir=target.parent))
    try:
        env = dict(os.environ, GRC_BLOCKS_PATH=blocks_path)
        command = [sys.executable, "-m", "scos_gr.flowgraphs.grc_compile", str(staging), str(grc_path)]
        proc = subprocess.run(command + ([str(values_file)] if values_file else []),
                              capture_output=True, text=True, env=env, timeout=COMPILE_TIMEOUT_S)
        if not (staging / "report.json").is_file():  # the compiler itself broke: say what it said
            lines = (proc.stderr or proc.stdout).strip().splitlines()
            raise CompileError(f"{grc_path.name} could not be compiled: " + " | ".join(lines[-8:]))
        try:
            staging.rename(target)
        except OSError:
            if not (target / "report.json").is_file():  # another process won the race with the same result
                raise
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


def _result(grc_path: Path, entry: Path, key: str) -> CompiledFlowgraph:
    report = _reports.get(entry)
    if report is None:  # an entry's report never changes once it is in place: read it once
        report = _reports[entry] = json.loads((entry / "report.json").read_text(encoding="utf-8"))
    if not report.get("ok"):
        raise CompileError("; ".join(report.get("problems") or [f"{grc_path.name}: does not compile"]))
    return CompiledFlowgraph(grc_path=grc_path, module_path=entry / report["module"], class_name=report["class_name"],
                             key=key, parameters=dict(report.get("parameters") or {}),
                             settable=tuple(report.get("settable") or ()))


#: cache entry -> its report.json, parsed
_reports: dict[Path, dict[str, Any]] = {}
_class_cache: dict[Path, type] = {}


def load_top_block_class(compiled: CompiledFlowgraph) -> type:
    """Import the generated module once per cache entry and return its top block class."""
    with _compile_lock:
        cls = _class_cache.get(compiled.module_path)
        if cls is None:
            module_name = f"scos_flowgraph_{compiled.class_name}_{compiled.key}"
            spec = importlib.util.spec_from_file_location(module_name, compiled.module_path)
            assert spec and spec.loader
            module = importlib.util.module_from_spec(spec)
            # GRC writes an Embedded Python Block as a module beside the flowgraph's and imports it
            # by its plain name: import it from this entry, never a stale one of an earlier version
            folder = str(compiled.module_path.parent)
            for sibling in compiled.module_path.parent.glob("*.py"):
                if sibling != compiled.module_path:
                    sys.modules.pop(sibling.stem, None)
            sys.path.insert(0, folder)
            try:
                spec.loader.exec_module(module)
            finally:
                sys.path.remove(folder)
            cls = getattr(module, compiled.class_name)
            _class_cache[compiled.module_path] = cls
    return cls


def check_values(compiled: CompiledFlowgraph, values: Mapping[str, Any]) -> dict[str, Any]:
    """``values`` for the flowgraph's Parameter blocks, converted to the type of each block's default
    (so ``num_ffts: 3e2`` in YAML still gives an int); ParameterError naming an unknown block or a
    value that does not fit."""
    known = compiled.parameters
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ParameterError(f"{compiled.grc_path.name}: unknown flowgraph parameter(s) {unknown}; "
                             f"the flowgraph has {sorted(known)}")
    checked: dict[str, Any] = {}
    for name, value in values.items():
        kind = _PARAMETER_TYPES.get(known[name].get("type"), type(known[name].get("default")))
        try:
            if value is None or kind in (bool, type(None)):
                checked[name] = value
            elif kind is int:
                as_float = float(value)
                if isinstance(value, bool) or as_float != int(as_float):
                    raise ValueError
                checked[name] = int(as_float)
            elif kind is float or kind is complex:
                if isinstance(value, bool):
                    raise ValueError
                checked[name] = kind(value)
            elif kind is str:
                checked[name] = str(value)
            else:
                checked[name] = value
        except (TypeError, ValueError):
            raise ParameterError(f"flowgraph parameter {name!r}: {value!r} is not a valid {kind.__name__}") from None
    return checked


#: GRC Parameter block types -> the Python type of their values
_PARAMETER_TYPES = {"eng_float": float, "real": float, "float": float, "intx": int, "int": int, "long": int,
                    "short": int, "str": str, "complex": complex}


def check_flowgraph_with(grc_path: Path, values: dict[str, Any], cache_dir: Path) -> None:
    """Check the flowgraph as it runs with ``values`` in its Parameter blocks (the rules of
    :mod:`.grc_compile` applied to the values an action sets); CompileError with the problems.
    Cached by the file's key and the values."""
    grc_path = Path(grc_path).resolve()
    key = cache_key(grc_path)
    values_key = hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()[:16]
    target = Path(cache_dir) / f"{grc_path.stem}-{key}-values-{values_key}"
    with _compile_lock:
        if not (target / "report.json").is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile("w", suffix=".json", dir=target.parent, delete=False) as f:
                json.dump(values, f)
            try:
                _compile_into(grc_path, target, grc_blocks_path(), values_file=Path(f.name))
            finally:
                os.unlink(f.name)
    report = json.loads((target / "report.json").read_text(encoding="utf-8"))
    if not report.get("ok"):
        raise CompileError("; ".join(report.get("problems") or [f"{grc_path.name}: does not compile"]))


def compile_shipped(grc_files: Iterable[Path], into: Path) -> list[str]:
    """Compile ``grc_files`` into the install-time cache ``into`` (``make deps``); the problems found
    (a shipped flowgraph that does not compile is reported, not fatal: the catalogue shows it)."""
    problems = []
    for grc in grc_files:
        try:
            compile_flowgraph(grc, into, installed=into)
        except CompileError as exc:
            problems.append(str(exc))
    return problems


if __name__ == "__main__":  # make deps: python -m scos_gr.flowgraphs.compiler
    from scos_gr.config import shipped_catalogue

    shipped = sorted(shipped_catalogue().parent.glob("*.grc"))
    for problem in compile_shipped(shipped, installed_cache_dir()):
        print(f"warning: {problem}", file=sys.stderr)
    print(f"compiled {len(shipped)} shipped flowgraph(s) into {installed_cache_dir()}")
