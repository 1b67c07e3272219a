"""Every rule of the API spec, over a real socket, on SQLite and on a real PostgreSQL server.

The server is a `scos-gr serve --no-scheduler` process (the scheduler's own end-to-end tests run
it with the scheduler); acquisitions are made by the test through sigmf_out and the store, as the
scheduler makes them. One server per backend for the module; each test uses its own names.
"""
from __future__ import annotations

import hashlib
import io
import tarfile
import time
import uuid
from pathlib import Path

import pytest
from sigmf import sigmffile

from scos_gr import store
from tests.api.helpers import add_acquisition
from tests.live_server import LiveServer

API = "/api/v1"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory):
    data_dir = tmp_path_factory.mktemp(f"api-{request.param}") / "data"
    url = None
    if request.param == "postgresql":
        url = request.getfixturevalue("pg_cluster").create_database()
    srv = LiveServer(data_dir, scheduler=False, database_url=url).start()
    srv.database_url = url or f"sqlite:///{data_dir / 'scos.db'}"
    srv.user_token = srv.create_user(f"user-{uuid.uuid4().hex[:6]}")
    srv.other_token = srv.create_user(f"other-{uuid.uuid4().hex[:6]}")
    store.init_store(srv.database_url)  # the test process writes acquisitions like the scheduler
    yield srv
    srv.stop()


@pytest.fixture
def bind(server):
    """Rebind the store to this module's backend (the other backend's module may have run between)."""
    store.init_store(server.database_url)
    return server


def name() -> str:
    return "e-" + uuid.uuid4().hex[:10]


def post_entry(server, token=None, **fields):
    body = {"name": name(), "action": "logger", "start": int(time.time()) + 3600, **fields}
    return server.post(f"{API}/schedule/", body, token=token or server.token)


# -- authentication --------------------------------------------------------------------------------
@pytest.mark.parametrize("path", [f"{API}/", f"{API}/schedule/", f"{API}/status", f"{API}/acquisitions/",
                                  f"{API}/capabilities/", f"{API}/users/", f"{API}/tasks/", f"{API}/schema/"])
def test_every_endpoint_needs_a_token(bind, path):
    r = bind.get(path, token=None)
    assert r.status == 401
    assert r.headers["www-authenticate"] == "Token"
    assert r.json() == {"detail": "Authentication credentials were not provided."}
    r = bind.get(path, token="not-a-token")
    assert r.status == 401 and r.json() == {"detail": "Invalid token."}
    assert r.headers["www-authenticate"] == "Token"


def test_writes_need_a_token_too(bind):
    r = bind.post(f"{API}/schedule/", {"name": name(), "action": "logger"}, token=None)
    assert r.status == 401 and r.headers["www-authenticate"] == "Token"
    assert r.json() == {"detail": "Authentication credentials were not provided."}


def test_a_token_header_that_is_not_utf8_is_an_invalid_token(bind):
    # http.client sends str headers as latin-1: b"Token \xe9t\xe9" is not UTF-8
    for header in ({"Authorization": "Token \u00e9t\u00e9"}, {"Token": "\u00e9t\u00e9"}):
        r = bind.get(f"{API}/", token=None, headers=header)
        assert r.status == 401 and r.json() == {"detail": "Invalid token."}, (header, r)
        assert r.headers["www-authenticate"] == "Token"


@pytest.mark.parametrize("path", ["/schedule/a%00b/", "/acquisitions/a%00b/", "/acquisitions/a%00b/1/",
                                  "/acquisitions/a%00b/1/archive", "/tasks/a%00b/", "/tasks/a%00b/1/",
                                  "/users/a%00b/"])
def test_a_name_that_cannot_exist_is_404_not_500(bind, path):
    # PostgreSQL refuses NUL in a string literal; such a name is simply not there
    r = bind.get(API + path)
    assert r.status == 404 and r.json() == {"detail": "Not found."}, r
    if path.startswith("/schedule/"):
        assert bind.request("PATCH", API + path, {"priority": 1}).status == 404
        assert bind.request("DELETE", API + path).status == 404


