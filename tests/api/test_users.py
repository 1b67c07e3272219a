"""Users over the API (ext) and on the command line: create (token shown once), delete, rotate
tokens; the old token stops at once (spec "Authentication and roles")."""
from __future__ import annotations

import re
import subprocess

import pytest

from tests.live_server import SCOS_GR, LiveServer

API = "/api/v1"


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("users") / "data", scheduler=False).start()
    yield server
    server.stop()


def _new(live, name: str, is_admin: bool = False) -> str:
    r = live.post(f"{API}/users/", {"name": name, "is_admin": is_admin})
    assert r.status == 201, r
    return r.json()["token"]


def test_an_admin_creates_a_user_whose_token_is_shown_once_and_works(live):
    r = live.post(f"{API}/users/", {"name": "carol"})
    assert r.status == 201, r
    body = r.json()
    assert r.headers["location"] == live.url(f"{API}/users/carol/")
    assert {k: body[k] for k in ("url", "name", "is_admin", "schedule_entries")} == \
        {"url": live.url(f"{API}/users/carol/"), "name": "carol", "is_admin": False, "schedule_entries": []}
    assert re.fullmatch(r"[0-9a-f]{64}", body["token"])
    me = live.get(f"{API}/users/me/", token=body["token"])
    assert me.status == 200 and me.json()["name"] == "carol"
    # shown once: no other answer carries it
    assert "token" not in live.get(f"{API}/users/carol/").json()
    assert all("token" not in u for u in live.get(f"{API}/users/").json())
    admin = live.post(f"{API}/users/", {"name": "dave", "is_admin": True}).json()
    assert admin["is_admin"] and live.get(f"{API}/users/", token=admin["token"]).status == 200


@pytest.mark.parametrize("body, errors", [
    ({}, {"name": ["This field is required."]}),
    ({"name": None}, {"name": ["This field may not be null."]}),
    ({"name": "a b"}, {"name": ["Enter a valid 'slug' consisting of letters, numbers, underscores or hyphens."]}),
    ({"name": "x" * 51}, {"name": ["Ensure this field has no more than 50 characters."]}),
    ({"name": "ok-name", "is_admin": "maybe"}, {"is_admin": ["Must be a valid boolean."]}),
    ({"name": "admin"}, {"name": ["user with this name already exists."]}),
])
def test_a_bad_new_user_is_refused_naming_the_field(live, body, errors):
    r = live.post(f"{API}/users/", body)
    assert r.status == 400 and r.json() == errors, r


def test_me_is_not_a_user_name(live):
    r = live.post(f"{API}/users/", {"name": "me"})
    assert r.status == 400 and "reserved" in r.json()["name"][0], r


def test_only_admins_manage_users(live):
    user = _new(live, "erin")
    assert live.post(f"{API}/users/", {"name": "frank"}, token=user).status == 403
    assert live.request("DELETE", f"{API}/users/admin/", token=user).status == 403
    assert live.request("DELETE", f"{API}/users/erin/", token=user).status == 403
    assert live.post(f"{API}/users/admin/token/", token=user).status == 404  # others are invisible to a user
    assert live.get(f"{API}/users/frank/").status == 404  # nothing was made


def test_deleting_a_user_stops_its_token_and_frees_the_name(live):
    token = _new(live, "gina")
    assert live.request("DELETE", f"{API}/users/gina/").status == 204
    r = live.get(f"{API}/users/me/", token=token)
    assert r.status == 401 and r.json() == {"detail": "Invalid token."}
    assert live.request("DELETE", f"{API}/users/gina/").status == 404
    _new(live, "gina")


