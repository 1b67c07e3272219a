"""The shipped .grc files are stored exactly as GNU Radio Companion saves them, and tools/grc-save
puts a hand-edited one back into that form.

GRC rewrites a whole file the first time a user saves it; a file in any other form (e.g. YAML flow
style) turns that first save into a diff of every line. Loading each file with GRC's own Platform
API, validating it and saving it again must give back the very same bytes.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
FLOWGRAPHS = ROOT / "flowgraphs"
SHIPPED = sorted(FLOWGRAPHS.glob("*.grc"))
GRC_SAVE = ROOT / "tools" / "grc-save"


@pytest.fixture(scope="module")
def platform():
    """GRC's Platform as gnuradio-companion builds it, with the scos blocks installed in the venv."""
    from gnuradio import gr
    from gnuradio.grc.core.platform import Platform

    installed = Path(sys.prefix) / "share" / "gnuradio" / "grc" / "blocks"
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRC_BLOCKS_PATH", str(installed))
        grc = Platform(version=gr.version(), prefs=gr.prefs(),
                       version_parts=(gr.major_version(), gr.api_version(), gr.minor_version()))
        grc.build_library()
        yield grc


def test_every_flowgraph_is_checked():
    assert {p.name for p in SHIPPED} >= {"acquire700c.grc", "acquire_iq_751MHz.grc", "monitor_radio.grc",
                                         "survey_700MHz_band.grc"}


@pytest.mark.parametrize("grc", SHIPPED, ids=lambda p: p.stem)
def test_grc_loads_validates_and_saves_the_same_bytes(platform, grc, tmp_path):
    flow_graph = platform.make_flow_graph(str(grc))
    flow_graph.rewrite()
    flow_graph.validate()
    assert flow_graph.is_valid(), flow_graph.get_error_messages()
    assert not any(b.is_dummy_block for b in flow_graph.blocks), "a block GRC does not know"
    saved = tmp_path / grc.name
    platform.save_flow_graph(str(saved), flow_graph)
    assert saved.read_text() == grc.read_text(), f"{grc.name} is not as GRC saves it: run tools/grc-save {grc}"


def _flowgraph(path: Path) -> dict:
    """What a flowgraph is, whatever the order GRC writes it in."""
    data = yaml.safe_load(path.read_text())
    return {
        "options": data["options"]["parameters"],
        "blocks": {b["name"]: (b["id"], b["parameters"], b["states"]["coordinate"], b["states"]["rotation"],
                               b["states"]["state"]) for b in data["blocks"]},
        "connections": sorted(map(tuple, data["connections"])),
    }


def _flow_style_copy(source: Path, target: Path) -> None:
    """The same flowgraph, written the way the shipped files used to be (YAML flow style)."""
    data = yaml.safe_load(source.read_text())
    target.write_text(yaml.safe_dump(data, sort_keys=False, default_flow_style=None, width=120))


def _grc_save(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(GRC_SAVE), *args], capture_output=True, text=True, timeout=120)


def test_grc_save_check_then_rewrite_a_hand_edited_file(tmp_path):
    shipped = FLOWGRAPHS / "acquire700c.grc"
    edited = tmp_path / shipped.name
    _flow_style_copy(shipped, edited)
    before = edited.read_text()

    check = _grc_save("--check", str(edited))
    assert check.returncode == 1 and "differs from what GRC saves" in check.stdout
    assert edited.read_text() == before  # --check writes nothing

    save = _grc_save(str(edited))
    assert save.returncode == 0, save.stderr
    assert edited.read_text() == shipped.read_text()
    assert _flowgraph(edited) == _flowgraph(shipped)  # the same blocks, values and connections
    assert _grc_save("--check", str(edited)).returncode == 0
    assert [p.name for p in tmp_path.iterdir()] == [shipped.name]  # no temporary file left


def test_grc_save_leaves_an_invalid_flowgraph_alone_and_names_it(tmp_path):
    broken = tmp_path / "broken.grc"
    data = yaml.safe_load((FLOWGRAPHS / "acquire700c.grc").read_text())
    for block in data["blocks"]:
        if block["name"] == "fft_size":
            block["parameters"]["value"] = "not_defined_anywhere"
    broken.write_text(yaml.safe_dump(data, sort_keys=False))
    before = broken.read_text()
    result = _grc_save(str(broken))
    assert result.returncode == 1
    assert str(broken) in result.stderr and "invalid" in result.stderr
    assert broken.read_text() == before


def test_grc_save_names_a_file_grc_cannot_read_and_still_saves_the_others(tmp_path):
    not_yaml = tmp_path / "a.grc"
    not_yaml.write_text("options: [\n")
    not_a_flowgraph = tmp_path / "b.grc"
    not_a_flowgraph.write_text("options: {}\n")
    edited = tmp_path / "c.grc"
    _flow_style_copy(FLOWGRAPHS / "monitor_radio.grc", edited)
    result = _grc_save(str(not_yaml), str(not_a_flowgraph), str(edited))
    assert result.returncode == 1
    assert f"{not_yaml}: GRC cannot load it" in result.stderr and f"{not_a_flowgraph}: GRC cannot load it" in result.stderr
    assert not_yaml.read_text() == "options: [\n" and not_a_flowgraph.read_text() == "options: {}\n"
    assert edited.read_text() == (FLOWGRAPHS / "monitor_radio.grc").read_text()


def test_grc_save_runs_with_the_venv_from_any_interpreter(tmp_path):
    """It is run as tools/grc-save (system python3 shebang): it must find the venv's scos blocks."""
    copy = tmp_path / "monitor_radio.grc"
    shutil.copyfile(FLOWGRAPHS / "monitor_radio.grc", copy)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "GRC_BLOCKS_PATH", "PYTHONPATH")}
    result = subprocess.run(["/usr/bin/python3", str(GRC_SAVE), "--check", str(copy)], capture_output=True,
                            text=True, timeout=120, env=env, cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "unchanged" in result.stdout
