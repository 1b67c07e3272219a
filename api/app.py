"""The Bottle application of the SCOS sensor API (``make_app``), assembled from its route modules.

Knows HTTP and the store; never imports GNU Radio (the web process stays light and never holds
the radio). Each app carries its own settings (``app.config``) and its own
:class:`~scos_gr.api.auth.AuthPlugin`, so several apps in one process share nothing. The
canonical-URL rule (collections and items end with ``/``, ``/status`` and ``.../archive`` do
not) is applied before routing: a request for the other form of a known path is answered 301 to
the canonical one; anything else unknown is a JSON 404.
"""
from __future__ import annotations

import json
from typing import Any

import bottle

from scos_gr.config import Settings

from . import acquisitions, metrics, openapi, schedule, sensor, tasks, users
from .auth import SETTINGS_KEY, AuthPlugin
from .proxy import BehindProxy

ROUTE_MODULES = (sensor, schedule, acquisitions, tasks, users, metrics)


def _json_error(message: str) -> str:
    bottle.response.content_type = "application/json"
    return json.dumps({"detail": message})


def not_found(err: bottle.HTTPError) -> str:
    return _json_error("Not found.")


def method_not_allowed(err: bottle.HTTPError) -> str:
    return _json_error(f'Method "{bottle.request.method}" not allowed.')


def internal_error(err: bottle.HTTPError) -> str:
    return _json_error("Internal server error")


def any_other_error(err: bottle.HTTPError) -> str:
    """Errors Bottle raises itself (413, 400 on a broken body...) are JSON like ours."""
    return _json_error(str(err.body or err.status_line))


def _dashboard_routes() -> list[Any]:
    """The dashboard's routes; it is optional: the API works without it."""
    try:
        from . import dashboard
    except ImportError:
        return []
    return [dashboard.routes] if hasattr(dashboard, "routes") else []


def make_app(settings: Settings) -> "BehindProxy":
    # Bottle keeps a body above MEMFILE_MAX (100 KiB by default) in a temporary file; every body
    # the server accepts (at most the document's limit) is read in memory instead
    bottle.BaseRequest.MEMFILE_MAX = openapi.max_body_bytes()
    app = bottle.Bottle(catchall=True)
    app.config[SETTINGS_KEY] = settings
    app.install(AuthPlugin())
    for routes in [module.routes for module in ROUTE_MODULES] + _dashboard_routes():
        routes.install(app)
    app.error_handler.update({404: not_found, 405: method_not_allowed, 500: internal_error})
    app.default_error_handler = any_other_error
    # outermost: the 301's Location is built from the scheme and host the proxy reports
    return BehindProxy(CanonicalPaths(app), settings.trusted_proxy)


class CanonicalPaths:
    """WSGI middleware: 301 from the non-canonical form of a known path (slash added or removed)."""

    def __init__(self, app: bottle.Bottle) -> None:
        self.app = app

    def __getattr__(self, name: str) -> Any:  # routes, config... of the wrapped Bottle app
        return getattr(self.app, name)

    def _known(self, environ: dict[str, Any], path: str) -> bool:
        probe = dict(environ, PATH_INFO=path)
        try:
            self.app.router.match(probe)
            return True
        except bottle.HTTPError as err:
            return err.status_code == 405  # the path exists, for another method
        except Exception:
            return False

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "") or "/"
        if path.startswith("/api/") and not self._known(environ, path):
            other = path[:-1] if path.endswith("/") else path + "/"
            if other != path and self._known(environ, other):
                query = environ.get("QUERY_STRING", "")
                scheme = environ.get("wsgi.url_scheme", "http")
                host = environ.get("HTTP_HOST") or f"{environ.get('SERVER_NAME')}:{environ.get('SERVER_PORT')}"
                location = f"{scheme}://{host}{other}" + (f"?{query}" if query else "")
                body = json.dumps({"detail": "Moved permanently.", "location": location}).encode()
                start_response("301 Moved Permanently", [("Location", location), ("Content-Type", "application/json"),
                                                          ("Content-Length", str(len(body)))])
                return [body]
        return self.app(environ, start_response)