def test_a_user_who_owns_entries_is_not_deleted(live):
    token = _new(live, "hank")
    for name in ("hank-b", "hank-a"):
        assert live.post(f"{API}/schedule/", {"name": name, "action": "logger", "start": 2_000_000_000},
                         token=token).status == 201
    r = live.request("DELETE", f"{API}/users/hank/")
    assert r.status == 400, r
    assert r.json()["protected_objects"] == [live.url(f"{API}/schedule/hank-a/"), live.url(f"{API}/schedule/hank-b/")]
    assert "hank-a" in r.json()["detail"]
    assert live.get(f"{API}/users/me/", token=token).status == 200
    for name in ("hank-a", "hank-b"):
        assert live.request("DELETE", f"{API}/schedule/{name}/", token=token).status == 204
    assert live.request("DELETE", f"{API}/users/hank/").status == 204


def test_the_last_admin_is_not_deleted_over_the_api(live):
    second = _new(live, "second-admin", is_admin=True)
    assert live.request("DELETE", f"{API}/users/admin/", token=second).status == 204  # another admin is left
    for other in [u["name"] for u in live.get(f"{API}/users/", token=second).json()
                  if u["is_admin"] and u["name"] != "second-admin"]:
        assert live.request("DELETE", f"{API}/users/{other}/", token=second).status == 204
    r = live.request("DELETE", f"{API}/users/second-admin/", token=second)
    assert r.status == 400 and "only admin" in r.json()["detail"], r
    assert live.get(f"{API}/users/me/", token=second).status == 200
    live.token = second  # the module's other tests go on as this admin


def test_an_admin_rotates_a_token_and_the_old_one_stops_at_once(live):
    old = _new(live, "ivy")
    r = live.post(f"{API}/users/ivy/token/")
    assert r.status == 200 and r.json()["name"] == "ivy", r
    new = r.json()["token"]
    assert new != old
    assert live.get(f"{API}/users/me/", token=old).status == 401
    assert live.get(f"{API}/users/me/", token=new).json()["name"] == "ivy"
    assert live.post(f"{API}/users/nobody/token/").status == 404


@pytest.mark.parametrize("path", ["me", "jo"])
def test_a_user_rotates_its_own_token(live, path):
    name = f"jo-{path}"
    old = _new(live, name)
    r = live.post(f"{API}/users/{name if path == 'jo' else 'me'}/token/", token=old)
    assert r.status == 200 and r.json()["name"] == name and not r.json()["is_admin"], r
    assert live.get(f"{API}/status", token=old).status == 401
    assert live.get(f"{API}/status", token=r.json()["token"]).status == 200


def _cli(live, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(SCOS_GR), *args], capture_output=True, text=True, env=live.env, timeout=60)


def test_the_command_line_rotates_a_token_and_deletes_a_user(live):
    old = live.create_user("kim")
    rotated = _cli(live, "rotatetoken", "kim")
    assert rotated.returncode == 0, rotated.stderr
    new = rotated.stdout.strip().splitlines()[-1]
    assert re.fullmatch(r"[0-9a-f]{64}", new) and new != old
    assert live.get(f"{API}/users/me/", token=old).status == 401  # the running server sees it at once
    assert live.get(f"{API}/users/me/", token=new).json()["name"] == "kim"
    deleted = _cli(live, "deleteuser", "kim")
    assert deleted.returncode == 0, deleted.stderr
    assert live.get(f"{API}/users/me/", token=new).status == 401
    missing = _cli(live, "deleteuser", "kim")
    assert missing.returncode == 1 and missing.stderr == "error: there is no user named 'kim'\n"
    assert _cli(live, "rotatetoken", "kim").returncode == 1


def test_the_command_line_refuses_to_delete_an_owner_and_a_bad_name(live):
    token = live.create_user("lee")
    assert live.post(f"{API}/schedule/", {"name": "lee-1", "action": "logger", "start": 2_000_000_000},
                     token=token).status == 201
    owner = _cli(live, "deleteuser", "lee")
    assert owner.returncode == 1 and "lee-1" in owner.stderr and "delete them first" in owner.stderr
    bad = _cli(live, "createuser", "no spaces")
    assert bad.returncode == 2 and "Enter a valid 'slug'" in bad.stderr
