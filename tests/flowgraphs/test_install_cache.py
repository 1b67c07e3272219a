"""The shipped flowgraphs are compiled at install time (`make deps`): a fresh data directory's
sensor compiles nothing before its first task (it used to run grcc on every .grc at start-up,
4.5-7 s during which due runs were missed)."""
from __future__ import annotations

import json

from scos_gr.flowgraphs.catalogue import DEFAULT_CATALOGUE
from scos_gr.flowgraphs.compiler import cache_key, installed_cache_dir
from tests.live_server import LiveServer


def test_every_shipped_flowgraph_is_in_the_install_time_cache_under_its_current_key():
    for grc in sorted(DEFAULT_CATALOGUE.parent.glob("*.grc")):
        report = installed_cache_dir() / f"{grc.stem}-{cache_key(grc)}" / "report.json"
        assert report.is_file(), f"{grc.name}: not compiled by make deps (run it after editing a shipped .grc)"
        assert json.loads(report.read_text())["ok"] is True


def test_a_fresh_data_directory_starts_without_compiling_and_runs_its_first_task(tmp_path):
    with LiveServer(tmp_path / "data") as server:
        server.wait_scheduler("idle")
        assert server.post("/api/v1/schedule/", {"name": "first", "action": "acquire700c"}).status == 201
        [task] = server.wait_tasks("first", 1)
        assert task["status"] == "success", task["detail"]
        caps = server.get("/api/v1/capabilities/").json()
        assert all(a["available"] for a in caps["actions"])
    cache = tmp_path / "data" / "flowgraph-cache"
    compiled = [p.name for p in cache.iterdir()] if cache.exists() else []
    assert compiled == [], f"compiled at run time: {compiled}"
