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

The data directory is not trusted (a person, or another program, may have put anything there):
every file is opened without following a symbolic link, in any component below the data
directory, and must be a regular file (a FIFO would block the thread that opens it); the data
file's size and SHA-512 and the metadata's content must be what the acquisition's row recorded.
Anything else is a :class:`DamagedRecording`, raised before the first byte is sent. Each file
stays open (and share-locked, so data retention leaves a recording alone while it is being
downloaded) until the stream is closed; a file changed meanwhile stops the stream.

sigmf-python's ``fromarchive()`` (SigMFArchiveReader) reads a single recording per archive: it
takes the last ``.sigmf-meta`` and the first ``.sigmf-data`` member it finds, so on a
multi-recording archive it pairs different recordings and fails the checksum.
:func:`recordings_in_archive` loads every recording of such an archive with sigmf-python.
"""
from __future__ import annotations

import errno
import fcntl
import hashlib
import io
import json
import os
import stat
import tarfile
import weakref
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Iterator, Sequence

from scos_gr.errors import RecordingError

BLOCK = tarfile.BLOCKSIZE  # 512
RECORD = tarfile.RECORDSIZE  # 20 blocks
DEFAULT_CHUNK = 1 << 20


#: a metadata file larger than this is not one scos-gr wrote (it is read whole to be checked)
MAX_META_BYTES = 64 << 20


class ArchiveError(RecordingError, OSError):
    """A file changed (shrank or vanished) while its archive was being streamed."""


class DamagedRecording(RecordingError):
    """A recording's file is not what its acquisition row says: a symbolic link, not a regular
    file, the wrong size, the wrong content. ``path`` names the file, ``reason`` says what is
    wrong."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path.name}: {reason}")
        self.path = path
        self.reason = reason


@dataclass(frozen=True)
class ArchiveMember:
    """One recording in an archive: stored as ``{dirname}/{dirname}.sigmf-meta|-data``.

    What the acquisition's row recorded (``data_bytes``, ``sha512``, ``metadata``), when given,
    is checked against the files; ``root`` (the data directory), when given, is the directory
    below which no component of either path may be a symbolic link."""

    dirname: str
    meta_path: Path
    data_path: Path
    data_bytes: int | None = None
    sha512: str | None = None
    metadata: dict | None = None
    root: Path | None = None


@dataclass(frozen=True)
class _Part:
    header: bytes
    file: IO[bytes] | None  # None for a directory entry; open (and share-locked) until close()
    size: int
    path: Path | None = None


def open_regular(path: Path, root: Path | None = None) -> IO[bytes]:
    """``path`` opened for reading, refusing what the data directory should never hold.

    No symbolic link is followed (the last component, and with ``root`` every component below
    it); the file must be a regular file (opened non-blocking, so a FIFO cannot hang the
    caller). The file is share-locked (``flock``) while open: data retention skips a recording
    whose data file it cannot lock. ``FileNotFoundError`` if it is missing,
    :class:`DamagedRecording` for anything else.
    """
    path = Path(path)
    flags = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC
    parent_fd = None
    try:
        if root is not None:
            parts = path.relative_to(root).parts
            parent_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
            for part in parts[:-1]:
                try:
                    fd = os.open(part, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=parent_fd)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                        raise DamagedRecording(path, f"{part}/ on its path is a symbolic link or not a directory") from None
                    raise
                os.close(parent_fd)
                parent_fd = fd
            fd = os.open(parts[-1], flags, dir_fd=parent_fd)
        else:
            fd = os.open(path, flags)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise DamagedRecording(path, "is a symbolic link, not the recording's file") from None
        raise
    finally:
        if parent_fd is not None:
            os.close(parent_fd)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a FIFO" if stat.S_ISFIFO(info.st_mode) else "a directory" if stat.S_ISDIR(info.st_mode) \
                else "a socket" if stat.S_ISSOCK(info.st_mode) else "a device" if stat.S_ISBLK(info.st_mode) \
                or stat.S_ISCHR(info.st_mode) else "not a regular file"
            raise DamagedRecording(path, f"is {kind}, not a regular file")
        os.set_blocking(fd, True)
        fcntl.flock(fd, fcntl.LOCK_SH)
        return os.fdopen(fd, "rb", buffering=0)
    except BaseException:
        os.close(fd)
        raise


