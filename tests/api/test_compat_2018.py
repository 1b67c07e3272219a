"""The 2018 SCOS sensor's own schedule tests (NTIA scos-sensor, src/schedule/tests), ported as
black-box HTTP checks against a live scos-gr: what an original client relies on.

Ported: the priority bands (users 0..19, admins -20..19), null meaning "not given" for
`priority` (its default, 10), `validate_only` (validate, store nothing, 204; a bad entry 400),
and the user/admin view rules those tests pin. Rewritten for this API (epoch seconds instead of
ISO strings, ``relative_stop`` a boolean), never copied.
"""
from __future__ import annotations

import time
import uuid

import pytest

from tests.live_server import LiveServer

API = "/api/v1"


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def sensor(request, tmp_path_factory):
    url = request.getfixturevalue("pg_cluster").create_database() if request.param == "postgresql" else None
    server = LiveServer(tmp_path_factory.mktemp(f"compat-{request.param}") / "data", scheduler=False,
                        database_url=url).start()
    server.user = server.create_user("u" + uuid.uuid4().hex[:8])
    yield server
    server.stop()


def entry(**fields):
    return {"name": "t" + uuid.uuid4().hex[:10], "action": "logger", "start": int(time.time()) + 3600, **fields}


def post(sensor, body, token):
    return sensor.post(f"{API}/schedule/", body, token=token)


# -- priority ------------------------------------------------------------------------------------
@pytest.mark.parametrize("priority", [-20, -1])
def test_a_user_cannot_use_a_negative_priority(sensor, priority):
    r = post(sensor, entry(priority=priority), sensor.user)
    assert r.status == 400, r
    assert r.json() == {"priority": ["Ensure this value is greater than or equal to 0."]}


@pytest.mark.parametrize("priority", [0, 19])
def test_a_user_may_use_the_default_band(sensor, priority):
    r = post(sensor, entry(priority=priority), sensor.user)
    assert r.status == 201 and r.json()["priority"] == priority, r


def test_an_admin_may_go_ahead_of_the_band_down_to_minus_20(sensor):
    assert post(sensor, entry(priority=-20), sensor.token).json()["priority"] == -20
    r = post(sensor, entry(priority=-21), sensor.token)
    assert r.status == 400 and r.json() == {"priority": ["Ensure this value is greater than or equal to -20."]}


def test_a_user_cannot_move_an_entry_ahead_of_the_band_with_put_or_patch(sensor):
    body = entry()
    assert post(sensor, body, sensor.user).status == 201
    url = f"{API}/schedule/{body['name']}/"
    for method, change in (("PATCH", {"priority": -1}), ("PUT", {"action": "logger", "priority": -5})):
        r = sensor.request(method, url, change, token=sensor.user)
        assert r.status == 400 and "priority" in r.json(), (method, r)
    assert sensor.get(url, token=sensor.user).json()["priority"] == 10


def test_null_means_not_given_the_default_priority(sensor):
    # 2018: "All non-boolean, non-required fields accept null to mean not defined"
    body = entry(start=None, stop=None, priority=None, interval=None, relative_stop=None)
    r = post(sensor, body, sensor.user)
    assert r.status == 201, r
    made = r.json()
    assert made["priority"] == 10 and made["stop"] is None and made["interval"] is None
    assert abs(made["start"] - (time.time() + 1)) < 5
    url = f"{API}/schedule/{body['name']}/"
    assert sensor.request("PATCH", url, {"priority": 3}, token=sensor.user).json()["priority"] == 3
    assert sensor.request("PATCH", url, {"priority": None}, token=sensor.user).json()["priority"] == 10


# -- validate_only -------------------------------------------------------------------------------
def test_validate_only_with_a_good_entry_answers_204_and_stores_nothing(sensor):
    body = entry(validate_only=True)
    r = post(sensor, body, sensor.user)
    assert r.status == 204 and r.body == b"", r
    assert sensor.get(f"{API}/schedule/{body['name']}/", token=sensor.user).status == 404
    # the name is still free: the same entry without validate_only is created
    del body["validate_only"]
    assert post(sensor, body, sensor.user).status == 201


def test_validate_only_with_a_bad_entry_answers_400_and_stores_nothing(sensor):
    body = entry(interval=1.5, validate_only=True)  # a non-integer interval
    r = post(sensor, body, sensor.user)
    assert r.status == 400 and r.json() == {"interval": ["A valid integer is required."]}, r
    assert sensor.get(f"{API}/schedule/{body['name']}/", token=sensor.user).status == 404


def test_validate_only_false_is_an_ordinary_request(sensor):
    assert post(sensor, entry(validate_only=False), sensor.user).status == 201


def test_validate_only_checks_everything_a_real_request_checks(sensor):
    taken = entry()
    assert post(sensor, taken, sensor.user).status == 201
    r = post(sensor, {**taken, "validate_only": True}, sensor.user)
    assert r.status == 400 and r.json() == {"name": ["schedule entry with this name already exists."]}
    r = post(sensor, entry(is_private=True, validate_only=True), sensor.user)
    assert r.status == 403  # is_private from a user, as without validate_only
    r = post(sensor, entry(priority=-1, validate_only=True), sensor.user)
    assert r.status == 400 and "priority" in r.json()


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
def test_validate_only_on_put_and_patch_changes_nothing(sensor, method):
    body = entry(interval=60)
    assert post(sensor, body, sensor.user).status == 201
    url = f"{API}/schedule/{body['name']}/"
    before = sensor.get(url, token=sensor.user).json()
    r = sensor.request(method, url, {"action": "logger", "interval": 5, "priority": 2, "validate_only": True},
                       token=sensor.user)
    assert r.status == 204, r
    assert sensor.get(url, token=sensor.user).json() == before
    r = sensor.request(method, url, {"action": "logger", "interval": 0, "validate_only": True}, token=sensor.user)
    assert r.status == 400 and "interval" in r.json()


# -- the view rules the same 2018 tests pin --------------------------------------------------------
def test_a_user_cannot_post_a_private_entry_and_cannot_see_an_admins(sensor):
    assert post(sensor, entry(is_private=True), sensor.user).status == 403
    private = entry(is_private=True)
    assert post(sensor, private, sensor.token).status == 201
    assert sensor.get(f"{API}/schedule/{private['name']}/", token=sensor.user).status == 404
    names = [e["name"] for e in sensor.get(f"{API}/schedule/", token=sensor.user).json()]
    assert private["name"] not in names


def test_a_user_deletes_its_entry_once_then_404(sensor):
    body = entry()
    assert post(sensor, body, sensor.user).status == 201
    url = f"{API}/schedule/{body['name']}/"
    assert sensor.request("DELETE", url, token=sensor.user).status == 204
    assert sensor.request("DELETE", url, token=sensor.user).status == 404
