"""IQ capture to disk: acquire_iq_751MHz's flowgraph (radio -> head -> file sink) vs real time.

Runs the real action through the runner with the unthrottled sim radio for 2 s of samples at
15.36 MS/s (246 MB), three times after one warm-up run (grcc compile, sim signal cached), and
reports two rates per run:
- flowgraph: samples / time the flowgraph ran (file sink into the page cache);
- durable: samples / whole task time, which adds SHA-512 over the file, fsync, rename and the
  metadata: the recording is complete and on disk when it ends.
Last line: `realtime_x=<durable best / 15.36> msps=<durable best> flowgraph_msps=<best>
baseline_msps=15.36`. Goal: realtime_x >= 2 (the durable rate, the stricter of the two).
"""
from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scos_gr.flowgraphs.catalogue import DEFAULT_CATALOGUE, load_catalogue  # noqa: E402
from scos_gr.flowgraphs.runner import run_action  # noqa: E402
from scos_gr.sigmf_out.context import TaskContext  # noqa: E402

RATE = 15.36e6
DURATION_S = 2.0
RUNS = 3


def main() -> None:
    action = load_catalogue(DEFAULT_CATALOGUE)["acquire_iq_751MHz"]
    action = replace(action, parameters={**action.parameters, "duration_s": DURATION_S})
    flowgraph_rates, durable_rates = [], []
    # on the repository's filesystem (the data directory's usual home), not a tmpfs
    with tempfile.TemporaryDirectory(dir=Path(__file__).resolve().parents[1]) as tmp:
        out, cache = Path(tmp) / "out", Path(tmp) / "cache"
        for i in range(RUNS + 1):
            t0 = time.perf_counter()
            result = run_action(action, radio="sim", output_dir=out, basename=f"iq_{i}",
                                context=TaskContext(task_id=i), cache_dir=cache, timeout_s=120)
            total = time.perf_counter() - t0
            rec = result.recordings[0]
            samples = rec.data_bytes // 8
            Path(rec.data_path).unlink()
            if i == 0:
                print(f"warm-up: {samples} samples in {total:.3f} s (includes grcc compile)")
                continue
            flowgraph_rates.append(samples / result.capture_seconds / 1e6)
            durable_rates.append(samples / total / 1e6)
            print(f"run {i}: {samples} samples ({rec.data_bytes / 1e6:.0f} MB): flowgraph {result.capture_seconds:.3f} s "
                  f"= {flowgraph_rates[-1]:.1f} MS/s; whole task with SHA-512, fsync, metadata {total:.3f} s "
                  f"= {durable_rates[-1]:.1f} MS/s")
    best = max(durable_rates)
    print(f"realtime_x={best / (RATE / 1e6):.2f} msps={best:.1f} flowgraph_msps={max(flowgraph_rates):.1f} "
          f"baseline_msps={RATE / 1e6:.2f}")


if __name__ == "__main__":
    main()
