"""Atomic SigMF recording writes: a recording is either complete on disk or absent.

A recording is two files, ``{basename}.sigmf-data`` and ``{basename}.sigmf-meta``. Each is
written under a hidden temporary name in the destination directory
(``.{basename}.sigmf-data.tmp-XXXX``), fsynced and renamed into place; the data file first, the
metadata last, then the directory is fsynced. So a complete ``.sigmf-meta`` always has its data
beside it, and a crash can only leave hidden temp files or a data file without metadata, which
:func:`sweep_leftovers` removes at start-up. Metadata is validated with sigmf-python (and its
``core:sha512`` set from the data) before anything is renamed into place; any error removes
everything this call wrote.
"""
from __future__ import annotations

import errno
import functools
import glob
import hashlib
import json
import os
import re
import secrets
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

import numpy as np

from scos_gr.errors import RecordingError

META_EXT = ".sigmf-meta"
DATA_EXT = ".sigmf-data"
_CHUNK = 1 << 20
_TEMP_RE = re.compile(r"^\..+\.sigmf-(data|meta)\.tmp-[0-9A-Za-z_-]+$")

#: SigMF datatype -> numpy dtype of one sample
_DTYPES = {
    "rf32_le": np.dtype("<f4"),
    "cf32_le": np.dtype("<c8"),
    "rf64_le": np.dtype("<f8"),
    "cf64_le": np.dtype("<c16"),
    "ri16_le": np.dtype("<i2"),
    "ri8": np.dtype("i1"),
    "ru8": np.dtype("u1"),
}


class InvalidRecording(RecordingError, ValueError):
    """The recording is inconsistent or its metadata is invalid; nothing was written."""


@dataclass(frozen=True)
class Recording:
    """A complete recording on disk: what a sink wrote, what the task's acquisition row holds.

    The one type that travels from the block that wrote it, through the runner and the worker's
    pipe, to the scheduler that records it (``metadata`` is the ``.sigmf-meta`` content).
    """

    meta_path: Path
    data_path: Path
    sha512: str
    data_bytes: int
    metadata: dict[str, Any]


def temp_data_path(directory: Path | str, basename: str) -> Path:
    """A hidden temp name for a data file that a GNU Radio file sink writes before
    :func:`finalize_recording` renames it (so :func:`sweep_leftovers` cleans it after a crash)."""
    return _temp_name(Path(directory), basename + DATA_EXT)


def write_recording(directory: Path | str, basename: str, data: np.ndarray, metadata: Mapping[str, Any]) -> Recording:
    """Write ``data`` and ``metadata`` as ``{directory}/{basename}.sigmf-data|-meta``, atomically.

    ``data`` is converted to the dtype of the metadata's ``core:datatype`` (a float32 array for
    ``rf32_le``, complex64 for ``cf32_le``; a cast that would lose information is refused).
    ``core:sha512`` is set from the bytes written. Raises :class:`RecordingError` for invalid
    metadata, ``FileExistsError`` if the recording's metadata already exists; leaves no file
    behind on any error.
    """
    directory = Path(directory)
    _check_basename(basename)
    metadata = _copy(metadata)
    dtype = _dtype_of(metadata)
    array = np.asarray(data)
    if array.dtype != dtype and not np.can_cast(array.dtype, dtype, casting="same_kind"):
        raise InvalidRecording(f"data of dtype {array.dtype} cannot be stored as {metadata['global']['core:datatype']}")
    payload = np.ascontiguousarray(array, dtype=dtype).reshape(-1)
    raw = memoryview(payload).cast("B")
    digest = hashlib.sha512(raw).hexdigest()
    metadata["global"]["core:sha512"] = digest
    meta_bytes = _meta_bytes(metadata)

    meta_path, data_path = recording_paths(directory, basename)
    if meta_path.exists():
        raise FileExistsError(f"recording {meta_path} already exists")
    directory.mkdir(parents=True, exist_ok=True)
    created: list[Path] = []
    try:
        # both temp files are made durable by another thread while this one validates the
        # metadata (the schema check is pure Python, 1-2 ms; an fsync waits on the disk): the
        # task waits for the longer of the two, not for their sum. Nothing is renamed into place
        # before both are done, so invalid metadata still leaves nothing behind.
        files = [_write_unsynced(directory, basename + DATA_EXT, raw, created),
                 _write_unsynced(directory, basename + META_EXT, meta_bytes, created)]
        syncing = _Fsyncs([fd for _, fd in files])
        try:
            _validate(metadata, len(raw), dtype)
        finally:
            syncing.join()
        (data_tmp, _), (meta_tmp, _) = files
        _rename(data_tmp, data_path, created)
        _rename(meta_tmp, meta_path, created)
        _fsync_dir(directory)
    except BaseException:
        _discard(created)
        raise
    return Recording(meta_path=meta_path, data_path=data_path, sha512=digest, data_bytes=len(raw), metadata=metadata)


