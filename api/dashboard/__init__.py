"""The web dashboard: one static page (HTML, CSS, plain JS; no CDN, no build step) at ``/``.

The page holds no data: it asks the public API for everything (the same JSON a script gets),
with the token the user typed kept in the browser's localStorage. So ``/`` and ``/static/*``
need no token (their routes say ``auth=False``), while every byte of sensor data stays behind
the API's token auth.
"""
from __future__ import annotations

from pathlib import Path

import bottle

from ..web import Routes

STATIC = Path(__file__).resolve().parent / "static"

routes = Routes(prefix="")


@routes.get("/", auth=False)
def index() -> bottle.HTTPResponse:
    response = bottle.static_file("index.html", root=str(STATIC))
    response.set_header("Cache-Control", "no-cache")
    return response


@routes.get("/static/<path:path>", auth=False)
def static(path: str) -> bottle.HTTPResponse:
    return bottle.static_file(path, root=str(STATIC))
