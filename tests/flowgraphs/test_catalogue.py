"""The action catalogue: the shipped file is valid, and malformed entries are refused by name."""
from __future__ import annotations

import os
import re
import shutil
import time

import pytest

from scos_gr.flowgraphs.catalogue import (
    DEFAULT_CATALOGUE,
    KIND_LOG,
    CatalogueError,
    check_catalogue,
    load_catalogue,
    parse_catalogue,
)


def test_shipped_catalogue_has_the_default_actions(tmp_path):
    actions = check_catalogue(DEFAULT_CATALOGUE, tmp_path / "cache").actions
    assert {"acquire700c", "logger", "admin_logger"} <= set(actions)
    acq = actions["acquire700c"]
    assert acq.flowgraph_path == DEFAULT_CATALOGUE.parent / "acquire700c.grc"
    assert acq.flowgraph_path.is_file()
    values = acq.effective_parameters
    assert values["frequency"] == 751e6 and values["sample_rate"] == 15.36e6
    assert values["fft_size"] == 1024 and values["num_ffts"] == 300
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


# -- the checked catalogue: what the sensor serves and runs ---------------------------------------

@pytest.fixture
def copied(tmp_path):
    """A copy of the shipped catalogue folder, to edit as a user would (its own cache)."""
    folder = tmp_path / "flowgraphs"
    shutil.copytree(DEFAULT_CATALOGUE.parent, folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return folder


def check(folder):
    return check_catalogue(folder / "actions.yml", folder.parent / "cache")


def edit(path, old, new):
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new))
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 1_000_000))  # a new version, however fast


def test_the_shipped_catalogue_checks_clean_with_effective_values_and_rendered_texts(copied):
    catalogue = check(copied)
    assert catalogue.problems() == [] and catalogue.file_problem is None
    acq = catalogue.get("acquire700c")
    assert acq.parameters == {}  # nothing restated: the .grc's Parameter defaults are the values
    assert acq.effective_parameters["num_ffts"] == 300 and acq.effective_parameters["frequency"] == 751e6
    assert "751 MHz" in acq.summary and "300 FFTs of 1024 points" in " ".join(acq.description.split())
    assert "{" not in acq.description


def test_a_parameter_default_edited_in_the_grc_is_the_action_value_and_the_text_follows(copied):
    edit(copied / "acquire700c.grc", "value: '300'", "value: '50'")
    acq = check(copied).get("acquire700c")
    assert acq.effective_parameters["num_ffts"] == 50
    assert "50 FFTs" in " ".join(acq.description.split()) and "300" not in acq.description


def test_a_yaml_typo_names_file_and_line_and_keeps_the_last_good_catalogue_in_service(copied):
    assert "acquire700c" in check(copied).actions
    edit(copied / "actions.yml", "  logger:\n    kind: log", "  logger:\n    kind: log\n   oops: [")
    broken = check(copied)
    assert broken.file_problem and str(copied / "actions.yml") in broken.file_problem
    assert re.search(r"line \d+, column \d+", broken.file_problem)
    assert {"acquire700c", "logger"} <= set(broken.actions)  # the last good one still serves
    assert [f.kind for f in broken.faults()] == ["catalogue"]


def test_a_broken_entry_is_unavailable_with_its_reason_and_the_others_keep_working(copied):
    text = (copied / "actions.yml").read_text()
    (copied / "actions.yml").write_text(text + """
  typo_param:
    summary: x
    flowgraph: acquire700c.grc
    parameters: {num_fft: 50}
  bad_value:
    summary: x
    flowgraph: acquire700c.grc
    parameters: {num_ffts: many}
  bad_text:
    summary: "every {interval} s"
    flowgraph: acquire700c.grc
""")
    catalogue = check(copied)
    assert "acquire700c" in catalogue.actions and "logger" in catalogue.actions
    assert "unknown flowgraph parameter(s) ['num_fft']" in catalogue.unavailable["typo_param"]
    assert "'num_ffts': 'many' is not a valid int" in catalogue.unavailable["bad_value"]
    assert "summary names {interval}" in catalogue.unavailable["bad_text"]
    assert len(catalogue.faults()) == 3


