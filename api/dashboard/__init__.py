"""The web dashboard: one static page (HTML, CSS, plain JS; no CDN, no build step) at ``/``.

The page holds no data: it asks the public API for everything (the same JSON a script gets),
with the token the user typed kept in the browser's localStorage. So ``/`` and ``/static/*``
need no token, while every byte of sensor data stays behind the API's token auth.
"""
from __future__ import annotations

from pathlib import Path

import bottle

from scos_gr.config import Settings

STATIC = Path(__file__).resolve().parent / "static"


def install(app: bottle.Bottle, settings: Settings) -> None:
    @app.get("/")
    def index():
        response = bottle.static_file("index.html", root=str(STATIC))
        response.set_header("Cache-Control", "no-cache")
        return response

    @app.get("/static/<path:path>")
    def static(path):
        return bottle.static_file(path, root=str(STATIC))
