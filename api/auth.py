"""Token authentication, installed once on the app as a Bottle plugin (:class:`AuthPlugin`).

The plugin wraps every route (except those declared with ``auth=False``: the dashboard's page
and static files, which hold no data): it opens a database connection for the request, finds
the calling user by the token, gives the handler what it asks for by keyword (``user``, the
app's ``settings``), answers :class:`~scos_gr.api.web.ApiError` as its JSON, and any other
exception as the spec's 500 ``{"detail": "Internal server error"}`` (the trace goes to the log,
never to the client), except a database or disk outage (:mod:`scos_gr.outage`): that is the
spec's 503 with the cause and ``Retry-After``. A route declared ``degraded=True`` (``/status``)
still answers during an outage a caller whose token this process verified recently.
"""
from __future__ import annotations

import functools
import hmac
import logging
import threading
import time
from typing import Any, Callable, Optional

import bottle

from scos_gr import store
from scos_gr.outage import Outage, outage_of

from . import health
from .proxy import CERTIFICATE_SUBJECT, common_name
from .web import INVALID_TOKEN, NOT_AUTHENTICATED, ApiError, detail, json_body, not_found

log = logging.getLogger("scos_gr.api")

#: the key of ``app.config`` that holds the app's :class:`~scos_gr.config.Settings`
SETTINGS_KEY = "scos.settings"


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


#: how long a verified token still opens ``degraded`` routes (``/status``) while the database
#: cannot be read to verify it again
RECENT_TOKEN_S = 24 * 3600.0
#: seconds a client should wait before retrying after a 503 (the database or the disk is away)
RETRY_AFTER_S = 5

#: token hash -> (user id, name, is_admin, when it was last verified): for degraded routes only
_recent: dict[str, tuple[int, str, bool, float]] = {}
_recent_lock = threading.Lock()


def authenticate() -> store.User:
    """The calling user, or 401 with ``WWW-Authenticate: Token``.

    A token, when the request has one, decides; without one, a client certificate the trusted
    proxy verified (:mod:`.proxy`) names the user by its common name.
    """
    token = token_from_request()
    if not token:
        subject = bottle.request.environ.get(CERTIFICATE_SUBJECT)
        if subject:
            return certificate_user(subject)
        raise detail(401, NOT_AUTHENTICATED, WWW_Authenticate="Token")
    digest = store.User.hash_token(token)
    user = store.User.get_or_none(store.User.token_hash == digest)
    # the lookup is by a hash of the token; compare the stored hash in constant time as well
    if user is None or not hmac.compare_digest(user.token_hash, digest):
        with _recent_lock:
            _recent.pop(digest, None)
        raise detail(401, INVALID_TOKEN, WWW_Authenticate="Token")
    with _recent_lock:
        _recent[digest] = (user.id, user.name, user.is_admin, time.time())
    return user


def certificate_user(subject: str) -> store.User:
    """The user a verified client certificate's subject names (its CN), or 401."""
    name = common_name(subject)
    user = store.User.get_or_none(store.User.name == name) if name else None
    if user is None:
        raise detail(401, f"No user for the client certificate {subject!r}: its CN must be a user's name.",
                     WWW_Authenticate="Token")
    return user


def recently_verified_user() -> Optional[store.User]:
    """The caller, if this process verified the request's token against the database within
    :data:`RECENT_TOKEN_S` (a detached row: id, name and role only); else None."""
    token = token_from_request()
    if not token:
        return None
    digest = store.User.hash_token(token)
    with _recent_lock:
        seen = _recent.get(digest)
    if seen is None or time.time() - seen[3] > RECENT_TOKEN_S:
        return None
    return store.User(id=seen[0], name=seen[1], is_admin=seen[2], token_hash=digest)


def outage_response(outage: Outage) -> str:
    """The spec's 503 for a database or disk outage: the cause, and when to try again."""
    health.report_outage(outage)
    log.warning("%s %s: 503: %s", bottle.request.method, bottle.request.path, outage.detail)
    return json_body({"detail": outage.detail}, 503, {"Retry-After": str(RETRY_AFTER_S)})


class AuthPlugin:
    """Bottle plugin (API v2): authenticate, hand the handler its user, answer errors as JSON."""

    name = "scos_auth"
    api = 2

    def apply(self, callback: Callable[..., Any], route: bottle.Route) -> Callable[..., Any]:
        if not route.config.get("auth", True):
            return callback
        wanted = set(route.get_callback_args())
        settings = route.config[SETTINGS_KEY] if "settings" in wanted else None
        degraded = bool(route.config.get("degraded", False))

        def call(user: store.User, args: tuple, kwargs: dict[str, Any]) -> Any:
            if any(isinstance(v, str) and "\x00" in v for v in kwargs.values()):
                # no name can hold a NUL (PostgreSQL cannot even compare one): it does not exist
                raise not_found()
            if "user" in wanted:
                kwargs["user"] = user
            if "settings" in wanted:
                kwargs["settings"] = settings
            return callback(*args, **kwargs)

        @functools.wraps(callback)
        def authenticated(*args: Any, **kwargs: Any) -> Any:
            try:
                with store.database.connection_context():
                    return call(authenticate(), args, kwargs)
            except ApiError as err:
                return json_body(err.body, err.status, err.headers)
            except bottle.HTTPResponse:
                raise
            except Exception as exc:
                outage = outage_of(exc)
                if outage is None:
                    log.exception("unexpected error in %s %s", bottle.request.method, bottle.request.path)
                    return json_body({"detail": "Internal server error"}, 500)
                user = recently_verified_user() if degraded else None
                if user is None:
                    return outage_response(outage)
                health.report_outage(outage)
                try:  # a route declared degraded=True answers without the database as best it can
                    return call(user, args, kwargs)
                except ApiError as err:
                    return json_body(err.body, err.status, err.headers)
                except Exception as again:
                    return outage_response(outage_of(again) or outage)
                finally:
                    if not store.database.is_closed():  # a connection its queries opened, gone bad
                        store.database.close()

        return authenticated