class _Fsyncs(threading.Thread):
    """fsync and close file descriptors in a thread of their own; :meth:`join` raises what failed."""

    def __init__(self, fds: list[int]) -> None:
        super().__init__(name="recording-fsync", daemon=True)
        self._fds = fds
        self._error: BaseException | None = None
        self.start()

    def run(self) -> None:
        for fd in self._fds:
            try:
                if self._error is None:
                    os.fsync(fd)
            except BaseException as exc:  # noqa: BLE001 - handed to the writer by join()
                self._error = exc
            finally:
                os.close(fd)

    def join(self, timeout: float | None = None) -> None:
        super().join(timeout)
        if self._error is not None:
            raise self._error


def finalize_recording(directory: Path | str, basename: str, data_path_tmp: Path | str,
                       metadata: Mapping[str, Any], expected_bytes: int | None = None,
                       sha512: str | None = None) -> Recording:
    """Complete a recording whose data another writer (a GNU Radio file sink) put in a temp file.

    ``sha512``: the data's SHA-512, computed by whoever saw the bytes on their way to the file
    (``iq_sink``'s probe): the file is then never read back, which for a large capture was a
    second pass as long as the capture itself. None: the file is hashed here, in chunks.
    ``expected_bytes``: what the writer was given to write; a shorter file is refused
    (:class:`DiskFull` when the filesystem is full: a file sink stops writing there without a
    word). The temp file is fsynced (once) and renamed to ``{basename}.sigmf-data`` (copied
    first if it lives on another filesystem), then the metadata (with ``core:sha512``) is
    written atomically. On any error the temp file and everything written here are removed,
    and the error is raised.
    """
    directory = Path(directory)
    data_path_tmp = Path(data_path_tmp)
    created: list[Path] = [data_path_tmp]
    try:
        _check_basename(basename)
        metadata = _copy(metadata)
        dtype = _dtype_of(metadata)
        if sha512 is None:
            hasher = hashlib.sha512()
            with open(data_path_tmp, "rb") as f:
                for chunk in iter(lambda: f.read(_CHUNK), b""):
                    hasher.update(chunk)
            sha512 = hasher.hexdigest()
        digest = sha512
        size = data_path_tmp.stat().st_size
        metadata["global"]["core:sha512"] = digest
        if expected_bytes is not None and size < expected_bytes:
            raise short_file_error(data_path_tmp, size, expected_bytes)
        _validate(metadata, size, dtype)
        meta_bytes = _meta_bytes(metadata)

        meta_path, data_path = recording_paths(directory, basename)
        if meta_path.exists():
            raise FileExistsError(f"recording {meta_path} already exists")
        directory.mkdir(parents=True, exist_ok=True)
        _fsync_file(data_path_tmp)
        meta_tmp = _write_temp(directory, basename + META_EXT, meta_bytes, created)
        try:
            _rename(data_path_tmp, data_path, created)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            local = _copy_temp(data_path_tmp, directory, basename + DATA_EXT, created)
            _rename(local, data_path, created)
            data_path_tmp.unlink()
        _rename(meta_tmp, meta_path, created)
        _fsync_dir(directory)
    except OSError as exc:
        _discard(created)
        if exc.errno in FULL_DISK_ERRNOS and not isinstance(exc, DiskFull):
            raise DiskFull(exc.errno, f"disk full: No space left on device (ENOSPC) in {directory}: the recording "
                                      "could not be written; nothing was kept", str(directory)) from exc
        raise
    except BaseException:
        _discard(created)
        raise
    return Recording(meta_path=meta_path, data_path=data_path, sha512=digest, data_bytes=size, metadata=metadata)


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Ask the kernel to start writing ``length`` bytes of the file ``fd`` from ``offset`` to
    disk now, without waiting (Linux ``sync_file_range(SYNC_FILE_RANGE_WRITE)``; elsewhere
    nothing). A writer that calls it as its data grows overlaps the disk's work with its own,
    so the fsync that makes the file durable has only the tail left to wait for. It promises
    no durability itself."""
    call = _sync_file_range()
    if call is not None:
        call(fd, offset, length, _SYNC_FILE_RANGE_WRITE)


_SYNC_FILE_RANGE_WRITE = 2


@functools.lru_cache(maxsize=1)
def _sync_file_range() -> Any:
    try:
        import ctypes

        call = ctypes.CDLL(None, use_errno=True).sync_file_range
    except (OSError, AttributeError):
        return None
    call.argtypes = [ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint]
    call.restype = ctypes.c_int
    return call


def recording_paths(directory: Path | str, basename: str) -> tuple[Path, Path]:
    """Where the recording ``basename`` lives in ``directory``: (metadata path, data path)."""
    directory = Path(directory)
    return directory / (basename + META_EXT), directory / (basename + DATA_EXT)


def remove_recording(meta_path: Path | str, data_path: Path | str, root: Path | str | None = None) -> list[Path]:
    """Delete a recording, complete or partial: metadata first (so it stops being a recording at
    once), then data, then any hidden temp file a writer left for either name.

    The one way scos-gr deletes a recording (a failed task's output, the API's DELETE, start-up
    recovery, data retention). Missing files are not an error. Returns the paths actually
    removed. With ``root`` (the data directory), nothing is removed when a directory between
    ``root`` and a file is a symbolic link (it would delete files elsewhere):
    :class:`~scos_gr.sigmf_out.archive.DamagedRecording` says which.
    """
    meta_path, data_path = Path(meta_path), Path(data_path)
    if root is not None:
        real_root = Path(os.path.realpath(root))
        for path in (meta_path, data_path):
            if Path(os.path.realpath(path.parent)) != real_root / path.parent.relative_to(root):
                from scos_gr.sigmf_out.archive import DamagedRecording

                raise DamagedRecording(path, "a directory on its path is a symbolic link; nothing removed")
    temps = [t for p in (meta_path, data_path) if p.parent.is_dir() for t in sorted(p.parent.glob(f".{glob.escape(p.name)}.tmp-*"))]
    return _unlink(meta_path, data_path, *temps)


def _unlink(*paths: Path) -> list[Path]:
    """Remove ``paths`` in order (missing ones skipped), fsync their folders; what was removed."""
    removed = []
    for path in paths:
        try:
            path.unlink()
        except FileNotFoundError:
            continue
        removed.append(path)
    for parent in {p.parent for p in removed}:
        _fsync_dir(parent)
    return removed


def sweep_leftovers(directory: Path | str) -> list[Path]:
    """Remove what an interrupted write can leave under ``directory`` (searched recursively):
    hidden ``.*.sigmf-data|meta.tmp-*`` files and ``.sigmf-data`` files without their
    ``.sigmf-meta``. Run it at start-up, when no recording is being written. Returns what it
    removed (sorted)."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    leftovers = []
    for root, _dirs, files in os.walk(directory):
        names = set(files)
        for name in files:
            orphan = name.endswith(DATA_EXT) and not name.startswith(".") and \
                (name[: -len(DATA_EXT)] + META_EXT) not in names
            if _TEMP_RE.match(name) or orphan:
                leftovers.append(Path(root) / name)
    return sorted(_unlink(*leftovers))


