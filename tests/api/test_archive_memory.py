"""Downloading a >= 500 MB recording keeps the server's memory flat and copies nothing to a temporary
file (the tar is streamed from the recording's files)."""
from __future__ import annotations

import hashlib
import http.client
import json
import os
import socket
import tarfile
import time

import pytest

from scos_gr import store
from scos_gr.sigmf_out.metadata import Capture, Radio, iq_metadata
from scos_gr.sigmf_out.writer import finalize_recording, temp_data_path
from tests.live_server import LiveServer
from scos_gr.sigmf_out.context import ScheduleInfo, TaskContext

SIZE = 512 * 1024 * 1024  # 512 MiB of cf32 samples (a sparse file: zeros cost no disk)


def rss_kib(pid: int) -> int:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def deleted_files(pid: int) -> set[str]:
    """Files the process holds open that have no name (temporary files: a copy of the response)."""
    out = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.endswith("(deleted)"):
            out.add(target)
    return out


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A server whose entry ``big`` holds one 512 MiB recording (task 1); yields (server, recording)."""
    data_dir = tmp_path_factory.mktemp("big") / "data"
    with LiveServer(data_dir, scheduler=False) as server:
        store.init_store(f"sqlite:///{data_dir / 'scos.db'}")
        folder = data_dir / "acquisitions" / "big"
        folder.mkdir(parents=True)
        tmp = temp_data_path(folder, "big_1")
        with open(tmp, "wb") as f:
            f.truncate(SIZE)
        metadata = iq_metadata(sample_rate=15.36e6, capture=Capture(frequency=751e6, start=time.time(), samples=SIZE // 8),
                               radio=Radio(driver="sim", args="sim"),
                               context=TaskContext(task_id=1, schedule=ScheduleInfo(name="big")))
        rec = finalize_recording(folder, "big_1", tmp, metadata)
        with store.database.connection_context():
            owner = store.User.get(store.User.name == "admin")
            store.ScheduleEntry.create(name="big", action="logger", start=0, owner=owner)
            store.Acquisition.create(entry_name="big", task_id=1, meta_path="acquisitions/big/big_1.sigmf-meta",
                                     data_path="acquisitions/big/big_1.sigmf-data", data_bytes=SIZE,
                                     sha512=rec.sha512, sigmf_metadata=rec.metadata)
        yield server, rec


def test_a_512_mib_archive_streams_with_flat_server_memory(big):
    server, rec = big
    pid = server.proc.pid
    server.get("/api/v1/acquisitions/big/1/")  # warm the code paths before measuring
    before = rss_kib(pid)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=120)
    conn.request("GET", "/api/v1/acquisitions/big/1/archive", headers={"Authorization": f"Token {server.token}"})
    resp = conn.getresponse()
    assert resp.status == 200
    length = int(resp.getheader("Content-Length"))
    counted = _Counting(resp)
    peak, digests, sizes, metadata = before, {}, {}, None
    spooled: set[str] = set()
    # read the body as the tar stream it is, hashing each member while sampling the server's RSS
    with tarfile.open(fileobj=counted, mode="r|") as tar:
        for member in tar:
            if not member.isfile():
                continue
            source, digest, size = tar.extractfile(member), hashlib.sha512(), 0
            while chunk := source.read(1 << 20):
                digest.update(chunk)
                size += len(chunk)
                if member.name.endswith(".sigmf-meta"):
                    metadata = (metadata or b"") + chunk
                peak = max(peak, rss_kib(pid))
                spooled |= deleted_files(pid)
            digests[member.name], sizes[member.name] = digest.hexdigest(), size
    counted.drain()
    conn.close()
    assert counted.received == length > SIZE
    growth_mb = (peak - before) / 1024
    print(f"server RSS {before / 1024:.1f} MB before, peak growth {growth_mb:.1f} MB over {length >> 20} MiB")
    assert growth_mb < 20, f"server RSS grew by {growth_mb:.1f} MB while streaming {SIZE >> 20} MiB"
    assert not spooled, f"the server spooled the response to temporary files: {spooled}"
    assert sorted(digests) == ["big_1/big_1.sigmf-data", "big_1/big_1.sigmf-meta"]
    assert sizes["big_1/big_1.sigmf-data"] == SIZE
    # the data member that came over the socket hashes to the metadata's core:sha512
    assert json.loads(metadata)["global"]["core:sha512"] == rec.sha512 == digests["big_1/big_1.sigmf-data"]



def open_files(pid: int) -> list[str]:
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass
    return out


def test_clients_that_hang_up_mid_archive_leave_no_open_file(big):
    server, _ = big
    pid = server.proc.pid
    path = "/api/v1/acquisitions/big/1/archive"
    request = f"GET {path} HTTP/1.1\r\nHost: x\r\nAuthorization: Token {server.token}\r\n\r\n".encode()

    def requests_ended() -> int:
        """Access-log lines of the archive: the server writes one when it has closed a response."""
        return server.log().count(f'"GET {path}" 200')

    before = requests_ended()
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", server.port)) as s:
            s.sendall(request)
            assert s.recv(1 << 16).startswith(b"HTTP/1.1 200")  # streaming has begun; hang up
    # Wait for the server to end all 20 (a moment without open files proves nothing: the response
    # thread may not have opened the recording yet when the client hangs up).
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and requests_ended() < before + 20:
        time.sleep(0.1)
    assert requests_ended() == before + 20
    assert not [f for f in open_files(pid) if "sigmf" in f]
    assert server.get("/api/v1/acquisitions/big/1/").status == 200  # every worker thread is free again


class _Counting:
    """A file-like view of the HTTP body that counts the bytes read (tarfile stops at its end blocks)."""

    def __init__(self, resp: http.client.HTTPResponse) -> None:
        self.resp, self.received = resp, 0

    def read(self, n: int = -1) -> bytes:
        chunk = self.resp.read(n)
        self.received += len(chunk)
        return chunk

    def drain(self) -> None:
        while self.read(1 << 20):
            pass
