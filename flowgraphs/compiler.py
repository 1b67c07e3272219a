"""Compile ``.grc`` flowgraphs with ``grcc`` into a content-addressed cache, and import them.

The cache key is a hash of the .grc file's bytes (plus the GNU Radio version and the installed
scos block definitions, which change the generated code too), so a flowgraph saved in GNU Radio
Companion is compiled again before its next run while unchanged ones are compiled once.
Compilation goes to a temporary directory that is renamed into place: a crash mid-compile never
leaves a half-written module in the cache.
"""
from __future__ import annotations

import hashlib
import importlib.util
import inspect
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from scos_gr.errors import FlowgraphError


class CompileError(FlowgraphError):
    """grcc refused a flowgraph; the message holds grcc's own explanation."""


class ParameterError(FlowgraphError, ValueError):
    """A value given for a flowgraph's Parameter block does not fit it (unknown name, wrong type)."""


@dataclass(frozen=True)
class CompiledFlowgraph:
    grc_path: Path
    module_path: Path
    class_name: str
    key: str


def grc_blocks_path() -> str:
    """GRC_BLOCKS_PATH for grcc: where the scos .block.yml files are installed.

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


def _scos_block_definitions_digest(blocks_path: str) -> str:
    digest = hashlib.sha256()
    for directory in blocks_path.split(os.pathsep):
        for yml in sorted(Path(directory).glob("scos_*.block.yml")):
            digest.update(yml.name.encode())
            digest.update(yml.read_bytes())
    return digest.hexdigest()


def _gnuradio_version() -> str:
    try:
        from gnuradio import gr

        return gr.version()
    except Exception:  # pragma: no cover - GNU Radio is a hard dependency of the worker
        return "unknown"


def flowgraph_id(grc_path: Path) -> str:
    """The ``options.parameters.id`` of a .grc file: the generated top block's class name."""
    document = yaml.safe_load(grc_path.read_text(encoding="utf-8"))
    try:
        return str(document["options"]["parameters"]["id"])
    except (KeyError, TypeError) as exc:
        raise CompileError(f"{grc_path.name}: no options id in the flowgraph") from exc


_SYSTEM_BLOCK_DIRS = ("/usr/share/gnuradio/grc/blocks", "/usr/local/share/gnuradio/grc/blocks")
_ID_LINE = re.compile(r"^id:\s*['\"]?([A-Za-z0-9_]+)", re.MULTILINE)


def known_block_ids(blocks_path: str | None = None) -> set[str]:
    """Every block id GRC can load from its system paths and ``blocks_path``.

    grcc silently drops a block whose definition it cannot find and still generates a (wrong)
    flowgraph, so the compiler checks the ids itself before trusting grcc's result.
    """
    ids: set[str] = set()
    for directory in [*_SYSTEM_BLOCK_DIRS, *(blocks_path or grc_blocks_path()).split(os.pathsep)]:
        if not os.path.isdir(directory):
            continue
        for yml in Path(directory).rglob("*.block.yml"):
            match = _ID_LINE.search(yml.read_text(encoding="utf-8", errors="replace"))
            if match:
                ids.add(match.group(1))
    return ids


def check_block_ids(grc_path: Path, blocks_path: str | None = None) -> None:
    """Raise CompileError naming the file and every block whose definition GRC cannot find."""
    document = yaml.safe_load(grc_path.read_text(encoding="utf-8"))
    used = {str(b.get("id")) for b in (document.get("blocks") or []) if isinstance(b, dict)}
    missing = sorted(used - known_block_ids(blocks_path))
    if missing:
        raise CompileError(
            f"{grc_path.name}: unknown block(s) {', '.join(missing)}; is the scos OOT module "
            "installed (make deps) and GRC_BLOCKS_PATH right?"
        )


def cache_key(grc_path: Path, blocks_path: str | None = None) -> str:
    digest = hashlib.sha256()
    digest.update(grc_path.read_bytes())
    digest.update(_gnuradio_version().encode())
    digest.update(_scos_block_definitions_digest(blocks_path or grc_blocks_path()).encode())
    return digest.hexdigest()[:20]


_compile_lock = threading.Lock()


def compile_flowgraph(grc_path: Path, cache_dir: Path) -> CompiledFlowgraph:
    """Return the compiled module of ``grc_path``, running grcc only if the cache misses."""
    grc_path = Path(grc_path).resolve()
    blocks_path = grc_blocks_path()
    key = cache_key(grc_path, blocks_path)
    class_name = flowgraph_id(grc_path)
    target = Path(cache_dir) / f"{grc_path.stem}-{key}"
    module_path = target / f"{class_name}.py"
    with _compile_lock:
        if not module_path.is_file():
            check_block_ids(grc_path, blocks_path)
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".{grc_path.stem}-", dir=target.parent))
            try:
                env = dict(os.environ, GRC_BLOCKS_PATH=blocks_path)
                proc = subprocess.run(
                    ["grcc", "-o", str(staging), str(grc_path)],
                    capture_output=True, text=True, env=env, timeout=120,
                )
                produced = staging / f"{class_name}.py"
                if proc.returncode != 0 or not produced.is_file():
                    message = (proc.stderr or proc.stdout).strip().splitlines()
                    raise CompileError(f"grcc could not compile {grc_path.name}: " + " | ".join(message[-8:]))
                try:
                    staging.rename(target)
                except OSError:
                    if not module_path.is_file():  # another process won the race with the same result
                        raise
            finally:
                if staging.exists():
                    shutil.rmtree(staging, ignore_errors=True)
    return CompiledFlowgraph(grc_path=grc_path, module_path=module_path, class_name=class_name, key=key)


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
            spec.loader.exec_module(module)
            cls = getattr(module, compiled.class_name)
            _class_cache[compiled.module_path] = cls
    return cls


def parameter_names(top_block_class: type) -> list[str]:
    """The constructor arguments of a generated top block (its GRC Parameter blocks)."""
    return [n for n in inspect.signature(top_block_class.__init__).parameters if n != "self"]


def coerce_parameters(top_block_class: type, values: dict[str, Any]) -> dict[str, Any]:
    """Check ``values`` against the flowgraph's Parameter blocks, converting to their types.

    GRC Parameter blocks have typed defaults (int, float, str); a catalogue value is converted to
    the default's type so that e.g. ``num_ffts: 3e2`` in YAML still builds an int.
    """
    signature = inspect.signature(top_block_class.__init__)
    known = {n: p for n, p in signature.parameters.items() if n != "self"}
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ParameterError(f"unknown flowgraph parameter(s) {unknown}; the flowgraph has {sorted(known)}")
    coerced: dict[str, Any] = {}
    for name, value in values.items():
        default = known[name].default
        try:
            if isinstance(default, bool) or default is inspect.Parameter.empty or value is None:
                coerced[name] = value
            elif isinstance(default, int):
                as_float = float(value)
                if as_float != int(as_float):
                    raise ValueError
                coerced[name] = int(as_float)
            elif isinstance(default, float):
                coerced[name] = float(value)
            elif isinstance(default, str):
                coerced[name] = str(value)
            else:
                coerced[name] = value
        except (TypeError, ValueError):
            raise ParameterError(f"flowgraph parameter {name!r}: {value!r} is not a valid {type(default).__name__}") from None
    return coerced
