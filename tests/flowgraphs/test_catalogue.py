"""The action catalogue: the shipped file is valid, and malformed entries are refused by name."""
from __future__ import annotations

import os
import time

import pytest

from scos_gr.flowgraphs.catalogue import (
    DEFAULT_CATALOGUE,
    KIND_LOG,
    CatalogueError,
    load_catalogue,
    parse_catalogue,
)


def test_shipped_catalogue_has_the_default_actions():
    actions = load_catalogue(DEFAULT_CATALOGUE)
    assert {"acquire700c", "logger", "admin_logger"} <= set(actions)
    acq = actions["acquire700c"]
    assert acq.flowgraph_path == DEFAULT_CATALOGUE.parent / "acquire700c.grc"
    assert acq.flowgraph_path.is_file()
    assert acq.parameters["frequency"] == 751e6
    assert acq.parameters["sample_rate"] == 15.36e6
    assert acq.parameters["fft_size"] == 1024 and acq.parameters["num_ffts"] == 300
    assert actions["logger"].kind == KIND_LOG and not actions["logger"].admin_only
    assert actions["admin_logger"].admin_only


@pytest.mark.parametrize(
    "document, fragment",
    [
        ({}, "'actions' mapping"),
        ({"actions": {"a": {"kind": "shell"}}}, "kind must be one of"),
        ({"actions": {"a": {"summary": "x"}}}, "'flowgraph' (a .grc file) is required"),
        ({"actions": {"a": {"flowgraph": "nope.grc"}}}, "flowgraph file 'nope.grc' not found"),
        ({"actions": {"a": {"kind": "log", "colour": "red"}}}, "unknown keys ['colour']"),
        ({"actions": {"a": {"kind": "log", "parameters": [1]}}}, "'parameters' must be a mapping"),
    ],
)
def test_malformed_catalogue_is_refused_with_the_action_named(document, fragment):
    with pytest.raises(CatalogueError) as info:
        parse_catalogue(document)
    assert fragment in str(info.value)


def test_edited_catalogue_is_seen_on_the_next_call(tmp_path):
    path = tmp_path / "actions.yml"
    path.write_text("actions:\n  one: {kind: log, summary: first}\n")
    assert set(load_catalogue(path)) == {"one"}
    time.sleep(0.01)
    path.write_text("actions:\n  one: {kind: log, summary: first}\n  two: {kind: log, summary: second}\n")
    os.utime(path, ns=(time.time_ns(), time.time_ns()))
    assert set(load_catalogue(path)) == {"one", "two"}