def test_both_token_header_forms_are_accepted(bind):
    assert bind.get(f"{API}/", token=None, headers={"Authorization": f"Token {bind.token}"}).status == 200
    assert bind.get(f"{API}/", token=None, headers={"Token": bind.token}).status == 200
    assert bind.get(f"{API}/", token=None, headers={"Authorization": f"Bearer {bind.token}"}).status == 401


def test_root_links_are_absolute_and_built_from_the_host_header(bind):
    r = bind.get(f"{API}/", headers={"Host": "sensor.example:8443"})
    assert r.status == 200 and r.headers["content-type"].startswith("application/json")
    links = r.json()
    for key in ("acquisitions", "schedule", "users", "capabilities", "tasks"):
        assert links[key] == f"http://sensor.example:8443{API}/{key}/"
    assert links["status"] == f"http://sensor.example:8443{API}/status"


# -- URLs ------------------------------------------------------------------------------------------
def test_the_other_form_of_a_known_path_redirects_to_the_canonical_one(bind):
    r = bind.get(f"{API}/schedule?limit=1")
    assert r.status == 301 and r.headers["location"] == bind.url(f"{API}/schedule/?limit=1")
    r = bind.get(f"{API}/status/")
    assert r.status == 301 and r.headers["location"] == bind.url(f"{API}/status")
    r = bind.get(f"{API}/no-such-thing/")
    assert r.status == 404 and r.json() == {"detail": "Not found."}


# -- schedule: creation and validation ------------------------------------------------------------
def test_post_creates_an_entry_with_location_and_full_representation(bind):
    start = int(time.time()) + 100
    r = post_entry(bind, start=start, interval=10, stop=start + 35, priority=-5)
    assert r.status == 201, r
    entry = r.json()
    assert r.headers["location"] == entry["url"] == bind.url(f"{API}/schedule/{entry['name']}/")
    assert entry["owner"].endswith(f"{API}/users/admin/")
    assert entry["acquisitions"] == bind.url(f"{API}/acquisitions/{entry['name']}/")
    assert (entry["start"], entry["stop"], entry["interval"], entry["priority"]) == (start, start + 35, 10, -5)
    assert entry["is_active"] is True and entry["is_private"] is False
    assert entry["next_task_time"] == start and entry["next_task_id"] == 1
    assert entry["created"].endswith("Z") and len(entry["created"]) == len("2026-11-24T16:08:12.123Z")
    assert bind.get(f"{API}/schedule/{entry['name']}/").json() == entry


def test_defaults_start_now_plus_one_priority_ten_relative_stop(bind):
    before = int(time.time())
    r = bind.post(f"{API}/schedule/", {"name": name(), "action": "logger", "interval": 5, "stop": 20,
                                         "relative_stop": True, "is_active": False, "url": "x", "next_task_id": 99,
                                         "unknown": 1})
    assert r.status == 201, r
    e = r.json()
    assert before + 1 <= e["start"] <= int(time.time()) + 1
    assert e["stop"] == e["start"] + 20 and e["priority"] == 10
    assert e["is_active"] is True and e["next_task_id"] == 1  # read-only and unknown keys ignored
    r = post_entry(bind, relative_stop=True, stop=None)  # (fix) never a 500
    assert r.status == 201 and r.json()["stop"] is None


