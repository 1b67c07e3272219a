"""The README, followed word for word: its curl session runs against a live sensor.

A newcomer copies the README's shell blocks; if an endpoint, a field or a file name in them goes
stale, this test fails. It runs the session's commands with bash exactly as written (only TOKEN
and the port are filled in), then opens the downloaded archive with the README's Python snippet.
"""
from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = (ROOT / "README.md").read_text(encoding="utf-8")
SCOS_GR = Path(sys.executable).with_name("scos-gr")


def fenced_block_after(heading: str, language: str) -> str:
    """The first ```language block after the Markdown heading ``heading``."""
    start = README.index(heading)
    match = re.compile(rf"```{language}\n(.*?)```", re.S).search(README, start)
    assert match, f"no ```{language} block after {heading!r}"
    return match.group(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture()
def sensor(tmp_path):
    """`scos-gr serve` on the embedded default (sim radio, SQLite), as `make run` starts it."""
    port = free_port()
    env = {**os.environ, "SCOS_DATA_DIR": str(tmp_path / "data"), "SCOS_PORT": str(port)}
    env.pop("DATABASE_URL", None)
    env.pop("SCOS_RADIO", None)
    log = open(tmp_path / "serve.log", "w")
    proc = subprocess.Popen([str(SCOS_GR), "serve"], stdout=subprocess.PIPE, stderr=log, text=True, env=env)
    try:
        first_lines = []
        deadline = time.monotonic() + 60
        token = None
        while time.monotonic() < deadline and token is None:
            line = proc.stdout.readline()
            if not line:
                break
            first_lines.append(line)
            if re.fullmatch(r"[0-9a-f]{40,}\n", line):
                token = line.strip()
        assert token, "serve printed no first-user token: " + "".join(first_lines)
        while time.monotonic() < deadline:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield {"port": port, "token": token, "dir": tmp_path}
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


def test_the_curl_session_and_the_python_snippet_work_as_written(sensor, tmp_path):
    session = fenced_block_after("## A session with curl", "sh")
    session = session.replace("TOKEN=...", f"TOKEN={sensor['token']}")
    session = session.replace("127.0.0.1:8000", f"127.0.0.1:{sensor['port']}")
    # The README schedules three runs 10 s apart; the first starts 1 s after the POST. Wait for the
    # first recording before the download line, as a reader would.
    lines = session.splitlines()
    download = next(i for i, l in enumerate(lines) if "archive" in l and "-OJ" in l)
    wait = ('for i in $(seq 60); do curl -sf -H "$auth" $API/acquisitions/c-block/1/ >/dev/null && break; '
            'sleep 0.5; done')
    script = "set -e\n" + "\n".join(lines[:download] + [wait] + lines[download:]) + "\n"
    work = tmp_path / "work"
    work.mkdir()
    proc = subprocess.run(["bash", "-c", script], cwd=work, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    assert '"acquire700c"' in proc.stdout  # capabilities listed the action
    archive = work / "c-block_1.sigmf"
    assert archive.is_file(), sorted(os.listdir(work))

    snippet = fenced_block_after("Open the archive offline", "python")
    run = subprocess.run([sys.executable, "-c", snippet], cwd=work, capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    printed = dict(line.split(" ", 1) for line in run.stdout.strip().splitlines())
    assert set(printed) == {"min", "max", "mean", "median", "sample"}
    # the sim tone is the peak of every detector: its peak bin reads about -42.9 dBm
    for text in printed.values():
        assert -44.0 < float(text.split()[0]) < -40.0, printed
