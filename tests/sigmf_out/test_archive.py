"""Streamed .sigmf archives: exact length, deterministic bytes, loadable, constant memory."""
from __future__ import annotations

import hashlib
import io
import os
import shutil
import subprocess
import tarfile
import tracemalloc

import numpy as np
import pytest
import sigmf
from sigmf.error import SigMFFileError

from scos_gr.sigmf_out.archive import ArchiveError, ArchiveMember, ArchiveStream, recordings_in_archive
from scos_gr.sigmf_out.metadata import Capture, Radio, Spectra, detection_metadata
from scos_gr.sigmf_out.writer import write_recording
from scos_gr.sigmf_out.context import ScheduleInfo, TaskContext

DETECTORS = ["min", "max", "mean", "median", "sample"]


def make_recording(directory, basename, fft_size=64, seed=0):
    md = detection_metadata(spectra=Spectra(fft_size=fft_size, num_ffts=10, window="blackman",
                                            detectors=tuple(DETECTORS)),
                            sample_rate=1e6, captures=[Capture(frequency=751e6, start=1_795_000_000.0,
                                                               samples=fft_size * 10)],
                            radio=Radio(driver="sim", args="sim"),
                            context=TaskContext(task_id=seed + 1, schedule=ScheduleInfo(name="e")))
    data = np.random.default_rng(seed).normal(-80, 2, size=len(DETECTORS) * fft_size).astype(np.float32)
    rec = write_recording(directory, basename, data, md)
    return ArchiveMember(basename, rec.meta_path, rec.data_path), data


def save(stream, path):
    with open(path, "wb") as f:
        for chunk in stream:
            f.write(chunk)
    return path


def test_single_recording_archive_loads_with_fromarchive(tmp_path):
    member, data = make_recording(tmp_path / "acq", "e_1")
    stream = ArchiveStream([member], chunk_size=4096)
    body = b"".join(stream)
    assert stream.content_length == len(body) == len(stream)
    assert len(body) % tarfile.RECORDSIZE == 0
    archive = tmp_path / "e_1.sigmf"
    archive.write_bytes(body)

    loaded = sigmf.sigmffile.fromarchive(str(archive))  # checks core:sha512 against the data member
    loaded.validate()
    assert np.array_equal(loaded.read_samples(), data)
    assert loaded.get_global_field("core:sha512") == hashlib.sha512(member.data_path.read_bytes()).hexdigest()
    assert len(loaded.get_annotations()) == len(DETECTORS)
    # and from a buffer (how a client that never touches the disk would read it)
    buffered = sigmf.archivereader.SigMFArchiveReader(archive_buffer=io.BytesIO(body)).sigmffile
    assert np.array_equal(buffered.read_samples(), data)


def test_layout_headers_and_padding(tmp_path):
    member, _ = make_recording(tmp_path, "e_1")
    body = b"".join(ArchiveStream([member]))
    with tarfile.open(fileobj=io.BytesIO(body), mode="r:") as tar:
        infos = tar.getmembers()
        assert [i.name for i in infos] == ["e_1", "e_1/e_1.sigmf-meta", "e_1/e_1.sigmf-data"]
        assert infos[0].isdir()
        for info, path in zip(infos[1:], (member.meta_path, member.data_path)):
            assert info.size == path.stat().st_size
            assert info.mtime == int(path.stat().st_mtime)
            assert tar.extractfile(info).read() == path.read_bytes()
    assert body[257:263] == b"ustar\x00"  # POSIX ustar, no pax/GNU extension needed here
    assert body[-1024:] == bytes(1024)