@pytest.mark.parametrize("body, field, message", [
    ({"action": "logger"}, "name", "This field is required."),
    ({"name": "x"}, "action", "This field is required."),
    ({"name": "bad name!", "action": "logger"}, "name",
     "Enter a valid 'slug' consisting of letters, numbers, underscores or hyphens."),
    ({"name": "n" * 51, "action": "logger"}, "name", "Ensure this field has no more than 50 characters."),
    ({"name": "ok", "action": "foo"}, "action", '"foo" is not a valid choice.'),
    ({"name": "ok", "action": "logger", "interval": 0}, "interval", "Ensure this value is greater than or equal to 1."),
    ({"name": "ok", "action": "logger", "priority": 20}, "priority", "Ensure this value is less than or equal to 19."),
    ({"name": "ok", "action": "logger", "priority": -21}, "priority",
     "Ensure this value is greater than or equal to -20."),
    ({"name": "ok", "action": "logger", "start": "soon"}, "start", "A valid integer is required."),
    ({"name": "ok", "action": "logger", "stop": 1.5}, "stop", "A valid integer is required."),
    ({"name": "ok", "action": "logger", "interval": True}, "interval", "A valid integer is required."),
    ({"name": "ok", "action": "logger", "priority": [1]}, "priority", "A valid integer is required."),
    ({"name": "ok", "action": "logger", "priority": "-" + "1" * 5000}, "priority",
     "Ensure this value is greater than or equal to -20."),
    ({"name": "ok", "action": "logger", "start": 2000000000, "stop": 2000000000}, "stop", "stop must be after start"),
    ({"name": "ok", "action": "logger", "start": 2000000000, "stop": 1000}, "stop", "stop must be after start"),
])
def test_each_validation_error_names_its_field(bind, body, field, message):
    r = bind.post(f"{API}/schedule/", body)
    assert r.status == 400, r
    assert message in r.json()[field], r.json()


def test_names_that_differ_only_in_case_are_one_name(bind):
    first = "Case-" + uuid.uuid4().hex[:8]
    assert post_entry(bind, name=first).status == 201
    for other in (first.lower(), first.upper()):
        r = post_entry(bind, name=other)
        assert r.status == 400 and r.json() == {"name": ["schedule entry with this name already exists."]}, r
    # the store refuses it too (two requests racing past the check): a unique index on LOWER(name)
    with store.database.connection_context():
        owner = store.User.get(store.User.name == "admin")
        with pytest.raises(store.peewee.IntegrityError):
            store.ScheduleEntry.create(name=first.swapcase(), action="logger", start=0, owner=owner)
        with pytest.raises(store.peewee.IntegrityError):
            store.User.create(name="ADMIN", token_hash="f" * 64)


def test_a_name_ending_in_a_newline_is_not_a_slug_and_nothing_is_stored(bind):
    name = "nl" + uuid.uuid4().hex[:6]
    r = post_entry(bind, name=name + "\n")
    assert r.status == 400 and r.json() == {"name": [
        "Enter a valid 'slug' consisting of letters, numbers, underscores or hyphens."]}, r
    assert bind.get(f"{API}/schedule/{name}%0A/").status == 404
    assert name not in bind.get(f"{API}/schedule/").body.decode()


def test_an_integer_too_long_for_python_is_out_of_range_not_a_500(bind):
    raw = b'{"name": "ok", "action": "logger", "start": ' + b"9" * 5000 + b"}"  # past int()'s 4300 digits
    r = bind.request("POST", f"{API}/schedule/", raw=raw, headers={"Content-Type": "application/json"})
    assert r.status == 400 and r.json() == {"start": ["Ensure this value is less than or equal to 9007199254740991."]}


def test_all_bad_fields_are_reported_together(bind):
    r = bind.post(f"{API}/schedule/", {"name": "a b", "action": "foo", "interval": 0, "priority": True})
    assert r.status == 400
    assert set(r.json()) == {"name", "action", "interval", "priority"}


def test_a_taken_name_is_refused(bind):
    first = post_entry(bind).json()
    r = bind.post(f"{API}/schedule/", {"name": first["name"], "action": "logger"})
    assert r.status == 400 and r.json() == {"name": ["schedule entry with this name already exists."]}


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"", b"\xff\xfe", b"[" * 100_000 + b"]" * 100_000,
                                 b'{"a":' * 50_000 + b"1" + b"}" * 50_000],
                         ids=["not-json", "array", "empty", "not-utf8", "deep-array", "deep-object"])
def test_a_body_that_is_not_a_json_object_is_a_parse_error(bind, raw):
    r = bind.request("POST", f"{API}/schedule/", raw=raw, headers={"Content-Type": "application/json"})
    assert r.status == 400 and r.json()["detail"].startswith("JSON parse error - ")


