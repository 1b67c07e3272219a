"""HTTP plumbing shared by the API's route modules: JSON responses, errors, auth, URLs.

Every handler runs inside :func:`api_route`'s wrapper, which opens a database connection for the
request, turns :class:`ApiError` into its JSON answer and any other exception into the spec's
500 ``{"detail": "Internal server error"}`` (the trace goes to the log, never to the client).
"""
from __future__ import annotations

import functools
import hmac
import json
import logging
from typing import Any, Callable, Optional

import bottle

from scos_gr import store
from scos_gr.errors import ApiRequestError

log = logging.getLogger("scos_gr.api")

API = "/api/v1"

NOT_AUTHENTICATED = "Authentication credentials were not provided."
INVALID_TOKEN = "Invalid token."
FORBIDDEN = "You do not have permission to perform this action."
NOT_FOUND = "Not found."


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


def json_body(value: Any, status: int = 200, headers: Optional[dict[str, str]] = None) -> str:
    bottle.response.status = status
    bottle.response.content_type = "application/json"
    for key, val in (headers or {}).items():
        bottle.response.set_header(key, val)
    return json.dumps(value, separators=(",", ":"), allow_nan=False)


def base_url() -> str:
    """scheme://host[:port] as the client addressed us (spec: absolute URLs from the Host header)."""
    parts = bottle.request.urlparts
    return f"{parts.scheme}://{parts.netloc}"


def url(path: str) -> str:
    """Absolute URL of an API path (``path`` starts after ``/api/v1``)."""
    return f"{base_url()}{API}{path}"


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


# -- authentication ------------------------------------------------------------------------------
def token_from_request() -> Optional[str]:
    """The key of ``Authorization: Token <key>`` or ``Token: <key>``.

    Read from the raw WSGI environ: Bottle's header dict re-decodes values as UTF-8 and raises on
    other bytes, and a garbled header must be an invalid token (401), never a 500.
    """
    environ = bottle.request.environ
    header = environ.get("HTTP_AUTHORIZATION", "")
    if header:
        scheme, _, key = header.strip().partition(" ")
        if scheme.lower() == "token" and key.strip():
            return key.strip()
    key = environ.get("HTTP_TOKEN", "")
    return key.strip() or None


def authenticate() -> store.User:
    """The calling user, or 401 with ``WWW-Authenticate: Token``."""
    token = token_from_request()
    if not token:
        raise detail(401, NOT_AUTHENTICATED, WWW_Authenticate="Token")
    digest = store.User.hash_token(token)
    user = store.User.get_or_none(store.User.token_hash == digest)
    # the lookup is by a hash of the token; compare the stored hash in constant time as well
    if user is None or not hmac.compare_digest(user.token_hash, digest):
        raise detail(401, INVALID_TOKEN, WWW_Authenticate="Token")
    return user


def api_route(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Authenticate, give the handler the user, answer errors as JSON, never leak a trace."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            with store.database.connection_context():
                user = authenticate()
                if any(isinstance(v, str) and "\x00" in v for v in kwargs.values()):
                    # no name can hold a NUL (PostgreSQL cannot even compare one): it does not exist
                    raise not_found()
                return handler(user, *args, **kwargs)
        except ApiError as err:
            return json_body(err.body, err.status, err.headers)
        except bottle.HTTPResponse:
            raise
        except Exception:
            log.exception("unexpected error in %s %s", bottle.request.method, bottle.request.path)
            return json_body({"detail": "Internal server error"}, 500)

    return wrapper


def visible_entry(user: store.User, name: str) -> store.ScheduleEntry:
    """The entry if it exists and the caller may see it (private ones: admins only), else 404.

    A private entry answers a non-admin exactly as a missing one does, so its name leaks nothing.
    """
    entry = store.ScheduleEntry.get_or_none(store.ScheduleEntry.name == name)
    if entry is None or (entry.is_private and not user.is_admin):
        raise not_found()
    return entry


def may_see_entry_name(user: store.User, name: str) -> bool:
    """For rows that refer to an entry by name (acquisitions, tasks), which may be deleted."""
    entry = store.ScheduleEntry.get_or_none(store.ScheduleEntry.name == name)
    if entry is None:
        return user.is_admin  # an entry deleted while its task ran: its owner is unknown
    return not entry.is_private or user.is_admin


def may_change(user: store.User, entry: Optional[store.ScheduleEntry]) -> bool:
    """Owner rule: the owner or an admin."""
    if user.is_admin:
        return True
    return entry is not None and entry.owner_id == user.id


def entry_name_filter(user: store.User) -> Callable[[str], bool]:
    """For lists grouped by entry name: which names the caller may see (one query each, not per row)."""
    if user.is_admin:
        return lambda name: True
    public = {e.name for e in store.ScheduleEntry.select(store.ScheduleEntry.name)
              .where(store.ScheduleEntry.is_private == False)}  # noqa: E712
    return public.__contains__  # deleted entries' rows (owner unknown) are for admins only


def private_entry_names() -> set[str]:
    return {e.name for e in store.ScheduleEntry.select(store.ScheduleEntry.name)
            .where(store.ScheduleEntry.is_private == True)}  # noqa: E712


PAGE_MAX = 2**53


def page_bounds() -> tuple[int, Optional[int]]:
    """(offset, limit) of ``?limit=&offset=`` for lists paged in SQL."""
    query = bottle.request.query
    try:
        offset = int(query.get("offset", 0))
        limit = int(query["limit"]) if "limit" in query else None
    except ValueError:
        bad = "offset" if "offset" in query and not str(query.get("offset")).lstrip("-").isdigit() else "limit"
        raise ApiError(400, {bad: ["A valid integer is required."]}) from None
    if offset < 0:
        raise ApiError(400, {"offset": ["Ensure this value is greater than or equal to 0."]})
    if limit is not None and limit < 0:
        raise ApiError(400, {"limit": ["Ensure this value is greater than or equal to 0."]})
    # beyond 2**53 nothing changes what a page holds, and SQL integers are 64-bit: clamp
    return min(offset, PAGE_MAX), None if limit is None else min(limit, PAGE_MAX)


def paginate(items: list[Any]) -> list[Any]:
    """(ext) ``?limit=&offset=`` slice a list; absent, the whole list (the original form)."""
    offset, limit = page_bounds()
    return items[offset: None if limit is None else offset + limit]