def _check_member(member: ArchiveMember, meta: IO[bytes], data: IO[bytes]) -> None:
    """The open files against what the row recorded: :class:`DamagedRecording` if they differ."""
    meta_size = os.fstat(meta.fileno()).st_size
    data_size = os.fstat(data.fileno()).st_size
    if os.fstat(data.fileno()).st_nlink == 0 or os.fstat(meta.fileno()).st_nlink == 0:
        raise FileNotFoundError(errno.ENOENT, "removed while it was being opened", str(member.data_path))
    if member.data_bytes is not None and data_size != member.data_bytes:
        raise DamagedRecording(member.data_path, f"holds {data_size} bytes, the recording {member.data_bytes} "
                                                 f"({'truncated' if data_size < member.data_bytes else 'grown'})")
    if member.metadata is not None:
        if meta_size > MAX_META_BYTES:
            raise DamagedRecording(member.meta_path, f"is {meta_size} bytes, far more than any metadata")
        try:
            stored = json.loads(os.pread(meta.fileno(), meta_size, 0))
        except ValueError:
            raise DamagedRecording(member.meta_path, "is not the recording's metadata (not JSON)") from None
        if stored != member.metadata:
            raise DamagedRecording(member.meta_path, "differs from the recording's metadata")
    if member.sha512 is not None:
        digest = hashlib.sha512()
        offset = 0
        while offset < data_size:
            chunk = os.pread(data.fileno(), min(DEFAULT_CHUNK, data_size - offset), offset)
            if not chunk:
                break
            digest.update(chunk)
            offset += len(chunk)
        if digest.hexdigest() != member.sha512:
            raise DamagedRecording(member.data_path, "its content does not match the recording's SHA-512 "
                                                     "(corrupted)")


def verified_files(member: ArchiveMember) -> tuple[IO[bytes], IO[bytes]]:
    """(metadata, data) of ``member`` opened by :func:`open_regular` and checked against what its
    row recorded; the caller closes both."""
    meta = open_regular(member.meta_path, member.root)
    try:
        data = open_regular(member.data_path, member.root)
    except BaseException:
        meta.close()
        raise
    try:
        _check_member(member, meta, data)
    except BaseException:
        meta.close()
        data.close()
        raise
    return meta, data


class ArchiveStream:
    """An iterable of ``bytes`` chunks forming a SigMF archive of ``members``.

    The files are opened and checked here (:func:`verified_files`: ``FileNotFoundError`` if one
    is missing, :class:`DamagedRecording` if one is not what its row says, so the API answers
    before sending headers) and stay open until :meth:`close` (called by WSGI servers), which
    also ends any stream in progress. Each ``iter()`` starts a fresh, identical stream.
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
        try:
            for member in self.members:
                self._parts.extend(_member_parts(member))
        except BaseException:
            self._close_files()
            raise
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
        self._close_files()

    def _close_files(self) -> None:
        for part in self._parts:
            if part.file is not None:
                part.file.close()

    def _generate(self) -> Iterator[bytes]:
        for part in self._parts:
            yield part.header
            if part.file is None:
                continue
            offset = 0
            while offset < part.size:
                chunk = os.pread(part.file.fileno(), min(self.chunk_size, part.size - offset), offset)
                if not chunk:
                    raise ArchiveError(f"{part.path} shrank while it was being archived")
                offset += len(chunk)
                yield chunk
            padding = -part.size % BLOCK
            if padding:
                yield bytes(padding)
        yield bytes(self._trailer)


def _member_parts(member: ArchiveMember) -> list[_Part]:
    dirname = member.dirname
    if not dirname or "/" in dirname or "\\" in dirname or dirname in (".", "..") or "\0" in dirname:
        raise ValueError(f"invalid archive directory name {dirname!r}")
    meta, data = verified_files(member)
    meta_stat = os.fstat(meta.fileno())
    data_stat = os.fstat(data.fileno())
    directory = _header(dirname + "/", tarfile.DIRTYPE, 0o755, 0, int(meta_stat.st_mtime))
    meta_header = _header(f"{dirname}/{dirname}.sigmf-meta", tarfile.REGTYPE, 0o644, meta_stat.st_size,
                          int(meta_stat.st_mtime))
    data_header = _header(f"{dirname}/{dirname}.sigmf-data", tarfile.REGTYPE, 0o644, data_stat.st_size,
                          int(data_stat.st_mtime))
    return [
        _Part(directory, None, 0),
        _Part(meta_header, meta, meta_stat.st_size, Path(member.meta_path)),
        _Part(data_header, data, data_stat.st_size, Path(member.data_path)),
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
