"""A catalogue edited into a broken state, as seen over HTTP: the bad action is listed as unavailable
with its reason, /status names the fault, the other actions keep working, a broken file keeps the
last good catalogue in service; never a 500, never a lost worker."""
from __future__ import annotations

import os
import shutil
import time

from scos_gr.flowgraphs.catalogue import DEFAULT_CATALOGUE
from tests.live_server import LiveServer

API = "/api/v1"


def edit(path, old, new):
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))


def tasks(server, entry):
    return server.get(f"{API}/tasks/{entry}/").json()


def wait_tasks(server, entry, count, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done = [t for t in tasks(server, entry) if t["status"] != "in-progress"]
        if len(done) >= count:
            return done
        time.sleep(0.2)
    raise AssertionError(f"{entry}: {tasks(server, entry)}")


def test_a_broken_flowgraph_and_a_broken_catalogue_file_over_the_api(tmp_path):
    folder = tmp_path / "flowgraphs"
    shutil.copytree(DEFAULT_CATALOGUE.parent, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    with LiveServer(tmp_path / "data", env={"SCOS_ACTIONS": str(folder / "actions.yml")}) as server:
        server.wait_scheduler("idle")
        caps = {a["name"]: a for a in server.get(f"{API}/capabilities/").json()["actions"]}
        assert caps["acquire700c"]["available"] is True and caps["acquire700c"]["parameters"]["num_ffts"] == 300
        assert server.get(f"{API}/status").json()["faults"] == []
        soon = int(time.time()) + 4
        assert server.post(f"{API}/schedule/", {"name": "planned", "action": "acquire700c", "start": soon}).status == 201

        # the FFT block gets a GUI-only option, as GRC's defaults for a new flowgraph do
        edit(folder / "acquire700c.grc", "generate_options: no_gui", "generate_options: qt_gui")
        caps = {a["name"]: a for a in server.get(f"{API}/capabilities/").json()["actions"]}
        assert caps["acquire700c"]["available"] is False and "Generate Options is 'qt_gui'" in caps["acquire700c"]["problem"]
        assert caps["acquire_iq_751MHz"]["available"] is True
        status = server.get(f"{API}/status").json()
        [fault] = status["faults"]
        assert fault["kind"] == "catalogue" and "acquire700c" in fault["detail"] and fault["since"] > 0
        refused = server.post(f"{API}/schedule/", {"name": "refused", "action": "acquire700c"})
        assert refused.status == 400 and "unavailable" in refused.json()["action"][0]
        [planned] = wait_tasks(server, "planned", 1)  # scheduled while it was fine: fails with the reason
        assert planned["status"] == "failure" and "Generate Options is 'qt_gui'" in planned["detail"]

        # a YAML typo in the catalogue file: the last good catalogue stays in service
        edit(folder / "actions.yml", "  logger:\n    kind: log", "  logger:\n    kind: log\n   oops: [")
        listed = server.get(f"{API}/capabilities/")
        assert listed.status == 200 and {"logger", "acquire_iq_751MHz"} <= {a["name"] for a in listed.json()["actions"]}
        details = [f["detail"] for f in server.get(f"{API}/status").json()["faults"]]
        assert any("actions.yml: not valid YAML at line" in d for d in details), details
        assert server.post(f"{API}/schedule/", {"name": "note", "action": "logger"}).status == 201
        [note] = wait_tasks(server, "note", 1)
        assert note["status"] == "success"
        assert "Traceback" not in server.log()
