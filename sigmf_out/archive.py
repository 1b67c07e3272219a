"""Streamed SigMF archives: a ``.sigmf`` tar generated on the fly from recordings on disk.

The API serves ``GET .../archive`` with this: the tar headers are built with
``tarfile.TarInfo.tobuf``, file contents are read in chunks as the client consumes them, and the
exact ``Content-Length`` is known before the first byte (headers, contents, padding to 512-byte
blocks, two end-of-archive blocks, padding to a 10 KiB record, as GNU tar and Python's tarfile
write it). Nothing is copied to a temporary file, memory stays at about one chunk whatever the
recording's size, and every header field (mtime from the file, owner 0/0, fixed modes) comes
from the files, so two downloads of the same recording are byte-identical.

Layout (SigMF archive; api spec): per recording a directory ``{dirname}/`` holding
``{dirname}/{dirname}.sigmf-meta`` and ``{dirname}/{dirname}.sigmf-data``. The API names it
``{entry}_{task_id}``; a per-entry archive holds one such directory per task.

sigmf-python's ``fromarchive()`` (SigMFArchiveReader) reads a single recording per archive: it
takes the last ``.sigmf-meta`` and the first ``.sigmf-data`` member it finds, so on a
multi-recording archive it pairs different recordings and fails the checksum.
:func:`recordings_in_archive` loads every recording of such an archive with sigmf-python.
"""
from __future__ import annotations

import io
import json
import os
import tarfile
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator, Sequence

from scos_gr.errors import RecordingError

BLOCK = tarfile.BLOCKSIZE  # 512
RECORD = tarfile.RECORDSIZE  # 20 blocks
DEFAULT_CHUNK = 1 << 20


class ArchiveError(RecordingError, OSError):
    """A file changed (shrank or vanished) while its archive was being streamed."""


@dataclass(frozen=True)
class ArchiveMember:
    """One recording in an archive: stored as ``{dirname}/{dirname}.sigmf-meta|-data``."""

    dirname: str
    meta_path: Path
    data_path: Path


@dataclass(frozen=True)
class _Part:
    header: bytes
    path: Path | None  # None for a directory entry
    size: int


class ArchiveStream:
    """An iterable of ``bytes`` chunks forming a SigMF archive of ``members``.

    The files are stat'ed here (``FileNotFoundError`` if one is missing, so the API can answer
    404 before sending headers); they are opened one at a time while iterating. Each
    ``iter()`` starts a fresh, identical stream. ``close()`` (called by WSGI servers) closes any
    stream in progress.
    """

    def __init__(self, members: Sequence[ArchiveMember], chunk_size: int = DEFAULT_CHUNK) -> None:
        if chunk_size < BLOCK:
            raise ValueError(f"chunk_size must be at least {BLOCK}")
        self.chunk_size = int(chunk_size)
        self.members = list(members)
        names = [m.dirname for m in self.members]
        if len(set(names)) != len(names):
            raise ValueError("archive member directory names must be distinct")
        self._parts: list[_Part] = []
        for member in self.members:
            self._parts.extend(_member_parts(member))
        body = sum(len(p.header) + _padded(p.size) for p in self._parts) + 2 * BLOCK
        self._trailer = 2 * BLOCK + (-body % RECORD)
        self.content_length: int = body - 2 * BLOCK + self._trailer
        self._running: weakref.WeakSet = weakref.WeakSet()

    def __len__(self) -> int:
        return self.content_length

    def __iter__(self) -> Iterator[bytes]:
        generator = self._generate()
        self._running.add(generator)
        return generator

    def close(self) -> None:
        for generator in list(self._running):
            generator.close()

    def _generate(self) -> Iterator[bytes]:
        for part in self._parts:
            yield part.header
            if part.path is None:
                continue
            with open(part.path, "rb") as f:
                remaining = part.size
                while remaining:
                    chunk = f.read(min(self.chunk_size, remaining))
                    if not chunk:
                        raise ArchiveError(f"{part.path} shrank while it was being archived")
                    remaining -= len(chunk)
                    yield chunk
            padding = -part.size % BLOCK
            if padding:
                yield bytes(padding)
        yield bytes(self._trailer)


def _member_parts(member: ArchiveMember) -> list[_Part]:
    dirname = member.dirname
    if not dirname or "/" in dirname or "\\" in dirname or dirname in (".", "..") or "\0" in dirname:
        raise ValueError(f"invalid archive directory name {dirname!r}")
    meta_stat = os.stat(member.meta_path)
    data_stat = os.stat(member.data_path)
    directory = _header(dirname + "/", tarfile.DIRTYPE, 0o755, 0, int(meta_stat.st_mtime))
    meta = _header(f"{dirname}/{dirname}.sigmf-meta", tarfile.REGTYPE, 0o644, meta_stat.st_size,
                   int(meta_stat.st_mtime))
    data = _header(f"{dirname}/{dirname}.sigmf-data", tarfile.REGTYPE, 0o644, data_stat.st_size,
                   int(data_stat.st_mtime))
    return [
        _Part(directory, None, 0),
        _Part(meta, Path(member.meta_path), meta_stat.st_size),
        _Part(data, Path(member.data_path), data_stat.st_size),
    ]


def _header(name: str, kind: bytes, mode: int, size: int, mtime: int) -> bytes:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.mtime = mtime
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    # PAX format writes a plain POSIX ustar header when every field fits (names < 100 bytes,
    # sizes < 8 GiB) and adds a pax extended header only when one does not.
    return info.tobuf(format=tarfile.PAX_FORMAT, encoding="utf-8", errors="strict")


def _padded(size: int) -> int:
    return size + (-size % BLOCK)


def recordings_in_archive(archive: str | os.PathLike | IO[bytes]) -> dict[str, "object"]:
    """Every recording of a (multi-recording) SigMF archive as sigmf-python ``SigMFFile``s,
    keyed by directory name; each is validated and its ``core:sha512`` checked.

    Reads the data into memory: meant for tests and tools, not for serving.
    """
    from sigmf import SigMFFile

    if isinstance(archive, (str, os.PathLike)):
        tar = tarfile.open(archive, mode="r:")
    else:
        tar = tarfile.open(fileobj=archive, mode="r:")
    found: dict[str, dict[str, bytes]] = {}
    with tar:
        for info in tar.getmembers():
            if not info.isfile():
                continue
            dirname, _, filename = info.name.partition("/")
            for ext in ("sigmf-meta", "sigmf-data"):
                if filename == f"{dirname}.{ext}":
                    found.setdefault(dirname, {})[ext] = tar.extractfile(info).read()
    recordings = {}
    for dirname, files in found.items():
        if set(files) != {"sigmf-meta", "sigmf-data"}:
            raise ValueError(f"archive directory {dirname!r} lacks its metadata or data file")
        recording = SigMFFile(metadata=json.loads(files["sigmf-meta"]))
        recording.validate()
        recording.set_data_file(data_buffer=io.BytesIO(files["sigmf-data"]), size_bytes=len(files["sigmf-data"]))
        recordings[dirname] = recording
    return recordings