def test_admin_only_actions_and_private_entries_are_for_admins(bind):
    r = bind.post(f"{API}/schedule/", {"name": name(), "action": "admin_logger"}, token=bind.user_token)
    assert r.status == 400 and r.json() == {"action": ['"admin_logger" is not a valid choice.']}
    assert post_entry(bind, token=bind.token, action="admin_logger").status == 201
    r = post_entry(bind, token=bind.user_token, is_private=True)
    assert r.status == 403 and r.json() == {"detail": "You do not have permission to perform this action."}


# -- schedule: change, re-plan, owner rule, delete ---------------------------------------------------
def test_patch_changes_only_what_is_sent_and_replans_on_start_or_interval(bind):
    now = int(time.time())
    e = post_entry(bind, start=now - 1000, interval=10).json()
    r = bind.request("PATCH", f"{API}/schedule/{e['name']}/", {"priority": 3, "name": "renamed"})
    assert r.status == 200 and r.json()["priority"] == 3 and r.json()["name"] == e["name"]
    assert r.json()["next_task_time"] == e["next_task_time"]  # no re-plan for a priority change
    assert r.json()["modified"] >= e["modified"]
    r = bind.request("PATCH", f"{API}/schedule/{e['name']}/", {"interval": 7})
    nxt = r.json()["next_task_time"]
    later = int(time.time())
    assert nxt >= now + 1 and (nxt - (now - 1000)) % 7 == 0 and nxt <= later + 8


def test_reactivation_replans_without_making_up_missed_runs(bind):
    now = int(time.time())
    e = post_entry(bind, start=now - 500, interval=60).json()
    bind.request("PATCH", f"{API}/schedule/{e['name']}/", {"is_active": False})
    r = bind.request("PATCH", f"{API}/schedule/{e['name']}/", {"is_active": True})
    nxt = r.json()["next_task_time"]
    assert r.json()["is_active"] is True and nxt > now and (nxt - (now - 500)) % 60 == 0


def test_put_replaces_every_writable_field_and_resets_omitted_ones(bind):
    e = post_entry(bind, priority=-3, interval=10).json()
    r = bind.request("PUT", f"{API}/schedule/{e['name']}/", {"action": "logger", "start": e["start"]})
    assert r.status == 200
    assert r.json()["priority"] == 10 and r.json()["interval"] is None and r.json()["stop"] is None
    r = bind.request("PUT", f"{API}/schedule/{e['name']}/", {"priority": 1})
    assert r.status == 400 and r.json() == {"action": ["This field is required."]}


def test_only_the_owner_or_an_admin_may_change_or_delete(bind):
    mine = post_entry(bind, token=bind.user_token).json()
    path = f"{API}/schedule/{mine['name']}/"
    forbidden = {"detail": "You do not have permission to perform this action."}
    r = bind.request("PATCH", path, {"priority": 1}, token=bind.other_token)
    assert r.status == 403 and r.json() == forbidden
    assert bind.request("DELETE", path, token=bind.other_token).status == 403
    assert bind.request("PATCH", path, {"priority": 1}, token=bind.user_token).status == 200
    assert bind.request("PATCH", path, {"priority": 2}, token=bind.token).status == 200  # admin
    assert bind.request("DELETE", path, token=bind.user_token).status == 204
    assert bind.get(path).status == 404


def test_an_entry_with_acquisitions_cannot_be_deleted(bind):
    e = post_entry(bind).json()
    add_acquisition(bind.data_dir, e["name"], 1)
    r = bind.request("DELETE", f"{API}/schedule/{e['name']}/")
    assert r.status == 400
    assert r.json()["protected_objects"] == [bind.url(f"{API}/acquisitions/{e['name']}/1/")]
    assert bind.request("DELETE", f"{API}/acquisitions/{e['name']}/").status == 204
    assert bind.request("DELETE", f"{API}/schedule/{e['name']}/").status == 204


