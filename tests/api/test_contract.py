"""One validation contract: every bound the OpenAPI document states is the bound the server
enforces, and the server enforces no bound the document does not state.

The cases are read from the document (``ScheduleEntryInput``'s properties and the list query
parameters) and sent to a live server: for each documented minimum, maximum, length, pattern and
nullability, the value on the edge is accepted and the one past it is refused with the message
naming that bound; a side without a documented bound accepts values far out. A bound added to,
changed in or dropped from the document without the server following it (or the reverse) fails
here.
"""
from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest

from scos_gr.api.openapi import document, resolve
from tests.live_server import LiveServer

API = "/api/v1"
FAR = 10**20  # far past every bound; still parsed as a number
#: the answer for a value past a side the document leaves open: no range message for that field
NO_BOUND = "no range message"
SLUG = "Enter a valid 'slug' consisting of letters, numbers, underscores or hyphens."


INPUT = {name: resolve(prop)
         for name, prop in resolve({"$ref": "#/components/schemas/ScheduleEntryInput"})["properties"].items()}
QUERY = {p["name"]: resolve(p["schema"]) for p in map(resolve, document()["components"]["parameters"].values())
         if p["in"] == "query"}


@pytest.fixture(scope="module")
def live(tmp_path_factory):
    server = LiveServer(tmp_path_factory.mktemp("contract") / "data", scheduler=False).start()
    yield server
    server.stop()


def _name() -> str:
    return "c-" + uuid.uuid4().hex[:10]


def _send(live: LiveServer, field: str, value: Any, token: str = "default"):
    """The body field ``field`` = ``value`` in a request that is valid otherwise: a POST for
    ``name``, else a PUT to a fresh entry (it validates every other field, ``is_active`` too)."""
    if field == "name":
        return live.post(f"{API}/schedule/", {"name": value, "action": "logger"}, token=token)
    entry = _name()
    assert live.post(f"{API}/schedule/", {"name": entry, "action": "logger"}, token=token).status == 201
    return live.request("PUT", f"{API}/schedule/{entry}/", {"action": "logger", field: value}, token=token)


def _bound_cases(schema: dict[str, Any]):
    """(value, expected message) for a documented integer: each edge is accepted (None) and the
    value one past it refused with the range message; a side with no bound takes values far out."""
    if "minimum" in schema:
        yield schema["minimum"], None
        yield schema["minimum"] - 1, f"Ensure this value is greater than or equal to {schema['minimum']}."
    else:
        yield -FAR, NO_BOUND
    if "maximum" in schema:
        yield schema["maximum"], None
        yield schema["maximum"] + 1, f"Ensure this value is less than or equal to {schema['maximum']}."
    else:
        yield FAR, NO_BOUND


def _check(response, field: str, message: str | None) -> None:
    if message is None:
        assert response.status in (200, 201), (field, response)
    elif message == NO_BOUND:  # whatever else it says
        errors = response.json().get(field, []) if response.status == 400 else []
        assert not [m for m in errors if m.startswith("Ensure this value")], (field, response)
    else:
        assert response.status == 400 and message in response.json().get(field, []), (field, response)


@pytest.mark.parametrize("field, value, message", [
    (field, value, message) for field, schema in INPUT.items() if schema["type"] == "integer"
    for value, message in _bound_cases(schema)])
def test_integer_bounds_are_the_documents(live, field, value, message):
    _check(_send(live, field, value), field, message)


@pytest.mark.parametrize("field, value, message", [
    (field, value, message) for field, schema in INPUT.items() if "x-user-minimum" in schema
    for value, message in _bound_cases({**schema, "minimum": schema["x-user-minimum"]})])
def test_the_user_minimum_is_the_documents_for_callers_who_are_not_admins(live, field, value, message):
    """``x-user-minimum`` (the priority band): a user's bound; an admin's is ``minimum`` above."""
    if not hasattr(live, "user_token"):
        live.user_token = live.create_user("contract-user")
    _check(_send(live, field, value, token=live.user_token), field, message)


