"""Flowgraphs built ahead of their task (runner.prepare): each task still gets a fresh, correct
flowgraph, with its own output path and context, and an edited .grc or catalogue value is what
the next task runs."""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

from scos_gr.flowgraphs import runner
from scos_gr.flowgraphs.catalogue import DEFAULT_CATALOGUE, check_action, load_catalogue
from scos_gr.flowgraphs.compiler import compile_flowgraph
from scos_gr.flowgraphs.runner import RadioFailure, prepare, run_action
from scos_gr.sigmf_out.context import ScheduleInfo, TaskContext

from .grc_factory import write_stock_flowgraph

FLOWGRAPHS = Path(__file__).resolve().parents[2] / "flowgraphs"
N = 1024


@pytest.fixture(autouse=True)
def nothing_prepared():
    runner.discard_prepared()
    yield
    runner.discard_prepared()
    runner.release_finished()


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("grc-cache")


def _action(name: str, cache_dir: Path, **parameters):
    action = load_catalogue(DEFAULT_CATALOGUE)[name]
    if parameters:
        action = dataclasses.replace(action, parameters={**action.parameters, **parameters})
    return check_action(action, cache_dir)


def _context(task_id: int) -> TaskContext:
    return TaskContext(task_id=task_id, schedule=ScheduleInfo(name="prep"))


def _task(action, out: Path, basename: str, task_id: int, cache_dir: Path, radio: str = "sim"):
    return run_action(action, radio=radio, output_dir=out, basename=basename, context=_context(task_id),
                      cache_dir=cache_dir, timeout_s=60)


def _dfts(result) -> int:
    [dft] = result.recordings[0].metadata["global"]["ntia-algorithm:processing_info"]
    return dft["dfts"]


def _spectra(recording) -> np.ndarray:
    return np.fromfile(recording.data_path, dtype="<f4").reshape(-1, N)


def test_the_shipped_flowgraphs_take_every_task_value_after_they_are_built(cache_dir):
    for name in ("acquire700c.grc", "acquire_iq_751MHz.grc", "survey_700MHz_band.grc", "monitor_radio.grc"):
        compiled = compile_flowgraph(FLOWGRAPHS / name, cache_dir)
        declared = [p for p in runner.TASK_PARAMETERS if p in compiled.parameters]
        assert declared and set(declared) <= set(compiled.settable), (name, compiled.settable)
    # what the radio source and the head take at construction cannot change afterwards
    assert not {"frequency", "num_ffts", "radio_args"} & set(compile_flowgraph(FLOWGRAPHS / "acquire700c.grc",
                                                                              cache_dir).settable)


def test_a_prepared_flowgraph_writes_where_its_task_says_with_the_tasks_context(tmp_path, cache_dir):
    action = _action("acquire700c", cache_dir)
    first = _task(action, tmp_path / "a", "prep_1", 1, cache_dir)
    assert "build" in first.steps and "set" not in first.steps
    assert prepare(action, radio="sim", output_dir=tmp_path / "a", cache_dir=cache_dir)
    second = _task(action, tmp_path / "b", "prep_2", 2, cache_dir)
    assert "set" in second.steps and "build" not in second.steps  # the prepared one ran
    [rec] = second.recordings
    assert rec.meta_path == tmp_path / "b" / "prep_2.sigmf-meta" and rec.data_path.is_file()
    assert rec.metadata["global"]["ntia-scos:task"] == 2
    assert rec.metadata["global"]["ntia-scos:schedule"]["name"] == "prep"
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["prep_1.sigmf-data", "prep_1.sigmf-meta"]
    # the same signal, the same spectra: the prepared flowgraph starts as fresh as a new one
    np.testing.assert_array_equal(_spectra(rec), _spectra(first.recordings[0]))


def test_no_count_or_tag_of_the_last_task_reaches_the_next(tmp_path, cache_dir):
    # a tone above full scale: every task counts the same overloaded samples, and only its own
    radio = "sim,tones=1e6:20"
    action = _action("acquire700c", cache_dir)
    counts = []
    for task_id in (1, 2, 3):
        result = _task(action, tmp_path / "out", f"over_{task_id}", task_id, cache_dir, radio=radio)
        assert ("set" in result.steps) == (task_id > 1)
        [capture] = result.recordings[0].metadata["captures"]
        counts.append(capture["scos-gr:overload_samples"])
        prepare(action, radio=radio, output_dir=tmp_path / "out", cache_dir=cache_dir)
    assert counts[0] > 0 and counts == [counts[0]] * 3