def test_the_schedule_list_is_by_name_and_paginates(bind):
    names = sorted(e["name"] for e in bind.get(f"{API}/schedule/").json())
    assert names == [e["name"] for e in bind.get(f"{API}/schedule/").json()]
    page = bind.get(f"{API}/schedule/?limit=2&offset=1").json()
    assert [e["name"] for e in page] == names[1:3]
    assert bind.get(f"{API}/schedule/?limit=x").status == 400


# -- private entries ----------------------------------------------------------------------------
def test_private_entries_are_invisible_to_non_admins_everywhere(bind):
    secret = post_entry(bind, is_private=True).json()["name"]
    add_acquisition(bind.data_dir, secret, 1)
    user = bind.user_token
    assert secret not in [e["name"] for e in bind.get(f"{API}/schedule/", token=user).json()]
    assert secret in [e["name"] for e in bind.get(f"{API}/schedule/").json()]
    for path in (f"/schedule/{secret}/", f"/acquisitions/{secret}/", f"/acquisitions/{secret}/1/",
                 f"/acquisitions/{secret}/1/archive", f"/acquisitions/{secret}/archive",
                 f"/tasks/{secret}/", f"/tasks/{secret}/1/"):
        assert bind.get(API + path, token=user).status == 404, path
        assert bind.get(API + path).status == 200, path
    for path in ("/acquisitions/", "/tasks/", "/status", "/users/"):
        listing = bind.get(API + path, token=user)
        assert listing.status == 200 and secret not in listing.body.decode(), path
        assert secret in bind.get(API + path).body.decode() or path in ("/status", "/users/"), path
    assert bind.request("DELETE", f"{API}/schedule/{secret}/", token=user).status == 404


def test_an_entry_made_private_by_an_admin_is_hidden_from_its_owner_too(bind):
    mine = post_entry(bind, token=bind.user_token).json()
    me = bind.get(f"{API}/users/me/", token=bind.user_token).json()
    assert mine["url"] in me["schedule_entries"]
    assert bind.request("PATCH", f"{API}/schedule/{mine['name']}/", {"is_private": True}).status == 200
    me = bind.get(f"{API}/users/me/", token=bind.user_token).json()
    assert mine["url"] not in me["schedule_entries"]
    assert bind.get(f"{API}/schedule/{mine['name']}/", token=bind.user_token).status == 404
    assert bind.request("PATCH", f"{API}/schedule/{mine['name']}/", {"priority": 1}, token=bind.user_token).status == 404
    assert mine["url"] in bind.get(f"{API}/users/{me['name']}/").json()["schedule_entries"]  # admin sees it


# -- acquisitions and archives ---------------------------------------------------------------------
def test_acquisition_lists_details_and_method_rules(bind):
    e = post_entry(bind, token=bind.user_token).json()["name"]
    for task_id in (1, 2, 3):
        add_acquisition(bind.data_dir, e, task_id)
    overview = bind.get(f"{API}/acquisitions/").json()
    assert {"schedule_entry": bind.url(f"{API}/schedule/{e}/"), "acquisitions_available": 3,
            "url": bind.url(f"{API}/acquisitions/{e}/")} in overview
    everything = bind.get(f"{API}/acquisitions/").json()
    assert bind.get(f"{API}/acquisitions/?limit=1&offset=1").json() == everything[1:2]
    assert bind.get(f"{API}/acquisitions/?offset=x").status == 400
    listing = bind.get(f"{API}/acquisitions/{e}/").json()
    assert [a["task_id"] for a in listing] == [1, 2, 3]
    assert bind.get(f"{API}/acquisitions/{e}/?limit=1&offset=1").json()[0]["task_id"] == 2
    huge = 10**20  # past any SQL integer: a page bound, not a 500
    assert [a["task_id"] for a in bind.get(f"{API}/acquisitions/{e}/?limit={huge}").json()] == [1, 2, 3]
    assert bind.get(f"{API}/acquisitions/{e}/?offset={huge}").json() == []
    assert bind.get(f"{API}/tasks/{e}/?offset={huge}&limit={huge}").json() == []
    one = bind.get(f"{API}/acquisitions/{e}/2/").json()
    assert one["archive"] == bind.url(f"{API}/acquisitions/{e}/2/archive")
    assert one["sigmf_metadata"]["global"]["core:datatype"] == "rf32_le"
    assert bind.request("DELETE", f"{API}/acquisitions/").status == 405
    assert bind.request("PUT", f"{API}/acquisitions/{e}/2/", {}, token=bind.user_token).status == 405
    assert bind.request("PATCH", f"{API}/acquisitions/{e}/2/", {}, token=bind.other_token).status == 403
    assert bind.request("DELETE", f"{API}/acquisitions/{e}/2/", token=bind.other_token).status == 403
    assert bind.request("DELETE", f"{API}/acquisitions/{e}/2/", token=bind.user_token).status == 204
    assert bind.get(f"{API}/acquisitions/{e}/2/").status == 404
    assert not (bind.data_dir / "acquisitions" / e / f"{e}_2.sigmf-data").exists()
    assert bind.request("DELETE", f"{API}/acquisitions/{e}/").status == 204
    assert bind.get(f"{API}/acquisitions/{e}/").status == 404
    assert list((bind.data_dir / "acquisitions" / e).iterdir()) == []


