"""HTTP plumbing shared by the API's route modules: route tables, JSON responses, errors, URLs,
paging.

Handlers are module-level functions declared on a module's :class:`Routes` table and installed
on an app by :func:`scos_gr.api.app.make_app`; the app's :class:`~scos_gr.api.auth.AuthPlugin`
wraps each one (database connection, token, errors as JSON). A handler raises :class:`ApiError`
for any answer other than success.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import bottle
import peewee

from scos_gr.errors import ApiRequestError
from scos_gr.task_json import API_PATH

from . import openapi

API = API_PATH

NOT_AUTHENTICATED = "Authentication credentials were not provided."
INVALID_TOKEN = "Invalid token."
FORBIDDEN = "You do not have permission to perform this action."
NOT_FOUND = "Not found."
NOT_INTEGER = "A valid integer is required."


class ApiError(ApiRequestError):
    """An answer other than success: ``status`` and a JSON ``body`` (and optional headers)."""

    def __init__(self, status: int, body: Any, headers: Optional[dict[str, str]] = None) -> None:
        super().__init__(f"HTTP {status}: {json.dumps(body)}")
        self.status = status
        self.body = body
        self.headers = headers or {}


def detail(status: int, message: str, **headers: str) -> ApiError:
    return ApiError(status, {"detail": message}, {k.replace("_", "-"): v for k, v in headers.items()})


def not_found() -> ApiError:
    return detail(404, NOT_FOUND)


def forbidden() -> ApiError:
    return detail(403, FORBIDDEN)


def method_not_allowed(*allowed: str) -> ApiError:
    return ApiError(405, {"detail": f'Method "{bottle.request.method}" not allowed.'}, {"Allow": ", ".join(allowed)})


def json_body(value: Any, status: int = 200, headers: Optional[dict[str, str]] = None) -> str:
    bottle.response.status = status
    bottle.response.content_type = "application/json"
    for key, val in (headers or {}).items():
        bottle.response.set_header(key, val)
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def no_content() -> str:
    bottle.response.status = 204
    return ""


# -- routes --------------------------------------------------------------------------------------
@dataclass
class Routes:
    """The routes one module declares, installed on an app by :meth:`install` (a blueprint).

    ``prefix`` is put before every path; route ``config`` goes to Bottle's route config, where
    plugins read it (``auth=False``: the :class:`~scos_gr.api.auth.AuthPlugin` leaves it alone).
    """

    prefix: str = API
    declared: list[tuple[str, str | list[str], Callable[..., Any], dict[str, Any]]] = field(default_factory=list)

    def route(self, path: str, method: str | list[str] = "GET", **config: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        def declare(handler: Callable[..., Any]) -> Callable[..., Any]:
            self.declared.append((self.prefix + path, method, handler, config))
            return handler

        return declare

    def get(self, path: str, **config: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route(path, "GET", **config)

    def delete(self, path: str, **config: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        return self.route(path, "DELETE", **config)

    def install(self, app: bottle.Bottle) -> None:
        for path, method, handler, config in self.declared:
            app.route(path, method, handler, **config)


# -- URLs ----------------------------------------------------------------------------------------
def base_url() -> str:
    """scheme://host[:port] as the client addressed us (spec: absolute URLs from the Host header)."""
    parts = bottle.request.urlparts
    return f"{parts.scheme}://{parts.netloc}"


def url(path: str) -> str:
    """Absolute URL of an API path (``path`` starts after ``/api/v1``)."""
    return f"{base_url()}{API}{path}"


def entry_url(name: str) -> str:
    return url(f"/schedule/{name}/")


# -- request bodies ------------------------------------------------------------------------------
#: integers longer than this are out of every range the API accepts (and Python refuses to parse
#: more than 4300 digits): they become a value just as out of range, so the answer is the range message
MAX_DIGITS = 30


def integer_from_digits(text: str) -> int:
    """``int(text)`` for a string of decimal digits (optional sign), however long."""
    text = text.strip()
    digits = text.lstrip("+-")
    if len(digits.lstrip("0")) > MAX_DIGITS:
        return -(10**MAX_DIGITS) if text.startswith("-") else 10**MAX_DIGITS
    return int(text)


def read_json_object() -> dict[str, Any]:
    """The request body as a JSON object, or the spec's 400 JSON parse error."""
    raw = bottle.request.body.read()
    try:
        value = json.loads(raw.decode("utf-8") if raw else "", parse_int=integer_from_digits)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError are ValueErrors
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise detail(400, f"JSON parse error - {reason}") from None
    if not isinstance(value, dict):
        raise detail(400, "JSON parse error - expected a JSON object")
    return value


# -- paging (ext) --------------------------------------------------------------------------------
#: beyond 2**53 nothing changes what a page holds, and SQL integers are 64-bit: larger values are clamped
PAGE_MAX = 2**53


def _query_integer(name: str) -> Optional[int]:
    """``?name=`` as an integer within the document's bounds for that parameter, or None if absent."""
    query = bottle.request.query
    if name not in query:
        return None
    try:
        value = int(query[name])
    except ValueError:
        raise ApiError(400, {name: [NOT_INTEGER]}) from None
    errors = openapi.parameter(name).bound_errors(value)
    if errors:
        raise ApiError(400, {name: errors})
    return min(value, PAGE_MAX)


def page_bounds() -> tuple[int, Optional[int]]:
    """(offset, limit) of ``?limit=&offset=``; limit None for the whole list."""
    offset = _query_integer("offset")
    return offset or 0, _query_integer("limit")


def paginate(items: list[Any]) -> list[Any]:
    """``?limit=&offset=`` slice a list; absent, the whole list (the original form)."""
    offset, limit = page_bounds()
    return items[offset: None if limit is None else offset + limit]


def sql_page(query: peewee.Select) -> peewee.Select:
    """``?limit=&offset=`` applied to a query, for lists paged in SQL."""
    offset, limit = page_bounds()
    page = query.offset(offset)
    return page if limit is None else page.limit(limit)