def test_the_calibration_of_each_task_is_applied_to_a_prepared_flowgraph(tmp_path, cache_dir):
    from scos_gr.calibration import Calibration, CalibrationPoint

    action = _action("acquire700c", cache_dir)
    means = []
    for task_id, gain_db in ((1, 0.0), (2, -6.0)):
        prepare(action, radio="sim", output_dir=tmp_path, cache_dir=cache_dir)
        calibration = Calibration(points=(CalibrationPoint(0.0, gain_db, None),), reference="antenna input")
        result = run_action(action, radio="sim", output_dir=tmp_path, basename=f"cal_{task_id}", cache_dir=cache_dir,
                            context=_context(task_id), calibration=calibration)
        assert "set" in result.steps
        means.append(_spectra(result.recordings[0])[2])
    np.testing.assert_allclose(means[1] - means[0], 6.0, atol=1e-3)  # gain -6 dB: +6 dB corrected


def test_an_iq_capture_on_a_prepared_flowgraph_leaves_nothing_where_it_was_prepared(tmp_path, cache_dir):
    action = _action("acquire_iq_751MHz", cache_dir, duration_s=0.01)
    assert prepare(action, radio="sim", output_dir=tmp_path / "before", cache_dir=cache_dir)
    assert list((tmp_path / "before").iterdir()) == []  # the writer makes its file when the flowgraph starts
    result = _task(action, tmp_path / "after", "iq_1", 1, cache_dir)
    assert "set" in result.steps
    assert list((tmp_path / "before").iterdir()) == []
    assert sorted(p.name for p in (tmp_path / "after").iterdir()) == ["iq_1.sigmf-data", "iq_1.sigmf-meta"]
    assert result.recordings[0].data_bytes == round(0.01 * 15.36e6) * 8


def test_a_prepared_flowgraph_that_is_not_used_is_dropped_with_its_files(tmp_path, cache_dir):
    iq = _action("acquire_iq_751MHz", cache_dir, duration_s=0.01)
    assert prepare(iq, radio="sim", output_dir=tmp_path / "iq", cache_dir=cache_dir)
    result = _task(_action("acquire700c", cache_dir), tmp_path / "c", "c_1", 1, cache_dir)  # another action
    assert "build" in result.steps
    assert list((tmp_path / "iq").iterdir()) == []


def test_a_failed_run_of_a_prepared_flowgraph_leaves_nothing(tmp_path, cache_dir):
    # too short for its capture: power_stats never completes one and the task fails
    action = _action("acquire700c", cache_dir)
    write = tmp_path / "out"
    prepare(action, radio="sim", output_dir=write, cache_dir=cache_dir)
    runner._prepared[0].top_block.blocks_head_0.set_length(10 * N)
    with pytest.raises(runner.ActionError, match="power_stats: the stream ended after 10 of 300 frames"):
        _task(action, write, "short_1", 1, cache_dir)
    assert list(write.iterdir()) == []


def test_a_radio_that_failed_when_the_flowgraph_was_prepared_fails_that_task(tmp_path, cache_dir):
    from gnuradio import scos

    scos.reset_failure_counters()
    radio = "sim,fail_every=2,seed=5"
    action = _action("acquire700c", cache_dir)
    _task(action, tmp_path, "f_1", 1, cache_dir, radio=radio)  # construction 1
    assert not prepare(action, radio=radio, output_dir=tmp_path, cache_dir=cache_dir)  # construction 2 fails
    with pytest.raises(RadioFailure, match="fail_every"):
        _task(action, tmp_path, "f_2", 2, cache_dir, radio=radio)
    assert prepare(action, radio=radio, output_dir=tmp_path, cache_dir=cache_dir)  # 3: the radio is back
    assert "set" in _task(action, tmp_path, "f_3", 3, cache_dir, radio=radio).steps
    assert sorted(p.name for p in tmp_path.iterdir()) == ["f_1.sigmf-data", "f_1.sigmf-meta", "f_3.sigmf-data",
                                                           "f_3.sigmf-meta"]


