"""Open flowgraphs in GNU Radio Companion's own GUI and report what a user sees.

Run as a script (with a DISPLAY, e.g. Xvfb) by tests/flowgraphs/test_grc_gui.py:

    python grc_gui_probe.py OUT_DIR FILE.grc...

It starts GRC's Application (gnuradio.grc.gui, as gnuradio-companion does) on the files and, for
each flowgraph once its page is drawn, writes OUT_DIR/<name>.json: the drawn extents of every
block and of its comment (as GRC computes them for its canvas), the connections by block name,
GRC's validation errors; and OUT_DIR/<name>.png: a capture of GRC's main window showing it.
A separate process because GTK needs its main loop and a display.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import gi

gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
gi.require_version("PangoCairo", "1.0")
from gi.repository import Gdk, GLib, Gtk  # noqa: E402

from gnuradio import gr  # noqa: E402
from gnuradio.grc.gui.Platform import Platform  # noqa: E402  (first, as gnuradio-companion does)
from gnuradio.grc.gui.Application import Application  # noqa: E402
from gnuradio.grc.gui import Actions  # noqa: E402

WINDOW_SIZE = (1920, 1080)  # GRC maximised on the commonest desktop screen
TIMEOUT_S = 60


def describe(page, main_window) -> dict:
    """Geometry in canvas pixels, as GRC's canvas computes it to draw and to scroll.

    `extents`: a block with its ports; `body`: its box (x, y, width, height); `comment`: the
    comment drawn under it; `visible`: the part of the canvas the window shows without
    scrolling; `origin`: where canvas (0, 0) lies in the window capture.
    """
    flow_graph = page.flow_graph
    show_comments = Actions.TOGGLE_SHOW_BLOCK_COMMENTS.get_active()
    blocks = {}
    for block in flow_graph.blocks:
        comment = block.get_extents_comment() if show_comments and block.enabled else None
        if comment and comment[0] == comment[2]:
            comment = None  # no comment drawn
        x, y = block.coordinate
        blocks[block.name or "options"] = {
            "key": block.key, "extents": list(block.get_extents()), "body": [x, y, block.width, block.height],
            "rotation": block.rotation, "comment": list(comment) if comment else None}
    connections = [[c.source_block.name, c.sink_block.name] for c in flow_graph.connections]
    origin = page.drawing_area.translate_coordinates(main_window, 0, 0)
    return {"blocks": blocks, "connections": connections, "canvas": list(flow_graph.get_extents()),
            "errors": [str(e) for e in flow_graph.get_error_messages()], "comments_shown": show_comments,
            "zoom": page.drawing_area.zoom_factor, "origin": list(origin),
            "visible": [page.viewport.get_allocated_width(), page.viewport.get_allocated_height()],
            "window": [main_window.get_allocated_width(), main_window.get_allocated_height()]}


class Probe:
    def __init__(self, app: Application, out_dir: Path, files: list[Path]):
        self.app, self.out_dir, self.pending = app, out_dir, list(files)
        self.showing, self.drawn = None, False
        GLib.timeout_add(200, self.step)
        GLib.timeout_add_seconds(TIMEOUT_S, self.give_up)

    def give_up(self) -> bool:
        print(f"grc_gui_probe: GRC did not draw {self.pending} within {TIMEOUT_S} s", file=sys.stderr)
        self.app.quit()
        return False

    def on_draw(self, *_args) -> None:
        self.drawn = True

    def step(self) -> bool:
        main = getattr(self.app, "main_window", None)
        if main is None or not main.get_pages():
            return True
        if not self.pending:
            self.app.quit()
            return False
        path = self.pending[0]
        page = next(p for p in main.get_pages() if Path(p.file_path) == path)
        if self.showing is not page:  # bring it to the front and wait until GRC has drawn it
            main.notebook.set_current_page(main.notebook.page_num(page))
            self.showing, self.drawn = page, False
            page.drawing_area.connect_after("draw", self.on_draw)
            page.drawing_area.queue_draw()
            return True
        if not self.drawn:
            return True
        window = main.get_window()
        pixbuf = Gdk.pixbuf_get_from_window(window, 0, 0, window.get_width(), window.get_height())
        name = path.stem
        pixbuf.savev(str(self.out_dir / f"{name}.png"), "png", [], [])
        (self.out_dir / f"{name}.json").write_text(json.dumps(describe(page, main), indent=1))
        self.pending.pop(0)
        return True


def main(argv: list[str]) -> int:
    out_dir, files = Path(argv[0]), [Path(f).resolve() for f in argv[1:]]
    platform = Platform(version=gr.version(), prefs=gr.prefs(), install_prefix=gr.prefix(),
                        version_parts=(gr.major_version(), gr.api_version(), gr.minor_version()))
    platform.config.main_window_size(WINDOW_SIZE)
    platform.build_library()
    app = Application([str(f) for f in files], platform)
    probe = Probe(app, out_dir, files)
    app.run([])
    return 0 if not probe.pending else 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
