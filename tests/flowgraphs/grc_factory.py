"""Write small stock-block .grc files for the runner's tests (no scos blocks needed)."""
from __future__ import annotations

from pathlib import Path

import yaml


def _param(name: str, type_: str, value: str) -> dict:
    return {"name": name, "id": "parameter",
            "parameters": {"label": name, "type": type_, "value": value, "hide": "none", "short_id": "", "comment": "", "alias": ""},
            "states": {"coordinate": [0, 0], "rotation": 0, "state": "enabled"}}


def _block(name: str, block_id: str, **params: str) -> dict:
    return {"name": name, "id": block_id, "parameters": dict(params),
            "states": {"coordinate": [0, 0], "rotation": 0, "state": "enabled"}}


def write_stock_flowgraph(path: Path, fg_id: str, *, num_items: str = "1000", throttled: bool = False) -> Path:
    """null_source -> [throttle] -> head(num_items) -> null_sink, with the runner's parameters declared."""
    blocks = [
        _param("output_dir", "str", "."),
        _param("basename", "str", "x"),
        _param("radio_args", "str", "sim"),
        _param("num_items", "intx", num_items),
        _block("src", "blocks_null_source", type="complex", vlen="1", num_outputs="1", bus_structure_source="[[0,],]"),
        _block("hd", "blocks_head", type="complex", vlen="1", num_items="num_items"),
        _block("snk", "blocks_null_sink", type="complex", vlen="1", num_inputs="1", bus_structure_sink="[[0,],]"),
    ]
    connections = [["src", "0", "hd", "0"], ["hd", "0", "snk", "0"]]
    if throttled:
        blocks.append(_block("thr", "blocks_throttle", type="complex", vlen="1", samples_per_second="1000", ignoretag="True"))
        connections = [["src", "0", "thr", "0"], ["thr", "0", "hd", "0"], ["hd", "0", "snk", "0"]]
    document = {
        "options": {"parameters": {"id": fg_id, "generate_options": "no_gui", "run_options": "run",
                                   "output_language": "python", "title": fg_id, "category": "Custom"},
                    "states": {"coordinate": [0, 0], "rotation": 0, "state": "enabled"}},
        "blocks": blocks,
        "connections": connections,
        "metadata": {"file_format": 1},
    }
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path


def write_crashing_flowgraph(path: Path, fg_id: str, message: str) -> Path:
    """A stock flowgraph whose Embedded Python Block writes ``message`` to stderr (fd 2, as C++
    blocks, drivers and Qt do) and aborts the process, as a crashing driver would."""
    write_stock_flowgraph(path, fg_id)
    document = yaml.safe_load(path.read_text())
    line = (message + "\n").encode()
    source = (
        "import os\n\nimport numpy as np\nfrom gnuradio import gr\n\n\n"
        "class blk(gr.sync_block):\n"
        "    def __init__(self):\n"
        "        gr.sync_block.__init__(self, name='crasher', in_sig=[np.complex64], out_sig=None)\n\n"
        "    def work(self, input_items, output_items):\n"
        f"        os.write(2, {line!r})\n"
        "        os.abort()\n"
    )
    document["blocks"].append(_block("crasher", "epy_block", _source_code=source))
    document["connections"].append(["hd", "0", "crasher", "0"])
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path
