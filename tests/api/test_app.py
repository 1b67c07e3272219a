"""Each app made by ``make_app`` answers from its own settings: two apps in one process, served on
two loopback sockets over one store, share nothing but the store.

The action catalogue is the app's ``settings.actions_file`` (not the environment's): an app
configured with its own catalogue lists and accepts its own actions only.
"""
from __future__ import annotations

import json
import threading
import urllib.error
import urllib.request
from wsgiref.simple_server import WSGIRequestHandler, make_server

import pytest

from scos_gr import store
from scos_gr.api.app import make_app


class _Quiet(WSGIRequestHandler):
    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def two_apps(settings, sqlite_store, tmp_path, monkeypatch):
    monkeypatch.delenv("SCOS_ACTIONS", raising=False)  # what the environment says must not matter
    own = tmp_path / "own-actions.yml"
    own.write_text("actions:\n  only_mine:\n    kind: log\n    summary: mine\n    description: mine\n")
    shipped = settings.with_overrides(sensor_id="sensor-shipped")
    custom = settings.with_overrides(sensor_id="sensor-custom", actions_file=own)
    _, token = store.User.create_with_token("admin", is_admin=True)
    servers = [make_server("127.0.0.1", 0, make_app(s), handler_class=_Quiet) for s in (shipped, custom)]
    threads = [threading.Thread(target=srv.serve_forever, daemon=True) for srv in servers]
    for thread in threads:
        thread.start()
    yield token, [f"http://127.0.0.1:{srv.server_port}/api/v1" for srv in servers]
    for srv in servers:
        srv.shutdown()
        srv.server_close()


def _call(url: str, token: str, body: dict | None = None) -> tuple[int, dict]:
    request = urllib.request.Request(url, data=None if body is None else json.dumps(body).encode(),
                                     headers={"Authorization": f"Token {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as err:
        return err.code, json.load(err)


def test_two_apps_in_one_process_answer_from_their_own_settings(two_apps):
    token, (shipped, custom) = two_apps
    status, caps = _call(f"{shipped}/capabilities/", token)
    assert status == 200 and caps["sensor_definition"]["sensor_spec"]["id"] == "sensor-shipped"
    assert "acquire700c" in {a["name"] for a in caps["actions"]}
    status, caps = _call(f"{custom}/capabilities/", token)
    assert status == 200 and caps["sensor_definition"]["sensor_spec"]["id"] == "sensor-custom"
    assert [a["name"] for a in caps["actions"]] == ["only_mine"]


def test_schedule_validation_uses_the_apps_own_catalogue(two_apps):
    token, (shipped, custom) = two_apps
    assert _call(f"{custom}/schedule/", token, {"name": "a", "action": "only_mine"})[0] == 201
    status, errors = _call(f"{shipped}/schedule/", token, {"name": "b", "action": "only_mine"})
    assert status == 400 and errors == {"action": ['"only_mine" is not a valid choice.']}
    status, errors = _call(f"{custom}/schedule/", token, {"name": "c", "action": "logger"})
    assert status == 400 and errors == {"action": ['"logger" is not a valid choice.']}
