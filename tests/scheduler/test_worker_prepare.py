"""The worker builds the next task's flowgraph once it has answered (runner.prepare), and an
edit of the action's .grc between two tasks is what the second one runs."""
from __future__ import annotations

import shutil
import time
from pathlib import Path

import yaml

from scos_gr.config import load_settings
from scos_gr.scheduler.worker import PREPARE_AFTER_S, TaskRequest, Worker
from scos_gr.sigmf_out.context import ScheduleInfo, TaskContext

ROOT = Path(__file__).resolve().parents[2]


def test_the_next_task_runs_the_flowgraph_built_after_the_last_and_an_edit_is_picked_up(tmp_path):
    folder = tmp_path / "catalogue"
    folder.mkdir()
    shutil.copy(ROOT / "flowgraphs" / "acquire700c.grc", folder)
    shipped = yaml.safe_load((ROOT / "flowgraphs" / "actions.yml").read_text())["actions"]
    (folder / "actions.yml").write_text(yaml.safe_dump({"actions": {"acquire700c": shipped["acquire700c"]}}))
    settings = load_settings({"SCOS_DATA_DIR": str(tmp_path / "data"), "SCOS_ACTIONS": str(folder / "actions.yml")})
    out = tmp_path / "data" / "acquisitions" / "w"
    worker = Worker(settings)
    worker.start()

    def task(task_id: int):
        outcome = worker.run(TaskRequest(action="acquire700c", output_dir=out, basename=f"w_{task_id}",
                                         context=TaskContext(task_id=task_id, schedule=ScheduleInfo(name="w")),
                                         timeout_s=30))
        assert outcome.ok, outcome.error
        time.sleep(PREPARE_AFTER_S + 0.5)  # the worker builds the next flowgraph meanwhile
        [dft] = outcome.recordings[0].metadata["global"]["ntia-algorithm:processing_info"]
        return outcome, dft["dfts"]

    try:
        first, _ = task(1)
        second, dfts = task(2)
        assert "build" in first.steps and "set" in second.steps and dfts == 300
        assert second.received_at <= second.replied_at and second.steps["run"] > 0
        grc = folder / "acquire700c.grc"  # saved again in GRC with 100 FFTs
        document = yaml.safe_load(grc.read_text())
        [num_ffts] = [b for b in document["blocks"] if b["name"] == "num_ffts"]
        num_ffts["parameters"]["value"] = "100"
        grc.write_text(yaml.safe_dump(document, sort_keys=False))
        third, dfts = task(3)
        assert "build" in third.steps and dfts == 100
        fourth, dfts = task(4)
        assert "set" in fourth.steps and dfts == 100
    finally:
        worker.stop()
    assert sorted(p.name for p in out.iterdir()) == [f"w_{i}.sigmf-{kind}" for i in (1, 2, 3, 4)
                                                     for kind in ("data", "meta")]
