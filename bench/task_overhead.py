"""Task overhead: from a task's due time to its recording committed, minus the capture itself.

The real scheduler (warm worker process, real acquire700c flowgraph on the sim radio, SQLite)
runs an entry due every second for 24 runs; the first 2 are discarded as warm-up. For each task:
overhead = commit time - due time - capture time (the flowgraph's own run), and start jitter =
the moment the task was claimed - its due time. The baseline in the same run is the capture time.
Last line: `overhead_p99_ms=<x> start_jitter_p99_ms=<y>`.
"""
from __future__ import annotations

import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scos_gr import store  # noqa: E402
from scos_gr.config import load_settings  # noqa: E402
from scos_gr.scheduler.service import Scheduler  # noqa: E402

RUNS = 24
WARMUP = 2


class MeasuredScheduler(Scheduler):
    def __init__(self, settings):
        super().__init__(settings)
        self.jitter_ms: list[float] = []
        self.overhead_ms: list[float] = []
        self.capture_ms: list[float] = []
        self._due: dict[int, int] = {}

    def _claim(self, due, now):
        claimed = super()._claim(due, now)
        if claimed is not None:
            task, _ = claimed
            self._due[task.task_id] = task.scheduled_time
            self.jitter_ms.append((time.time() - task.scheduled_time) * 1000)
        return claimed

    def _record(self, task, outcome, duration):
        super()._record(task, outcome, duration)
        committed = time.time()
        assert outcome.ok, outcome.error
        self.capture_ms.append(outcome.capture_seconds * 1000)
        self.overhead_ms.append((committed - self._due[task.task_id] - outcome.capture_seconds) * 1000)


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings({"SCOS_DATA_DIR": str(Path(tmp) / "data")})
        settings.data_dir.mkdir(parents=True)
        store.init_store(settings.database_url)
        scheduler = MeasuredScheduler(settings)
        thread = threading.Thread(target=scheduler.run, daemon=True)
        thread.start()
        while True:  # wait until warm (worker up, flowgraphs compiled)
            with store.database.connection_context():
                row = store.SchedulerState.get_or_none(store.SchedulerState.id == 1)
            if row is not None and row.state == "idle":
                break
            time.sleep(0.1)
        start = int(time.time()) + 1
        with store.database.connection_context():
            owner = store.User.create(name="bench", token_hash="0" * 64, is_admin=True)
            store.ScheduleEntry.create(name="bench", action="acquire700c", start=start, interval=1,
                                       stop=start + RUNS, owner=owner, next_task_time=start)
        while len(scheduler.overhead_ms) < RUNS and time.time() < start + RUNS + 30:
            time.sleep(0.2)
        scheduler.stop()
        thread.join(30)
    overhead, jitter, capture = (scheduler.overhead_ms[WARMUP:], scheduler.jitter_ms[WARMUP:],
                                 scheduler.capture_ms[WARMUP:])
    print(f"tasks measured: {len(overhead)} (acquire700c, sim radio, warm worker)")
    capture50, capture99 = np.percentile(capture, [50, 99], method="nearest")
    overhead50, overhead99 = np.percentile(overhead, [50, 99], method="nearest")
    jitter50, jitter99 = np.percentile(jitter, [50, 99], method="nearest")
    print(f"capture (flowgraph run, the baseline): p50 {capture50:.1f} ms p99 {capture99:.1f} ms")
    print(f"overhead (due -> committed, minus capture): p50 {overhead50:.1f} ms p99 {overhead99:.1f} ms")
    print(f"start jitter (due -> claimed): p50 {jitter50:.1f} ms p99 {jitter99:.1f} ms")
    print(f"overhead_p99_ms={overhead99:.1f} start_jitter_p99_ms={jitter99:.1f}")


if __name__ == "__main__":
    main()
