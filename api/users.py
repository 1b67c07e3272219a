"""Users: who they are (GET), and **(ext)** their management by admins over the API.

``POST /users/`` makes a user and shows its token this once; ``DELETE /users/{name}/`` removes
one who owns no entry; ``POST /users/{name}/token/`` gives a new token (an admin for anyone, a
user for itself, ``me`` included) and the old one stops at once. The rules are
:mod:`scos_gr.users`' (the command line's too); this module words them as HTTP answers.
"""
from __future__ import annotations

from typing import Any

from scos_gr import store, users
from scos_gr.users import LastAdmin, NoSuchUser, ReservedName, UserExists, UserOwnsEntries

from . import openapi
from .validation import NOT_NULL, REQUIRED, parse_boolean, parse_text
from .web import ApiError, Routes, detail, entry_url, forbidden, json_body, no_content, not_found, paginate, \
    read_json_object, url

routes = Routes()
NAME_TAKEN = "user with this name already exists."


def user_url(name: str) -> str:
    return url(f"/users/{name}/")


def represent(user: store.User, viewer: store.User) -> dict[str, Any]:
    entries = store.ScheduleEntry.select(store.ScheduleEntry.name).where(store.ScheduleEntry.owner == user) \
        .order_by(store.ScheduleEntry.name)
    if not viewer.is_admin:  # an entry an admin made private is hidden from its owner too
        entries = entries.where(store.ScheduleEntry.is_private == False)  # noqa: E712
    return {"url": user_url(user.name), "name": user.name, "is_admin": user.is_admin,
            "schedule_entries": [entry_url(e.name) for e in entries]}


def _named(name: str, viewer: store.User) -> store.User:
    """The user ``name`` (``me``: the caller) as ``viewer`` may see it: admins see everyone, a
    user only itself (anyone else is 404, as if absent)."""
    if name == "me":
        return viewer
    if not viewer.is_admin and name != viewer.name:
        raise not_found()
    other = store.User.get_or_none(store.User.name == name)
    if other is None:
        raise not_found()
    return other


@routes.get("/users/")
def list_users(*, user: store.User) -> str:
    rows = store.User.select().order_by(store.User.name) if user.is_admin else [user]
    return json_body(paginate([represent(u, user) for u in rows]))


@routes.get("/users/<name>/")
def one_user(name: str, *, user: store.User) -> str:
    """``/users/me/`` too: the caller."""
    return json_body(represent(_named(name, user), user))


def _validated(body: dict[str, Any]) -> tuple[str, bool]:
    """(name, is_admin) of a ``UserInput`` body, or 400 with every bad field."""
    rules = openapi.schema_fields("UserInput")
    errors: dict[str, list[str]] = {}
    name = body.get("name")
    if name is None:
        errors["name"] = [REQUIRED if "name" not in body else NOT_NULL]
    else:
        name = parse_text(rules["name"], name, errors.setdefault("name", []))
    is_admin = body.get("is_admin")
    if is_admin is None:  # null: as if absent
        is_admin = rules["is_admin"].default
    else:
        is_admin = parse_boolean(is_admin, errors.setdefault("is_admin", []))
    errors = {k: v for k, v in errors.items() if v}
    if errors:
        raise ApiError(400, errors)
    return name, bool(is_admin)


@routes.route("/users/", "POST")
def create_user(*, user: store.User) -> str:
    if not user.is_admin:
        raise forbidden()
    name, is_admin = _validated(read_json_object())
    try:
        created, token = users.create_user(name, is_admin)
    except UserExists:
        raise ApiError(400, {"name": [NAME_TAKEN]}) from None
    except ReservedName as exc:
        raise ApiError(400, {"name": [str(exc)]}) from None
    return json_body({**represent(created, user), "token": token}, 201, {"Location": user_url(created.name)})


@routes.delete("/users/<name>/")
def delete_user(name: str, *, user: store.User) -> str:
    if not user.is_admin:
        raise forbidden()
    try:
        users.delete_user(name, keep_an_admin=True)
    except NoSuchUser:
        raise not_found() from None
    except UserOwnsEntries as exc:
        raise ApiError(400, {"detail": f"Cannot delete user {name!r}: {exc}.",
                             "protected_objects": [entry_url(e) for e in exc.entries]}) from None
    except LastAdmin as exc:
        raise detail(400, f"Cannot delete user {name!r}: {exc}.") from None
    return no_content()


@routes.route("/users/<name>/token/", "POST")
def rotate_token(name: str, *, user: store.User) -> str:
    target = _named(name, user)
    try:
        rotated, token = users.rotate_token(target.name)
    except NoSuchUser:  # deleted by a request that ran in between
        raise not_found() from None
    return json_body({**represent(rotated, user), "token": token})