def test_a_value_the_catalogue_sets_is_checked_in_the_flowgraph_it_runs_in(copied):
    # the head block counts fft_size x num_ffts samples; a catalogue value cannot break that, but a
    # hard-coded head count edited in GRC can, and only with the catalogue's num_ffts in place
    edit(copied / "acquire700c.grc", "num_items: fft_size * num_ffts", "num_items: fft_size * 300")
    assert "acquire700c" in check(copied).actions  # 300 is the default: still consistent
    text = (copied / "actions.yml").read_text()
    (copied / "actions.yml").write_text(text.replace("    flowgraph: acquire700c.grc\n",
                                                     "    flowgraph: acquire700c.grc\n    parameters: {num_ffts: 70}\n", 1))
    problem = check(copied).unavailable["acquire700c"]
    assert "blocks_head_0 passes 307200 samples" in problem and "1024 x 70" in problem


def test_a_window_changed_in_the_fft_block_only_is_refused_naming_both_blocks_and_windows(copied):
    grc = copied / "acquire700c.grc"
    text = grc.read_text()
    fft_window = re.search(r"window: (window\.\w+\(fft_size\))", text)
    if fft_window is None:  # the window comes from a variable the FFT block shares: edit the block itself
        fft_window = re.search(r"(?m)^    window: (.+)$", text[text.index("id: fft_vxx"):])
    grc.write_text(text.replace(fft_window.group(0), fft_window.group(0).replace(fft_window.group(1),
                                                                                   "window.hann(fft_size)"), 1))
    problem = check(copied).unavailable["acquire700c"]
    assert "fft_vxx_0" in problem and "hann" in problem and "scos_power_stats_0" in problem and "blackman" in problem


def test_a_gui_flowgraph_or_one_that_waits_for_a_key_is_refused(copied):
    edit(copied / "acquire700c.grc", "generate_options: no_gui", "generate_options: qt_gui")
    edit(copied / "monitor_radio.grc", "run_options: run", "run_options: prompt")
    catalogue = check(copied)
    assert "Generate Options is 'qt_gui'" in catalogue.unavailable["acquire700c"]
    assert "Run Options is 'prompt'" in catalogue.unavailable["monitor_radio"]
    assert "survey_700MHz_band" in catalogue.actions


def test_grcs_own_validation_message_is_the_reason(copied):
    edit(copied / "acquire700c.grc", "num_items: fft_size * num_ffts", "num_items: fft_size * num_fftz")
    problem = check(copied).unavailable["acquire700c"]
    assert "blocks_head_0" in problem and "num_fftz" in problem


def test_sea_products_whose_bins_or_frames_do_not_fit_a_channel_are_refused_at_load(copied):
    """The channel source's samples per channel, power_stats' capture, the PVT bin and the PFP frame
    must fit each other: checked when the catalogue loads, with the catalogue's values in place."""
    assert "sea_700MHz" in check(copied).actions
    text = (copied / "actions.yml").read_text()
    (copied / "actions.yml").write_text(text + """
  sea_bad_bin:
    summary: x
    flowgraph: sea_700MHz.grc
    parameters: {pvt_bin_ms: 30}
  sea_bad_points:
    summary: x
    flowgraph: sea_700MHz.grc
    parameters: {pfp_points: 561}
  sea_bad_rate:
    summary: x
    flowgraph: sea_700MHz.grc
    parameters: {sample_rate: 15.36e6}
""")
    catalogue = check(copied)
    assert "sea_700MHz" in catalogue.actions
    assert "scos_channel_source_0 passes 56000000 samples per channel, not a whole number of scos_pvt_0's 30 ms bins " \
           "(420000 samples)" in catalogue.unavailable["sea_bad_bin"]
    assert "scos_pfp_0: a 10 ms frame (140000 samples) does not split into 561 windows" in \
        catalogue.unavailable["sea_bad_points"]
    # 4 s at 15.36 MS/s is 351085 DFTs of 175 = 61439875 samples: no whole 10 ms bins or frames
    problem = catalogue.unavailable["sea_bad_rate"]
    assert "not a whole number of scos_pvt_0's 10 ms bins (153600 samples)" in problem
    assert "scos_pfp_0's 10 ms frames" in problem


def test_a_channel_that_is_not_one_power_stats_capture_is_refused(copied):
    edit(copied / "sea_700MHz.grc", "samples_per_channel: fft_size * num_ffts", "samples_per_channel: 2 * fft_size * num_ffts")
    problem = check(copied).unavailable["sea_700MHz"]
    assert "scos_channel_source_0 passes 112000000 samples per channel but scos_power_stats_0 takes fft_size x " \
           "num_ffts = 56000000 per capture" in problem