def test_the_archive_is_a_sigmf_archive_with_the_spec_headers(bind, tmp_path):
    e = post_entry(bind).json()["name"]
    acq = add_acquisition(bind.data_dir, e, 7)
    r = bind.get(f"{API}/acquisitions/{e}/7/archive")
    assert r.status == 200
    assert r.headers["content-type"] == "application/x-tar"
    assert r.headers["content-disposition"] == f'attachment; filename="{e}_7.sigmf"'
    assert int(r.headers["content-length"]) == len(r.body)
    with tarfile.open(fileobj=io.BytesIO(r.body)) as tar:
        assert sorted(tar.getnames()) == sorted([f"{e}_7", f"{e}_7/{e}_7.sigmf-meta", f"{e}_7/{e}_7.sigmf-data"]) \
            or sorted(tar.getnames()) == sorted([f"{e}_7/{e}_7.sigmf-meta", f"{e}_7/{e}_7.sigmf-data"])
    path = tmp_path / f"{e}_7.sigmf"
    path.write_bytes(r.body)
    rec = sigmffile.fromarchive(str(path))
    assert rec.get_global_field("core:sha512") == acq.sha512
    with tarfile.open(fileobj=io.BytesIO(r.body)) as tar:
        data = tar.extractfile(f"{e}_7/{e}_7.sigmf-data").read()
    assert hashlib.sha512(data).hexdigest() == acq.sha512 and len(data) == acq.data_bytes
    assert rec.validate() is None
    assert bind.get(f"{API}/acquisitions/{e}/7/archive").body == r.body  # byte-identical reads
    add_acquisition(bind.data_dir, e, 8)
    whole = bind.get(f"{API}/acquisitions/{e}/archive")
    assert whole.headers["content-disposition"] == f'attachment; filename="{e}.sigmf"'
    with tarfile.open(fileobj=io.BytesIO(whole.body)) as tar:
        names = tar.getnames()
    assert f"{e}_7/{e}_7.sigmf-data" in names and f"{e}_8/{e}_8.sigmf-meta" in names


# -- capabilities, status, users, tasks -----------------------------------------------------------
def test_capabilities_list_actions_for_the_callers_role(bind):
    admin = bind.get(f"{API}/capabilities/").json()
    user = bind.get(f"{API}/capabilities/", token=bind.user_token).json()
    names = {a["name"] for a in admin["actions"]}
    assert {"acquire700c", "logger", "admin_logger"} <= names
    assert "admin_logger" not in {a["name"] for a in user["actions"]}
    acq = next(a for a in admin["actions"] if a["name"] == "acquire700c")
    assert acq["flowgraph"] == "acquire700c.grc" and acq["parameters"]["frequency"] == 751e6
    assert admin["minimum_frequency"] < 751e6 < admin["maximum_frequency"]
    assert admin["mobility"] is False and admin["sensor_definition"]["sensor_spec"]["id"] == "scos-gr"
    assert len(admin["sensor_definition"]["sensor_sha512"]) == 128 and admin["location"] is None
    analyzer = admin["sensor_definition"]["signal_analyzer"]
    assert (analyzer["frequency_low"], analyzer["frequency_high"]) == (admin["minimum_frequency"], admin["maximum_frequency"])


