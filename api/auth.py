"""Token authentication, installed once on the app as a Bottle plugin (:class:`AuthPlugin`).

The plugin wraps every route (except those declared with ``auth=False``: the dashboard's page
and static files, which hold no data): it opens a database connection for the request, finds
the calling user by the token, gives the handler what it asks for by keyword (``user``, the
app's ``settings``), answers :class:`~scos_gr.api.web.ApiError` as its JSON, and any other
exception as the spec's 500 ``{"detail": "Internal server error"}`` (the trace goes to the log,
never to the client).
"""
from __future__ import annotations

import functools
import hmac
import logging
from typing import Any, Callable, Optional

import bottle

from scos_gr import store

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
        raise detail(401, INVALID_TOKEN, WWW_Authenticate="Token")
    return user


def certificate_user(subject: str) -> store.User:
    """The user a verified client certificate's subject names (its CN), or 401."""
    name = common_name(subject)
    user = store.User.get_or_none(store.User.name == name) if name else None
    if user is None:
        raise detail(401, f"No user for the client certificate {subject!r}: its CN must be a user's name.",
                     WWW_Authenticate="Token")
    return user


class AuthPlugin:
    """Bottle plugin (API v2): authenticate, hand the handler its user, answer errors as JSON."""

    name = "scos_auth"
    api = 2

    def apply(self, callback: Callable[..., Any], route: bottle.Route) -> Callable[..., Any]:
        if not route.config.get("auth", True):
            return callback
        wanted = set(route.get_callback_args())
        settings = route.config[SETTINGS_KEY] if "settings" in wanted else None

        @functools.wraps(callback)
        def authenticated(*args: Any, **kwargs: Any) -> Any:
            try:
                with store.database.connection_context():
                    user = authenticate()
                    if any(isinstance(v, str) and "\x00" in v for v in kwargs.values()):
                        # no name can hold a NUL (PostgreSQL cannot even compare one): it does not exist
                        raise not_found()
                    if "user" in wanted:
                        kwargs["user"] = user
                    if "settings" in wanted:
                        kwargs["settings"] = settings
                    return callback(*args, **kwargs)
            except ApiError as err:
                return json_body(err.body, err.status, err.headers)
            except bottle.HTTPResponse:
                raise
            except Exception:
                log.exception("unexpected error in %s %s", bottle.request.method, bottle.request.path)
                return json_body({"detail": "Internal server error"}, 500)

        return authenticated
