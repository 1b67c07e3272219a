"""The shipped flowgraphs in GNU Radio Companion's own GUI, on a private Xvfb display.

`make grc` must start GRC on a machine set up by `make deps` (it needs GTK's introspection data,
which a headless GNU Radio install does not bring), and a GRC user must be able to read every
flowgraph: no block or comment drawn over another, the signal chain running left to right, all
of it on screen in GRC maximised on a 1920x1080 display (block library and console showing).
The geometry is GRC's own: grc_gui_probe.py asks GRC's canvas for each block's drawn extents and
its comment's, and captures the window. With SCOS_UPDATE_SCREENSHOT=1 the capture of acquire700c
also refreshes docs/screenshot-grc-acquire700c.png; otherwise a test run leaves the tree as it was.
"""
from __future__ import annotations

import itertools
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
FLOWGRAPHS = ROOT / "flowgraphs"
SHIPPED = sorted(FLOWGRAPHS.glob("*.grc"))
NAMES = [p.stem for p in SHIPPED]
PROBE = Path(__file__).with_name("grc_gui_probe.py")
SCREEN = (1920, 1080)
BLOCK_BACKGROUND = (0xF1, 0xEC, 0xFF)  # GRC's enabled-block colour (gui/canvas/colors.py)
README_SCREENSHOT = ROOT / "docs" / "screenshot-grc-acquire700c.png"