def test_status_without_a_scheduler_is_dead_and_shows_the_queue(bind):
    start = int(time.time()) + 5
    e = post_entry(bind, start=start, interval=2).json()["name"]
    status = bind.get(f"{API}/status").json()
    assert status["scheduler"] == "dead"  # this server runs with --no-scheduler
    assert status["scheduler_detail"] == "no scheduler is running for this database"
    mine = [t for t in status["task_queue"] if t["schedule_entry"].endswith(f"/schedule/{e}/")]
    assert mine and mine[0]["time"] == start and mine[0]["action"] == "logger"
    assert [t["time"] for t in status["task_queue"]] == sorted(t["time"] for t in status["task_queue"])
    assert status["disk"]["free_bytes"] > 0


def test_status_reads_the_schedulers_heartbeat_from_the_store(bind):
    secret = post_entry(bind, is_private=True).json()["name"]
    S = store.SchedulerState
    try:
        with store.database.connection_context():
            S.delete().execute()
            S.create(id=1, state="idle", heartbeat=time.time(), started=time.time() - 30, owner="test-lock",
                     radio_args="sim", radio_driver="sim", radio_healthy=False, radio_detail="level -200 dBm")
        status = bind.get(f"{API}/status").json()
        assert status["scheduler"] == "idle" and 29 <= status["uptime_s"] <= 60
        assert status["scheduler_detail"] == ""
        assert status["radio"] == {"driver": "sim", "args": "sim", "healthy": False, "detail": "level -200 dBm"}
        with store.database.connection_context():
            S.update(state="running", heartbeat=time.time(), current_entry=secret, current_task_id=4).execute()
        status = bind.get(f"{API}/status").json()
        assert status["scheduler"] == "running"
        assert status["current_task"] == {"schedule_entry": bind.url(f"{API}/schedule/{secret}/"), "task_id": 4}
        hidden = bind.get(f"{API}/status", token=bind.user_token).json()
        assert hidden["scheduler"] == "running" and "current_task" not in hidden  # private: admins only
        last = {"schedule_entry": secret, "task_id": 3, "status": "success", "finished": time.time()}
        with store.database.connection_context():
            S.update(last_task=last).execute()
        assert bind.get(f"{API}/status").json()["last_task"] == {**last, "schedule_entry": bind.url(f"{API}/schedule/{secret}/")}
        assert bind.get(f"{API}/status", token=bind.user_token).json()["last_task"] is None
        with store.database.connection_context():  # a loop that stopped beating is dead
            S.update(heartbeat=time.time() - 60, pid=4242, host="sensor-1").execute()
        status = bind.get(f"{API}/status").json()
        assert status["scheduler"] == "dead"
        assert status["scheduler_detail"].startswith("no heartbeat for 6") and "pid 4242 on sensor-1" in status["scheduler_detail"]
        with store.database.connection_context():  # warming up: alive, but no task can run yet
            S.update(heartbeat=time.time(), state="starting").execute()
        status = bind.get(f"{API}/status").json()
        assert status["scheduler"] == "dead" and status["scheduler_detail"].startswith("starting:")
    finally:
        with store.database.connection_context():
            S.delete().execute()


