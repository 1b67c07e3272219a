"""docs/metadata.md stays true: its examples pass the v2 checker, it names every key a recording
carries, its extension table is the code's, and its reading snippet runs."""
from __future__ import annotations

import contextlib
import io
import json
import re
from pathlib import Path

import pytest
from sigmf import SigMFFile

from scos_gr.sigmf_out import ntia
from tests.sigmf_out import ntia_examples as examples
from tests.sigmf_out.ntia_v2 import problems, project_problems

DOC = (Path(__file__).resolve().parents[2] / "docs" / "metadata.md").read_text(encoding="utf-8")


def checked_examples() -> list[tuple[int, dict]]:
    blocks = re.findall(r"<!-- checked example: data_bytes=(\d+) -->\n```json\n(.*?)```", DOC, re.S)
    return [(int(size), json.loads(text)) for size, text in blocks]


def test_the_four_examples_are_correct_recordings():
    found = checked_examples()
    assert sorted(m["global"]["core:datatype"] for _, m in found) == ["cf32_le", "rf32_le", "rf32_le", "rf32_le"]
    assert any(len(m["captures"]) > 1 for _, m in found)  # the survey
    assert any(len(m["global"].get("ntia-algorithm:data_products", [])) == 4 for _, m in found)  # SEA
    for data_bytes, metadata in found:
        assert problems(metadata, data_bytes) == []
        assert project_problems(metadata) == []


def _keys(node, keys: set[str]) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            keys.add(key)
            _keys(value, keys)
    elif isinstance(node, list):
        for value in node:
            _keys(value, keys)


def test_every_key_a_recording_carries_is_documented():
    keys: set[str] = set()
    for metadata, _ in (examples.detection_recording(), examples.iq_recording(),
                        examples.detection_recording(frequencies=[7e8, 7.1e8], series=("mean", "max")),
                        examples.sea_recording()):
        _keys(metadata, keys)
    keys |= set(examples.DEFINITION.sensor())  # every Sensor key a definition may give
    undocumented = sorted(k for k in keys if f"`{k}`" not in DOC)
    assert undocumented == []


def test_the_extension_table_is_the_codes():
    rows = re.findall(r"^\| `([a-z-]+)` \| `(v[\d.]+)` \| (true|false) \|", DOC, re.M)
    assert [(name, version, optional == "true") for name, version, optional in rows] == \
        [(e.name, e.version, e.optional) for e in ntia.EXTENSIONS]


@pytest.mark.parametrize("frequencies, series", [((751e6,), examples.DETECTORS), ((704e6, 716e6), ("mean", "max"))])
def test_the_reading_snippet_runs(tmp_path, frequencies, series):
    metadata, data = examples.detection_recording(frequencies=frequencies, series=series)
    data.tofile(tmp_path / "rec.sigmf-data")
    archive = tmp_path / "lte700_7.sigmf"
    SigMFFile(metadata=metadata, data_file=str(tmp_path / "rec.sigmf-data")).tofile(str(archive), toarchive=True)
    snippet = re.search(r"## 8\. Reading a recording.*?```python\n(.*?)```", DOC, re.S).group(1)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.chdir(tmp_path):
        exec(compile(snippet, "docs/metadata.md", "exec"), {})
    lines = out.getvalue().splitlines()
    assert len(lines) == len(frequencies) * len(series)
    for k, f in enumerate(frequencies):  # the example data's tone: 64 bins above each centre
        for line in lines[k * len(series):(k + 1) * len(series)]:
            assert line.endswith(f"-40.0 dBm at {(f + 64 * 15000.0) / 1e6:.3f} MHz"), line
