"""The README's "Adding an action" for a GRC user, followed step by step in code.

A new flowgraph is built with GNU Radio Companion's own Platform API from the scos blocks (what a
user drags from the "[scos]" category), with a 2048-point Hann FFT at another frequency: the
options block set to "No GUI" / "Run to Completion", the Parameter blocks that are its contract,
the chain left to right. It is saved as GRC saves it into a copy of the catalogue folder, the
catalogue gets an entry, `scos-gr check` accepts it, and a running sensor offers it, schedules
it, runs it and serves a recording whose physics and metadata are right.
"""
from __future__ import annotations

import json
import math
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

import numpy as np
import pytest

from scos_gr.flowgraphs.catalogue import DEFAULT_CATALOGUE
from scos_gr.flowgraphs.compiler import grc_blocks_path
from tests.live_server import LiveServer

API = "/api/v1"
SCOS_GR = Path(sys.executable).with_name("scos-gr")
FREQUENCY, RATE, N, FFTS = 98.0e6, 2.4e6, 2048, 50
TONE_OFFSET = 1.0e6  # the simulated radio's default tone: -40 dBm, +1 MHz from the tuned frequency

#: (name, GRC type, default, comment): the Parameter blocks, the action's contract
PARAMETERS = [
    ("radio_args", "str", "sim", "filled in by the sensor"),
    ("frequency", "eng_float", f"{FREQUENCY:g}", "centre frequency (Hz)"),
    ("sample_rate", "eng_float", f"{RATE:g}", "sample rate (S/s)"),
    ("gain", "eng_float", "20", "radio gain (dB)"),
    ("fft_size", "intx", str(N), "FFT points"),
    ("num_ffts", "intx", str(FFTS), "FFTs per capture"),
    ("fft_window", "str", "hann", "the FFT's taps and power_stats' window"),
    ("cal_gain_db", "eng_float", "0", "filled in by the sensor"),
    ("output_dir", "str", ".", "filled in by the sensor"),
    ("basename", "str", "acquire_fm", "filled in by the sensor"),
    ("metadata_json", "str", "{}", "filled in by the sensor"),
]

#: (name, GRC id, {parameter: expression}): the signal chain, left to right
CHAIN = [
    ("scos_radio_source_0", "scos_radio_source", {"args": "radio_args", "samp_rate": "sample_rate", "center_freq": "frequency",
                                    "gain": "gain"}),
    ("blocks_head_0", "blocks_head", {"type": "complex", "num_items": "fft_size * num_ffts"}),
    ("blocks_stream_to_vector_0", "blocks_stream_to_vector", {"type": "complex", "num_items": "fft_size"}),
    ("fft_vxx_0", "fft_vxx", {"type": "complex", "fft_size": "fft_size", "forward": "True", "shift": "True",
                        "window": "getattr(window, fft_window)(fft_size)", "nthreads": "1"}),
    ("blocks_complex_to_mag_squared_0", "blocks_complex_to_mag_squared", {"vlen": "fft_size"}),
    ("scos_power_stats_0", "scos_power_stats", {"fft_size": "fft_size", "num_ffts": "num_ffts", "window": "fft_window",
                                    "gain_correction_db": "cal_gain_db", "detectors": "mean,max"}),
    ("scos_sigmf_sink_0", "scos_sigmf_sink", {"output_dir": "output_dir", "basename": "basename",
                                   "metadata_json": "metadata_json"}),
]