def test_an_edited_grc_or_catalogue_value_is_what_the_next_task_runs(tmp_path, cache_dir):
    folder = tmp_path / "catalogue"
    folder.mkdir()
    shutil.copy(FLOWGRAPHS / "acquire700c.grc", folder)
    shipped = load_catalogue(DEFAULT_CATALOGUE)["acquire700c"]
    action = check_action(dataclasses.replace(shipped, base_dir=folder), cache_dir)
    prepare(action, radio="sim", output_dir=tmp_path, cache_dir=cache_dir)
    # saved again in GRC with 100 FFTs: the prepared flowgraph (300) is not the one that runs
    grc = folder / "acquire700c.grc"
    document = yaml.safe_load(grc.read_text())
    [num_ffts] = [b for b in document["blocks"] if b["name"] == "num_ffts"]
    num_ffts["parameters"]["value"] = "100"
    grc.write_text(yaml.safe_dump(document, sort_keys=False))
    edited = check_action(dataclasses.replace(shipped, base_dir=folder), cache_dir)
    result = _task(edited, tmp_path, "e_1", 1, cache_dir)
    assert "build" in result.steps
    assert _dfts(result) == 100
    # a value the catalogue sets: the same
    prepare(edited, radio="sim", output_dir=tmp_path, cache_dir=cache_dir)
    fewer = check_action(dataclasses.replace(shipped, base_dir=folder, parameters={"num_ffts": 50}), cache_dir)
    result = _task(fewer, tmp_path, "e_2", 2, cache_dir)
    assert "build" in result.steps
    assert _dfts(result) == 50


def test_a_flowgraph_whose_task_value_reaches_a_block_without_a_setter_is_never_prepared(tmp_path, cache_dir):
    # a stock file sink named after the basename takes it once, when it is built: a flowgraph
    # built ahead would write the task's samples under the wrong name
    grc = write_stock_flowgraph(tmp_path / "named.grc", "named_fg")
    document = yaml.safe_load(grc.read_text())
    [sink] = [b for b in document["blocks"] if b["name"] == "snk"]
    sink.update(id="blocks_file_sink", parameters={"type": "complex", "vlen": "1", "append": "False",
                                                   "unbuffered": "False", "file": "output_dir + '/' + basename"})
    grc.write_text(yaml.safe_dump(document, sort_keys=False))
    compiled = compile_flowgraph(grc, cache_dir)
    assert "basename" not in compiled.settable and "output_dir" not in compiled.settable
    action = runner.Action(name="named", summary="", description="", flowgraph="named.grc", base_dir=tmp_path,
                           records=False)
    assert not prepare(action, radio="sim", output_dir=tmp_path, cache_dir=cache_dir)
    assert runner._prepared == []


def test_a_flowgraph_that_takes_the_workers_own_values_is_built_for_its_task_only(tmp_path, cache_dir):
    # calibrate takes the catalogue's frequencies and the onboard calibration file, which have no
    # placeholder: built ahead, it would measure nothing or store its result nowhere
    action = _action("calibrate", cache_dir)
    assert set(runner.WORKER_PARAMETERS) <= set(compile_flowgraph(action.flowgraph_path, cache_dir).parameters)
    assert not prepare(action, radio="sim", output_dir=tmp_path, cache_dir=cache_dir)
    assert runner._prepared == []


def test_the_warm_up_rehearsal_counts_no_radio_construction(tmp_path, cache_dir):
    from gnuradio import scos

    scos.reset_failure_counters()
    radio = "sim,fail_every=2,seed=6"
    action = _action("acquire700c", cache_dir)
    runner.warm_up([action, _action("acquire_iq_751MHz", cache_dir)], cache_dir, radio)
    _task(action, tmp_path, "w_1", 1, cache_dir, radio=radio)  # the first acquisition
    with pytest.raises(RadioFailure, match="fail_every"):
        _task(action, tmp_path, "w_2", 2, cache_dir, radio=radio)  # the second
    assert json.loads((tmp_path / "w_1.sigmf-meta").read_text())["global"]["ntia-scos:task"] == 1