def test_gnu_tar_accepts_it(tmp_path):
    if not shutil.which("tar"):
        pytest.skip("no tar binary")
    member, _ = make_recording(tmp_path, "e_1")
    archive = save(ArchiveStream([member]), tmp_path / "e_1.sigmf")
    out = subprocess.run(["tar", "-tf", str(archive)], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["e_1/", "e_1/e_1.sigmf-meta", "e_1/e_1.sigmf-data"]
    assert out.stderr == ""


def test_two_reads_are_byte_identical(tmp_path):
    member, _ = make_recording(tmp_path, "e_1")
    stream = ArchiveStream([member], chunk_size=1000)
    first = b"".join(stream)
    second = b"".join(stream)
    third = b"".join(ArchiveStream([member], chunk_size=65536))
    assert first == second == third


def test_multi_recording_archive(tmp_path):
    members, datas = zip(*(make_recording(tmp_path / "acq", f"e_{i}", seed=i) for i in (1, 2, 3)))
    stream = ArchiveStream(list(members))
    body = b"".join(stream)
    assert stream.content_length == len(body)
    archive = save(stream, tmp_path / "e.sigmf")

    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert names == [n for i in (1, 2, 3) for n in (f"e_{i}", f"e_{i}/e_{i}.sigmf-meta", f"e_{i}/e_{i}.sigmf-data")]

    recordings = recordings_in_archive(archive)
    assert sorted(recordings) == ["e_1", "e_2", "e_3"]
    for name, data in zip(("e_1", "e_2", "e_3"), datas):
        assert np.array_equal(recordings[name].read_samples(), data)
    assert sorted(recordings_in_archive(io.BytesIO(body))) == ["e_1", "e_2", "e_3"]

    # What sigmf-python's own reader makes of it: one recording per archive only. It pairs the
    # last .sigmf-meta with the first .sigmf-data, and the checksum catches the mismatch.
    with pytest.raises(SigMFFileError, match="hash"):
        sigmf.sigmffile.fromarchive(str(archive))
    # Each directory, extracted, is a plain recording that sigmf-python loads.
    with tarfile.open(archive) as tar:
        tar.extractall(tmp_path / "out")  # our own archive, trusted
    for i, data in zip((1, 2, 3), datas):
        loaded = sigmf.sigmffile.fromfile(str(tmp_path / "out" / f"e_{i}" / f"e_{i}.sigmf-meta"))
        assert np.array_equal(loaded.read_samples(), data)


def test_streaming_a_large_recording_keeps_memory_flat(tmp_path):
    """A 200 MB (sparse) data file streams with a peak allocation of a few chunks, not its size."""
    member, _ = make_recording(tmp_path, "big_1")
    size = 200 * 2**20
    with open(member.data_path, "r+b") as f:
        f.truncate(size)
    stream = ArchiveStream([member], chunk_size=1 << 20)
    total = 0
    tracemalloc.start()
    try:
        for chunk in stream:
            total += len(chunk)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert total == stream.content_length > size
    assert peak < 4 * 2**20, f"peak {peak / 2**20:.1f} MiB"


def test_missing_file_fails_up_front(tmp_path):
    member, _ = make_recording(tmp_path, "e_1")
    os.unlink(member.data_path)
    with pytest.raises(FileNotFoundError):
        ArchiveStream([member])


def test_file_shrinking_mid_stream_is_an_error_not_a_short_archive(tmp_path):
    member, _ = make_recording(tmp_path, "e_1", fft_size=4096)
    stream = ArchiveStream([member], chunk_size=512)
    chunks = iter(stream)
    next(chunks)
    with open(member.data_path, "r+b") as f:
        f.truncate(100)
    with pytest.raises(ArchiveError):
        for _ in chunks:
            pass


def test_close_stops_a_stream_in_progress(tmp_path):
    member, _ = make_recording(tmp_path, "e_1", fft_size=4096)
    stream = ArchiveStream([member], chunk_size=512)
    chunks = iter(stream)
    for _ in range(5):
        next(chunks)
    stream.close()
    assert list(chunks) == []


def test_bad_member_names_are_refused(tmp_path):
    member, _ = make_recording(tmp_path, "e_1")
    with pytest.raises(ValueError):
        ArchiveStream([ArchiveMember("../x", member.meta_path, member.data_path)])
    with pytest.raises(ValueError):
        ArchiveStream([member, member])


# -- the data directory is not trusted ------------------------------------------------------------
def _checked_member(tmp_path, **changes):
    from dataclasses import replace
    import json as _json

    member, _ = make_recording(tmp_path / "acquisitions" / "e", "e_1")
    checked = replace(member, data_bytes=member.data_path.stat().st_size,
                      sha512=hashlib.sha512(member.data_path.read_bytes()).hexdigest(),
                      metadata=_json.loads(member.meta_path.read_text()), root=tmp_path)
    return replace(checked, **changes)


def test_a_checked_member_streams_as_before(tmp_path):
    member = _checked_member(tmp_path)
    stream = ArchiveStream([member])
    assert b"".join(stream) == b"".join(stream)  # two reads, identical
    stream.close()


@pytest.mark.parametrize("plant, reason", [
    (lambda m, t: (m.data_path.unlink(), m.data_path.symlink_to("/etc/passwd")), "symbolic link"),
    (lambda m, t: (m.data_path.unlink(), os.mkfifo(m.data_path)), "is a FIFO"),
    (lambda m, t: (m.data_path.unlink(), m.data_path.mkdir()), "is a directory"),
    (lambda m, t: m.data_path.write_bytes(m.data_path.read_bytes()[:-1]), "truncated"),
    (lambda m, t: m.data_path.write_bytes(bytes(m.data_bytes)), "corrupted"),
    (lambda m, t: m.meta_path.write_text("{}"), "differs"),
    (lambda m, t: m.meta_path.write_text("not json"), "not JSON"),
    (lambda m, t: (shutil.move(str(m.meta_path.parent), str(t / "moved")), m.meta_path.parent.symlink_to(t / "moved")),
     "symbolic link"),
])
def test_what_is_not_the_recording_is_refused_before_the_first_byte(tmp_path, plant, reason):
    from scos_gr.sigmf_out.archive import DamagedRecording

    member = _checked_member(tmp_path)
    plant(member, tmp_path)
    with pytest.raises(DamagedRecording, match=reason):
        ArchiveStream([member])


def test_a_file_stays_share_locked_while_its_stream_is_open(tmp_path):
    import fcntl

    member = _checked_member(tmp_path)
    stream = ArchiveStream([member])
    with open(member.data_path, "rb") as f:
        with pytest.raises(BlockingIOError):
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        stream.close()
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)  # free once closed


def test_remove_recording_below_a_symlinked_directory_removes_nothing(tmp_path):
    from scos_gr.sigmf_out.archive import DamagedRecording
    from scos_gr.sigmf_out.writer import remove_recording

    member, _ = make_recording(tmp_path / "elsewhere", "e_1")
    (tmp_path / "data" / "acquisitions").mkdir(parents=True)
    (tmp_path / "data" / "acquisitions" / "e").symlink_to(tmp_path / "elsewhere")
    planted = tmp_path / "data" / "acquisitions" / "e"
    with pytest.raises(DamagedRecording):
        remove_recording(planted / member.meta_path.name, planted / member.data_path.name, tmp_path / "data")
    assert member.meta_path.exists() and member.data_path.exists()