def _ecma_matches(pattern: str, text: str) -> bool:
    """JSON Schema's (ECMA-262) reading of a pattern: ``$`` is the very end of the string."""
    return re.search(pattern[:-1] + r"\Z" if pattern.endswith("$") else pattern, text) is not None


#: per string field: what a value that misses its pattern is told, a prefix that makes a value
#: of any length match it, and texts to try against it
PATTERNED = {
    "name": (SLUG, "", ("Ab-9_z", "a b", "ab\n", "\nab", "a/b", "a.b", "\u00e9t\u00e9")),
    "callback_url": ("Enter a valid URL.", "http://h/",
                     ("http://receiver.example:8080/scos?sensor=1#x", "https://[::1]:8443/", "HTTP://h/", "ftp://h/",
                      "http://", "http:///x", "http://h x/", "http://h/\u00e9", "http://h/\n", "receiver/x", "")),
}


def _string_cases():
    for field, schema in INPUT.items():
        if schema["type"] != "string":
            continue
        message, prefix, probes = PATTERNED.get(field, (None, "", ()))
        if "minLength" in schema:
            low = schema["minLength"]
            yield field, prefix + "n" * (low - len(prefix)), None
            if low == 1:
                yield field, "", "This field may not be blank."
        if "maxLength" in schema:
            high = schema["maxLength"]
            yield field, prefix + "n" * (high - len(prefix)), None
            yield field, prefix + "n" * (high + 1 - len(prefix)), f"Ensure this field has no more than {high} characters."
        if "pattern" in schema:
            assert message, f"{field}: a patterned field needs its message in PATTERNED"
            for text in probes:
                yield field, text, None if _ecma_matches(schema["pattern"], text) else message


@pytest.mark.parametrize("field, value, message", list(_string_cases()))
def test_string_lengths_and_patterns_are_the_documents(live, field, value, message):
    # a unique name of the same length and kind, so "taken" never hides the answer
    if message is None and field == "name":
        value = (uuid.uuid4().hex * 2)[: len(value)] if set(value) == {"n"} else value + uuid.uuid4().hex[:6]
    _check(_send(live, field, value), field, message)


@pytest.mark.parametrize("field", list(INPUT))
def test_null_is_accepted_exactly_where_the_document_says_nullable(live, field):
    _check(_send(live, field, None), field, None if INPUT[field].get("nullable") else "This field may not be null.")


#: a value of the wrong type for each documented type (a string field is named whatever it says)
WRONG_TYPE = {"integer": ("x", "A valid integer is required."), "boolean": ("maybe", "Must be a valid boolean."),
              "string": (5, None)}


@pytest.mark.parametrize("field", list(INPUT))
def test_every_documented_field_is_validated_by_its_type(live, field):
    value, message = WRONG_TYPE[INPUT[field]["type"]]
    r = _send(live, field, value)
    assert r.status == 400 and field in r.json(), (field, r)
    assert message is None or r.json()[field] == [message], (field, r)


def test_defaults_are_the_documents(live):
    """An entry made with only name and action takes each field's documented default, or null
    where the field is nullable and has none (start: now + 1 s, as its description says)."""
    entry = live.post(f"{API}/schedule/", {"name": _name(), "action": "logger"}).json()
    assert abs(entry["start"] - (time.time() + 1)) < 5
    optional = {f: s for f, s in INPUT.items() if f in entry and f != "start" and ("default" in s or s.get("nullable"))}
    assert set(optional) == {"priority", "stop", "interval", "is_active", "is_private", "callback_url"}
    for field, schema in optional.items():
        assert entry[field] == schema.get("default"), (field, entry[field], schema)


@pytest.mark.parametrize("name, value, message", [
    (name, value, message) for name, schema in QUERY.items() for value, message in _bound_cases(schema)])
def test_query_parameter_bounds_are_the_documents(live, name, value, message):
    r = live.get(f"{API}/schedule/?{name}={value}")
    _check(r, name, message)
    if r.status == 400:
        assert r.json() == {name: [message]}, (name, value, r)