@pytest.fixture(scope="module")
def display():
    """A private Xvfb server; skipped (with the reason) only if Xvfb cannot run here at all."""
    xvfb = shutil.which("Xvfb")
    if xvfb is None:
        pytest.skip("Xvfb is not installed (Debian's xvfb; `make deps` installs it)")
    read_end, write_end = os.pipe()
    server = subprocess.Popen(
        [xvfb, "-displayfd", str(write_end), "-screen", "0", f"{SCREEN[0]}x{SCREEN[1]}x24", "-nolisten", "tcp"],
        pass_fds=(write_end,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    os.close(write_end)
    number = b""
    deadline = time.monotonic() + 20
    while not number.endswith(b"\n") and time.monotonic() < deadline and server.poll() is None:
        if select.select([read_end], [], [], 0.2)[0]:
            chunk = os.read(read_end, 16)
            if not chunk:
                break
            number += chunk
    os.close(read_end)
    if not number.strip().isdigit():
        server.kill()
        _, err = server.communicate()
        pytest.skip(f"Xvfb could not start: {err.decode(errors='replace').strip()[-500:]}")
    yield f":{number.decode().strip()}"
    server.terminate()
    server.wait(timeout=10)


def _gui_env(display: str, tmp: Path) -> dict:
    """GRC on the private display, with its GUI preferences in a fresh file (the defaults)."""
    return {**os.environ, "DISPLAY": display, "GRC_PREFS_PATH": str(tmp / "grc.conf"), "NO_AT_BRIDGE": "1",
            "GRC_BLOCKS_PATH": str(Path(sys.prefix) / "share" / "gnuradio" / "grc" / "blocks"),
            "PYTHONUNBUFFERED": "1"}


@pytest.fixture(scope="module")
def seen(display, tmp_path_factory) -> dict:
    """What GRC drew for each shipped flowgraph: {name: geometry}, the captures beside."""
    out = tmp_path_factory.mktemp("grc-gui")
    result = subprocess.run([sys.executable, str(PROBE), str(out), *map(str, SHIPPED)], env=_gui_env(display, out),
                            capture_output=True, text=True, timeout=180)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return {name: {**json.loads((out / f"{name}.json").read_text()), "png": out / f"{name}.png"} for name in NAMES}


def _drawn(geometry: dict) -> list[tuple[str, list[float]]]:
    """Every rectangle GRC draws for a block: the block with its ports, and its comment."""
    shapes = []
    for name, block in geometry["blocks"].items():
        shapes.append((name, block["extents"]))
        if block["comment"]:
            shapes.append((f"comment of {name}", block["comment"]))
    return shapes


def _overlap(a: list[float], b: list[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("name", NAMES)
def test_grc_opens_the_flowgraph_with_every_block_and_no_error(seen, name):
    import yaml

    geometry = seen[name]
    assert geometry["errors"] == []
    in_file = {b["name"] for b in yaml.safe_load((FLOWGRAPHS / f"{name}.grc").read_text())["blocks"]}
    assert set(geometry["blocks"]) == in_file | {name}  # the Options block carries the flowgraph's id
    assert geometry["comments_shown"] and geometry["zoom"] == 1.0  # GRC's defaults: what a user sees


@pytest.mark.parametrize("name", NAMES)
def test_no_block_or_comment_is_drawn_over_another(seen, name):
    shapes = _drawn(seen[name])
    assert any(label.startswith("comment of") for label, _ in shapes)  # comments are measured too
    clashes = [f"{a} and {b}" for (a, ra), (b, rb) in itertools.combinations(shapes, 2) if _overlap(ra, rb)]
    assert not clashes, "drawn over each other: " + "; ".join(clashes)


@pytest.mark.parametrize("name", NAMES)
def test_the_signal_chain_runs_left_to_right(seen, name):
    geometry = seen[name]
    assert geometry["connections"]
    backwards = []
    for source, sink in geometry["connections"]:
        if geometry["blocks"][sink]["extents"][0] < geometry["blocks"][source]["extents"][2]:
            backwards.append(f"{source} -> {sink}")
    assert not backwards, "sink not to the right of its source: " + "; ".join(backwards)


@pytest.mark.parametrize("name", NAMES)
def test_the_whole_flowgraph_is_on_screen_without_scrolling(seen, name):
    geometry = seen[name]
    assert geometry["window"] == list(SCREEN)
    x0, y0, x1, y1 = geometry["canvas"]
    width, height = geometry["visible"]
    assert x0 >= 0 and y0 >= 0
    assert x1 <= width and y1 <= height, f"the drawing reaches ({x1}, {y1}); GRC shows {width}x{height}"


def _pixels(png: Path) -> np.ndarray:
    import gi

    gi.require_version("GdkPixbuf", "2.0")
    from gi.repository import GdkPixbuf

    pixbuf = GdkPixbuf.Pixbuf.new_from_file(str(png))
    rows = np.frombuffer(pixbuf.get_pixels(), dtype=np.uint8)
    width, height, channels, stride = pixbuf.get_width(), pixbuf.get_height(), pixbuf.get_n_channels(), pixbuf.get_rowstride()
    return np.stack([rows[y * stride:y * stride + width * channels].reshape(width, channels)[:, :3]
                     for y in range(height)])


@pytest.mark.parametrize("name", NAMES)
def test_the_screenshot_shows_grc_drawing_the_flowgraph(seen, name):
    geometry = seen[name]
    image = _pixels(geometry["png"])
    assert image.shape[:2] == (SCREEN[1], SCREEN[0])
    assert len(np.unique(image.reshape(-1, 3), axis=0)) > 200  # text, icons, blocks: not a blank window
    ox, oy = geometry["origin"]
    for block_name, block in geometry["blocks"].items():
        x, y, w, h = (round(v) for v in block["body"])
        box = image[oy + y + 2:oy + y + h - 2, ox + x + 2:ox + x + w - 2]
        painted = np.all(box == BLOCK_BACKGROUND, axis=-1).mean()
        assert painted > 0.4, f"{block_name}: only {painted:.0%} of its box has GRC's block colour"
    if name == "acquire700c" and os.environ.get("SCOS_UPDATE_SCREENSHOT") == "1":  # the README's picture
        shutil.copyfile(geometry["png"], README_SCREENSHOT)


def test_make_grc_starts_gnuradio_companion_on_every_flowgraph(display, tmp_path):
    """What a user types: `make grc` opens GRC's window with the shipped flowgraphs loaded."""
    grc = subprocess.Popen(["make", "--no-print-directory", "grc"], cwd=ROOT, env=_gui_env(display, tmp_path),
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    output = b""
    try:
        deadline = time.monotonic() + 180
        while output.count(b">>> Done") < len(SHIPPED) and time.monotonic() < deadline and grc.poll() is None:
            if select.select([grc.stdout], [], [], 0.5)[0]:
                output += os.read(grc.stdout.fileno(), 65536)
        still_running = grc.poll() is None
    finally:
        if grc.poll() is None:
            os.killpg(grc.pid, signal.SIGTERM)
        grc.wait(timeout=30)
    text = output.decode(errors="replace")
    assert "Failed to initialize GTK" not in text
    assert still_running, text[-3000:]
    for grc_file in SHIPPED:
        assert re.search(rf'Loading: "{re.escape(str(grc_file))}"\n>>> Done', text), text[-3000:]


def _apt_packages() -> list[str]:
    makefile = (ROOT / "Makefile").read_text()
    return re.search(r"^APT_PACKAGES\s*:=\s*(.+)$", makefile, re.M).group(1).split()


def _owner(path: str) -> str:
    result = subprocess.run(["dpkg-query", "-S", path], capture_output=True, text=True)
    assert result.returncode == 0, f"{path} is not installed by any Debian package: run `make deps`"
    return result.stdout.split(":")[0]


def test_make_deps_installs_what_the_grc_gui_and_these_tests_need(tmp_path):
    """apt's own resolution of APT_PACKAGES on an empty system must bring what GRC's GUI loads.

    gnuradio-companion requires Gtk 3.0 and PangoCairo 1.0 through GObject introspection and
    PyGObject's cairo support; these tests need Xvfb. A machine with them already installed
    would pass `make grc` whatever the Makefile says, so ask apt what `make deps` would install.
    """
    needed = [*Path("/usr/lib").glob("*/girepository-1.0/Gtk-3.0.typelib"),
              *Path("/usr/lib").glob("*/girepository-1.0/PangoCairo-1.0.typelib"),
              *Path("/usr/lib/python3/dist-packages/gi").glob("_gi_cairo*.so"),
              Path("/usr/bin/Xvfb")]
    assert len(needed) == 4 and all(p.exists() for p in needed), f"missing: {needed}; run `make deps`"
    owners = {str(p): _owner(str(p)) for p in needed}
    empty_status = tmp_path / "status"
    empty_status.write_text("")
    simulated = subprocess.run(["apt-get", "-s", "-q", "-o", f"Dir::State::Status={empty_status}", "install",
                                "--no-install-recommends", *_apt_packages()],
                               capture_output=True, text=True, timeout=300)
    assert simulated.returncode == 0, simulated.stderr[-2000:]
    installed = {line.split()[1] for line in simulated.stdout.splitlines() if line.startswith("Inst ")}
    missing = {path: package for path, package in owners.items() if package not in installed}
    assert missing == {}, f"`make deps` would not install {sorted(set(missing.values()))} (APT_PACKAGES)"