def read_metadata(meta_path: Path | str) -> dict[str, Any]:
    """The metadata of a recording, as a dict."""
    return json.loads(Path(meta_path).read_text(encoding="utf-8"))


# ---------------------------------------------------------------------------------------------

def _check_basename(basename: str) -> None:
    if not basename or "/" in basename or "\\" in basename or basename.startswith(".") or "\0" in basename:
        raise InvalidRecording(f"invalid recording basename {basename!r}")


def _copy(metadata: Mapping[str, Any]) -> dict[str, Any]:
    try:
        copied = json.loads(json.dumps(metadata, allow_nan=False))
    except (TypeError, ValueError) as exc:
        raise InvalidRecording(f"metadata is not JSON-serialisable: {exc}") from exc
    if not isinstance(copied, dict) or not isinstance(copied.get("global"), dict):
        raise InvalidRecording("metadata needs a 'global' object")
    return copied


def _dtype_of(metadata: Mapping[str, Any]) -> np.dtype:
    datatype = metadata["global"].get("core:datatype")
    try:
        return _DTYPES[datatype]
    except KeyError:
        raise InvalidRecording(f"unsupported core:datatype {datatype!r}") from None


#: the errnos of a write that found no room: a full filesystem, or the user's quota
FULL_DISK_ERRNOS = (errno.ENOSPC, errno.EDQUOT)