def test_capabilities_take_the_frequency_range_the_worker_measured(bind):
    from gnuradio.scos.radio import SIM_FREQUENCY_RANGE  # the test may import GNU Radio; the server not

    S = store.SchedulerState
    caps = bind.get(f"{API}/capabilities/").json()
    assert (caps["minimum_frequency"], caps["maximum_frequency"]) == tuple(SIM_FREQUENCY_RANGE)
    try:
        with store.database.connection_context():
            S.delete().execute()
            S.create(id=1, state="stopped", radio_args="sim", radio_driver="sim",
                     radio_min_frequency=24e6, radio_max_frequency=1.766e9)
        caps = bind.get(f"{API}/capabilities/").json()
        assert (caps["minimum_frequency"], caps["maximum_frequency"]) == (24e6, 1.766e9)
        with store.database.connection_context():  # measured for another radio: not ours
            S.update(radio_args="rtl=0").execute()
        caps = bind.get(f"{API}/capabilities/").json()
        assert (caps["minimum_frequency"], caps["maximum_frequency"]) == tuple(SIM_FREQUENCY_RANGE)
    finally:
        with store.database.connection_context():
            S.delete().execute()


def test_users_admin_sees_all_a_user_only_itself(bind):
    everyone = bind.get(f"{API}/users/").json()
    assert len(everyone) >= 3 and {"url", "name", "is_admin", "schedule_entries"} <= set(everyone[0])
    me = bind.get(f"{API}/users/", token=bind.user_token).json()
    assert len(me) == 1 and me[0] == bind.get(f"{API}/users/me/", token=bind.user_token).json()
    assert bind.get(f"{API}/users/admin/", token=bind.user_token).status == 404
    assert bind.get(f"{API}/users/admin/").json()["is_admin"] is True


def test_tasks_log_links_acquisitions(bind):
    e = post_entry(bind).json()["name"]
    add_acquisition(bind.data_dir, e, 1)
    with store.database.connection_context():
        store.Task.create(entry_name=e, task_id=2, action="acquire700c", status=store.TASK_FAILURE,
                          detail="radio 'sim' failed", finished=store.utcnow())
    tasks = bind.get(f"{API}/tasks/{e}/").json()
    assert [(t["task_id"], t["status"]) for t in tasks] == [(1, "success"), (2, "failure")]
    assert tasks[0]["acquisition"] == bind.url(f"{API}/acquisitions/{e}/1/")
    assert tasks[1]["acquisition"] is None and tasks[1]["detail"] == "radio 'sim' failed"
    assert bind.get(f"{API}/tasks/{e}/2/").json()["status"] == "failure"
    assert bind.get(f"{API}/tasks/{e}/3/").status == 404


def test_the_web_process_never_loads_gnu_radio(bind):
    for path in ("/", "/capabilities/", "/status", "/schedule/", "/acquisitions/", "/tasks/"):
        assert bind.get(API + path).status == 200
    maps = Path(f"/proc/{bind.proc.pid}/maps").read_text()
    assert "libgnuradio" not in maps and "osmosdr" not in maps


def test_each_request_is_logged_once(bind):
    nonce = uuid.uuid4().hex
    bind.get(f"{API}/users/me/?n={nonce}")
    bind.get(f"{API}/users/me/?n={nonce}", token=None)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and bind.log().count(nonce) < 2:
        time.sleep(0.05)
    lines = [line for line in bind.log().splitlines() if nonce in line]
    assert len(lines) == 2, lines
    assert f'"GET {API}/users/me/?n={nonce}" 200' in lines[0] and f'" 401' in lines[1]


def test_the_openapi_document_is_served_and_valid(bind):
    from openapi_spec_validator import validate

    document = bind.get(f"{API}/schema/").json()
    validate(document)
    assert "/api/v1/schedule/{name}/" in document["paths"]


def test_no_traceback_reaches_a_client(bind):
    r = bind.get(f"{API}/acquisitions/{'x' * 300}/99999999999999999999/")
    assert r.status in (404, 400) and b"Traceback" not in r.body
    r = bind.request("POST", f"{API}/schedule/", {"name": "ok-" + uuid.uuid4().hex[:6], "action": "logger",
                                                     "start": 10**30})
    assert r.status == 400 and "start" in r.json()
