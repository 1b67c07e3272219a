"""The runner's mechanics on small stock-block flowgraphs: cache, edits, timeouts, errors, cleanup."""
from __future__ import annotations

import os
import time

import pytest

from scos_gr.flowgraphs import compiler
from scos_gr.flowgraphs.catalogue import Action, KIND_LOG
from scos_gr.flowgraphs.compiler import compile_flowgraph, CompileError
from scos_gr.flowgraphs.runner import ActionError, FlowgraphTimeout, run_action

from .grc_factory import write_stock_flowgraph
from scos_gr.sigmf_out.context import ScheduleInfo, TaskContext


def _action(tmp_path, grc_name: str, **parameters) -> Action:
    return Action(name="t", summary="", description="", flowgraph=grc_name, parameters=parameters, base_dir=tmp_path)


def test_compile_is_cached_by_content_and_an_edit_recompiles(tmp_path):
    grc = write_stock_flowgraph(tmp_path / "fg.grc", "fg_one")
    cache = tmp_path / "cache"
    first = compile_flowgraph(grc, cache)
    assert first.module_path.is_file()
    mtime = first.module_path.stat().st_mtime_ns
    again = compile_flowgraph(grc, cache)
    assert again.module_path == first.module_path and again.module_path.stat().st_mtime_ns == mtime

    write_stock_flowgraph(grc, "fg_one", num_items="77")  # as if saved again from GRC
    edited = compile_flowgraph(grc, cache)
    assert edited.key != first.key
    assert "77" in edited.module_path.read_text()


def test_an_edit_that_keeps_the_size_within_the_same_clock_tick_is_still_a_new_key(tmp_path, monkeypatch):
    # the key is kept per file by size and time; a rewrite within the filesystem's clock tick
    # keeps both (here the clock does not tick at all), so a file changed in the last seconds is
    # always read again
    tick = time.time_ns()
    stamp = compiler._file_stamp
    monkeypatch.setattr(compiler, "_file_stamp", lambda path: stamp(path) and (stamp(path)[0], tick, *stamp(path)[2:]))
    grc = write_stock_flowgraph(tmp_path / "fg.grc", "fg_tick", num_items="1000")
    first = compiler.cache_key(grc)
    write_stock_flowgraph(grc, "fg_tick", num_items="2000")  # same length, same time
    assert compiler.cache_key(grc) != first


def test_the_key_of_an_unchanged_flowgraph_is_not_read_again(tmp_path, monkeypatch):
    grc = write_stock_flowgraph(tmp_path / "fg.grc", "fg_kept")
    monkeypatch.setattr(compiler, "RACY_S", -1.0)  # as if every file were old
    first = compiler.cache_key(grc)
    reads = []
    monkeypatch.setattr(compiler, "_digest_files", lambda digest, paths: reads.append(paths))
    assert compiler.cache_key(grc) == first and reads == []
    os.utime(grc, ns=(0, grc.stat().st_mtime_ns + 10**9))  # touched: read again
    compiler.cache_key(grc)
    assert reads


def test_grcc_error_is_reported_with_the_file_name(tmp_path):
    grc = write_stock_flowgraph(tmp_path / "bad.grc", "bad_fg")
    grc.write_text(grc.read_text().replace("blocks_null_sink", "blocks_no_such_block"))
    with pytest.raises(CompileError, match="bad.grc"):
        compile_flowgraph(grc, tmp_path / "cache")


def test_flowgraph_that_writes_no_recording_fails_clearly(tmp_path):
    write_stock_flowgraph(tmp_path / "quiet.grc", "quiet")
    with pytest.raises(ActionError, match="finished without writing the recording rec_1"):
        run_action(_action(tmp_path, "quiet.grc"), radio="sim", output_dir=tmp_path / "out",
                   basename="rec_1", cache_dir=tmp_path / "cache")


def test_hung_flowgraph_is_stopped_at_the_timeout_and_leaves_nothing(tmp_path):
    write_stock_flowgraph(tmp_path / "slow.grc", "slow", num_items="100000000", throttled=True)
    out = tmp_path / "out"
    out.mkdir()
    (out / ".rec_2.sigmf-data.tmp-abc").write_bytes(b"partial")  # what a writer may leave mid-way
    with pytest.raises(FlowgraphTimeout, match="did not finish within 0.5 s"):
        run_action(_action(tmp_path, "slow.grc"), radio="sim", output_dir=out, basename="rec_2",
                   timeout_s=0.5, cache_dir=tmp_path / "cache")
    assert list(out.iterdir()) == []


def test_unknown_or_mistyped_catalogue_parameter_is_refused_by_name(tmp_path):
    write_stock_flowgraph(tmp_path / "fg.grc", "fg_params")
    with pytest.raises(ActionError, match=r"unknown flowgraph parameter\(s\) \['colour'\]"):
        run_action(_action(tmp_path, "fg.grc", colour="red"), radio="sim", output_dir=tmp_path / "o",
                   basename="b", cache_dir=tmp_path / "cache")
    with pytest.raises(ActionError, match="'num_items': 'many' is not a valid int"):
        run_action(_action(tmp_path, "fg.grc", num_items="many"), radio="sim", output_dir=tmp_path / "o",
                   basename="b", cache_dir=tmp_path / "cache")


def test_log_action_succeeds_without_a_recording(tmp_path, caplog):
    action = Action(name="logger", summary="", description="", kind=KIND_LOG)
    with caplog.at_level("INFO"):
        result = run_action(action, radio="sim", output_dir=tmp_path, basename="x", cache_dir=tmp_path / "cache",
                            context=TaskContext(task_id=7, schedule=ScheduleInfo(name="e")))
    assert result.recordings == []
    assert "task 7" in result.log and "task 7" in caplog.text


def test_a_run_reports_its_steps_and_leaves_the_teardown_for_later(tmp_path):
    from scos_gr.flowgraphs import runner

    write_stock_flowgraph(tmp_path / "steps.grc", "steps_fg")
    action = Action(name="steps", summary="", description="", flowgraph="steps.grc", base_dir=tmp_path, records=False)
    result = run_action(action, radio="sim", output_dir=tmp_path / "o", basename="s", cache_dir=tmp_path / "cache")
    assert list(result.steps) == ["compile", "build", "start", "run", "finish"]
    assert all(seconds >= 0 for seconds in result.steps.values())
    assert result.steps["run"] <= result.capture_seconds + 0.05
    assert len(runner._finished) == 1  # still alive: torn down once the outcome has gone
    assert runner.release_finished() >= 0 and runner._finished == []


def test_a_task_handed_over_ahead_starts_its_flowgraph_at_its_start_time_not_before(tmp_path):
    write_stock_flowgraph(tmp_path / "later.grc", "later_fg")
    action = Action(name="later", summary="", description="", flowgraph="later.grc", base_dir=tmp_path, records=False)
    compile_flowgraph(tmp_path / "later.grc", tmp_path / "cache")  # grcc's seconds are not the point here
    start_at = time.time() + 0.3
    result = run_action(action, radio="sim", output_dir=tmp_path / "o", basename="s", cache_dir=tmp_path / "cache",
                        start_at=start_at)
    assert list(result.steps) == ["compile", "build", "wait", "start", "run", "finish"]
    assert start_at <= result.started_at < start_at + 0.1  # built meanwhile, started at the time
    assert 0.1 < result.steps["wait"] <= 0.3
    # a start time already past (the task came late) is no wait at all
    late = run_action(action, radio="sim", output_dir=tmp_path / "o", basename="s", cache_dir=tmp_path / "cache",
                      start_at=time.time() - 5)
    assert "wait" not in late.steps and late.started_at > start_at