class DiskFull(RecordingError, OSError):
    """A writer ran out of space (``errno`` ENOSPC): the data file holds less than the capture
    produced."""

    def __str__(self) -> str:
        return str(self.strerror)


def short_file_error(path: Path | str, data_bytes: int, expected: int) -> RecordingError:
    """Why the data file ``path`` holds ``data_bytes`` of the ``expected``: :class:`DiskFull` when
    its filesystem has no room for the rest (a writer met a full disk), else
    :class:`InvalidRecording` (an inconsistent writer)."""
    path = Path(path)
    try:
        st = os.statvfs(path.parent)
        free = st.f_bavail * st.f_frsize
    except OSError:
        free = None
    if free is not None and free < expected - data_bytes:
        return DiskFull(errno.ENOSPC, f"disk full: No space left on device (ENOSPC) in {path.parent} ({free} bytes "
                                      f"free): the recording got {data_bytes} of its {expected} bytes; nothing was kept",
                        str(path))
    return InvalidRecording(f"the data file holds {data_bytes} of the {expected} bytes written to it")


def warm_up() -> None:
    """Compile the SigMF schema now (imports and compile: 15-50 ms), not in a process's first
    recording."""
    _schema_validator()


@functools.lru_cache(maxsize=1)
def _schema_validator() -> Any:
    """sigmf-python's SigMF schema, compiled once into a jsonschema validator.

    sigmf-python's own ``validate()`` calls ``jsonschema.validate``, which checks the schema
    against its meta-schema and compiles it on every call: about 15-50 ms of a task's time here,
    for a schema that never changes while the process runs.
    """
    import jsonschema
    from sigmf import schema

    document = schema.get_schema()
    return jsonschema.validators.validator_for(document)(document)