def build_flowgraph(path: Path) -> None:
    """What the user does in GRC (started by `make grc`, which puts the scos blocks on GRC's block
    path), through GRC's own API; saved as GRC saves it."""
    from gnuradio import gr
    from gnuradio.grc.core.platform import Platform


    platform = Platform(version=gr.version(), prefs=gr.prefs(),
                        version_parts=(gr.major_version(), gr.api_version(), gr.minor_version()))
    platform.build_library()
    assert {"scos_radio_source", "scos_power_stats", "scos_sigmf_sink"} <= set(platform.blocks), \
        "the scos blocks are not on GRC's block path (make deps installs them)"
    flow_graph = platform.make_flow_graph()  # GRC's "new": an options block and a samp_rate variable
    for block in [b for b in flow_graph.blocks if b.key == "variable"]:
        flow_graph.remove_element(block)
    options = flow_graph.options_block
    for key, value in (("id", "acquire_fm"), ("title", "FFT power detection (a GRC user's action)"),
                       ("generate_options", "no_gui"), ("run_options", "run")):
        options.params[key].set_value(value)
    for i, (name, kind, default, comment) in enumerate(PARAMETERS):
        block = flow_graph.new_block("parameter")
        block.params["id"].set_value(name)
        block.params["type"].set_value(kind)
        block.params["value"].set_value(default)
        block.params["comment"].set_value(comment)
        block.states["coordinate"] = (200 + 176 * (i % 6), 8 + 128 * (i // 6))
    previous = None
    for i, (name, key, values) in enumerate(CHAIN):
        block = flow_graph.new_block(key)
        block.params["id"].set_value(name)
        for param, value in values.items():
            block.params[param].set_value(value)
        block.states["coordinate"] = (8 + 200 * i, 320)
        if previous is not None:
            flow_graph.connect(previous.sources[0], block.sinks[0])
        previous = block
    flow_graph.rewrite()  # as GRC does after each edit: the Parameter blocks' types first,
    flow_graph.rewrite()  # then the values and expressions that use them
    flow_graph.validate()
    assert flow_graph.is_valid(), flow_graph.get_error_messages()
    platform.save_flow_graph(str(path), flow_graph)


def integrated_dbm(spectrum_dbm: np.ndarray, centre: int, half_width: int) -> float:
    watts = 10 ** (spectrum_dbm[centre - half_width:centre + half_width + 1].astype(np.float64) / 10)
    return 10 * math.log10(watts.sum())


@pytest.mark.slow
def test_a_new_flowgraph_drawn_with_grc_becomes_an_action_that_runs_right(tmp_path, monkeypatch):
    monkeypatch.setenv("GRC_BLOCKS_PATH", grc_blocks_path())
    folder = tmp_path / "flowgraphs"
    shutil.copytree(DEFAULT_CATALOGUE.parent, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    build_flowgraph(folder / "acquire_fm.grc")
    with open(folder / "actions.yml", "a") as catalogue:
        catalogue.write('  acquire_fm:\n'
                        '    summary: "FFT power detection at {frequency:MHz}, {fft_size}-point {fft_window} FFT"\n'
                        '    flowgraph: acquire_fm.grc\n')
    check = subprocess.run([str(SCOS_GR), "check", "--actions", str(folder / "actions.yml"),
                            "--data-dir", str(tmp_path / "data")], capture_output=True, text=True, timeout=300)
    assert check.returncode == 0, check.stdout + check.stderr
    assert "ok       acquire_fm: FFT power detection at 98 MHz, 2048-point hann FFT" in check.stdout

    with LiveServer(tmp_path / "data", env={"SCOS_ACTIONS": str(folder / "actions.yml")}) as server:
        server.wait_scheduler("idle")
        [offered] = [a for a in server.get(f"{API}/capabilities/").json()["actions"] if a["name"] == "acquire_fm"]
        assert offered["available"] is True
        assert offered["parameters"]["fft_size"] == N and offered["parameters"]["frequency"] == FREQUENCY
        assert server.post(f"{API}/schedule/", {"name": "fm", "action": "acquire_fm"}).status == 201
        [task] = server.wait_tasks("fm", 1)
        assert task["status"] == "success", task["detail"]
        archive = server.get(f"{API}/acquisitions/fm/1/archive")
        assert archive.status == 200
    members = tarfile.open(fileobj=__import__("io").BytesIO(archive.body))
    meta = json.loads(members.extractfile("fm_1/fm_1.sigmf-meta").read())
    data = np.frombuffer(members.extractfile("fm_1/fm_1.sigmf-data").read(), dtype="<f4")
    mean, maximum = data.reshape(2, N)  # the detectors in the order power_stats was given
    [dft] = meta["global"]["ntia-algorithm:processing_info"]
    assert (dft["samples"], dft["dfts"], dft["window"]) == (N, FFTS, "hanning")  # the NTIA document's spelling
    assert meta["captures"][0]["core:frequency"] == FREQUENCY
    tone_bin = N // 2 + round(TONE_OFFSET / (RATE / N))
    assert int(np.argmax(mean)) in (tone_bin - 1, tone_bin, tone_bin + 1)
    assert integrated_dbm(mean, tone_bin, 6) == pytest.approx(-40.0, abs=0.1)
    assert float(np.median(mean)) == pytest.approx(-60 - 10 * math.log10(N), abs=0.3)
    assert np.all(maximum >= mean - 1e-3)
