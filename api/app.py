"""The Bottle application of the SCOS sensor API (``make_app``), assembled from its route modules.

Knows HTTP and the store; never imports GNU Radio (the web process stays light and never holds
the radio). The canonical-URL rule (collections and items end with ``/``, ``/status`` and
``.../archive`` do not) is applied before routing: a request for the other form of a known path
is answered 301 to the canonical one; anything else unknown is a JSON 404.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import bottle
import yaml

from scos_gr.config import Settings

from . import acquisitions, schedule, sensor
from .web import api_route, json_body

OPENAPI_PATH = Path(__file__).resolve().parent / "openapi.yaml"


def _json_error(status: int, message: str) -> str:
    bottle.response.content_type = "application/json"
    return json.dumps({"detail": message})


def _openapi_document() -> dict[str, Any]:
    return yaml.safe_load(OPENAPI_PATH.read_text(encoding="utf-8"))


def make_app(settings: Settings) -> bottle.Bottle:
    app = bottle.Bottle(catchall=True)
    schedule.install(app, settings)
    acquisitions.install(app, settings)
    sensor.install(app, settings)

    document = _openapi_document()

    @app.get("/api/v1/schema/")
    @api_route
    def schema(user):
        return json_body(document)

    try:  # the dashboard is optional: the API works without it
        from . import dashboard
    except ImportError:
        dashboard = None
    if dashboard is not None and hasattr(dashboard, "install"):
        dashboard.install(app, settings)

    @app.error(404)
    def error_404(err):
        return _json_error(404, "Not found.")

    @app.error(405)
    def error_405(err):
        return _json_error(405, f'Method "{bottle.request.method}" not allowed.')

    @app.error(500)
    def error_500(err):
        return _json_error(500, "Internal server error")

    def any_other_error(err: bottle.HTTPError) -> str:
        """Errors Bottle raises itself (413, 400 on a broken body...) are JSON like ours."""
        return _json_error(err.status_code, str(err.body or err.status_line))

    app.default_error_handler = any_other_error

    return CanonicalPaths(app)


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