def _namespaces(metadata: dict[str, Any]) -> tuple[set[str], set[str]]:
    """(used, declared) extension namespaces of a recording's metadata."""
    used = set()
    for section in metadata.values():
        for item in section if isinstance(section, list) else [section]:
            if isinstance(item, dict):
                used |= {key.split(":", 1)[0] for key in item if ":" in key}
    declared = {str(ext.get("name", "")).split(":")[0] for ext in metadata["global"].get("core:extensions", [])}
    return used - {"core"}, declared


def _validate(metadata: dict[str, Any], data_bytes: int, dtype: np.dtype) -> None:
    """The SigMF schema (sigmf-python's), declared namespaces, the order of captures and
    annotations (what sigmf-python's validate checks), plus the checks the schema cannot make."""
    import jsonschema

    error = jsonschema.exceptions.best_match(_schema_validator().iter_errors(metadata))
    if error is not None:
        raise InvalidRecording(f"SigMF metadata invalid: {error.message}")
    used, declared = _namespaces(metadata)
    if used - declared:
        raise InvalidRecording(f"SigMF metadata invalid: undeclared extension namespace(s) "
                               f"{', '.join(sorted(used - declared))} in use (declare them in core:extensions)")
    for key in ("captures", "annotations"):
        starts = [item["core:sample_start"] for item in metadata.get(key, [])]
        if starts != sorted(starts):
            raise InvalidRecording(f"SigMF metadata invalid: {key} are not in sample_start order")
    channels = int(metadata["global"].get("core:num_channels", 1) or 1)
    sample_bytes = dtype.itemsize * channels
    if data_bytes % sample_bytes:
        raise InvalidRecording(f"data size {data_bytes} is not a multiple of the sample size {sample_bytes}")
    samples = data_bytes // sample_bytes
    for annotation in metadata.get("annotations", []):
        end = annotation["core:sample_start"] + annotation.get("core:sample_count", 0)
        if end > samples:
            raise InvalidRecording(f"annotation ends at sample {end} but the data holds {samples} samples")
    for capture in metadata.get("captures", []):
        if samples and capture["core:sample_start"] >= samples:
            raise InvalidRecording(f"capture starts at sample {capture['core:sample_start']} beyond the data ({samples})")


def _meta_bytes(metadata: dict[str, Any]) -> bytes:
    return (json.dumps(metadata, indent=2, sort_keys=False, allow_nan=False) + "\n").encode("utf-8")


def _temp_name(directory: Path, final_name: str) -> Path:
    return directory / f".{final_name}.tmp-{secrets.token_hex(6)}"


def _write_unsynced(directory: Path, final_name: str, payload: bytes | memoryview,
                    created: list[Path]) -> tuple[Path, int]:
    """Write ``payload`` to a new temp file; (its path, its still open descriptor, not fsynced)."""
    path = _temp_name(directory, final_name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o644)
    created.append(path)
    try:
        view = memoryview(payload).cast("B")
        while view:
            view = view[os.write(fd, view):]
    except BaseException:
        os.close(fd)
        raise
    return path, fd


def _write_temp(directory: Path, final_name: str, payload: bytes | memoryview, created: list[Path]) -> Path:
    path = _temp_name(directory, final_name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o644)
    created.append(path)
    with os.fdopen(fd, "wb") as f:
        f.write(payload)
        f.flush()
        os.fsync(f.fileno())
    return path


def _copy_temp(source: Path, directory: Path, final_name: str, created: list[Path]) -> Path:
    path = _temp_name(directory, final_name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    created.append(path)
    with os.fdopen(fd, "wb") as out, open(source, "rb") as src:
        for chunk in iter(lambda: src.read(_CHUNK), b""):
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())
    return path


def _rename(source: Path, target: Path, created: list[Path]) -> None:
    os.replace(source, target)
    if source in created:
        created.remove(source)
    created.append(target)


def _discard(paths: Iterable[Path]) -> None:
    for path in paths:
        try:
            os.unlink(path)
        except OSError:
            pass


def _fsync_file(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    """Make the renames durable (a no-op where directories cannot be opened, e.g. Windows)."""
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
