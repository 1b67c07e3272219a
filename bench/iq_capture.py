"""IQ capture to disk: acquire_iq_751MHz's flowgraph (radio -> head -> file sink) vs real time.

Runs the real action through the runner with the unthrottled sim radio for 2 s of samples at
15.36 MS/s (245 MB), three times, and reports the best rate to disk and its ratio to real time
(the baseline, 15.36 MS/s). Last line: `realtime_x=<x> msps=<y> baseline_msps=15.36`.
Goal: realtime_x >= 2.
"""
from __future__ import annotations

import sys
import time
import tempfile
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scos_gr.flowgraphs.catalogue import load_catalogue  # noqa: E402
from scos_gr.flowgraphs.runner import run_action  # noqa: E402

RATE = 15.36e6
DURATION_S = 2.0


def main() -> None:
    action = load_catalogue()["acquire_iq_751MHz"]
    action = replace(action, parameters={**action.parameters, "duration_s": DURATION_S})
    rates = []
    with tempfile.TemporaryDirectory(dir=Path(__file__).resolve().parents[1]) as tmp:
        for i in range(3):
            t0 = time.perf_counter()
            result = run_action(action, radio="sim", output_dir=Path(tmp) / "out", basename=f"iq_{i}",
                                context={"task_id": i}, cache_dir=Path(tmp) / "cache", timeout_s=120)
            total = time.perf_counter() - t0
            rec = result.recordings[0]
            samples = rec.data_bytes // 8
            rates.append(samples / result.capture_seconds / 1e6)
            print(f"run {i + 1}: {samples} samples ({rec.data_bytes / 1e6:.0f} MB) in "
                  f"{result.capture_seconds:.3f} s: {rates[-1]:.1f} MS/s to the file; with SHA-512, fsync and "
                  f"metadata (whole task {total:.3f} s): {samples / total / 1e6:.1f} MS/s")
            Path(rec.data_path).unlink()
    best = max(rates)
    print(f"realtime_x={best / (RATE / 1e6):.2f} msps={best:.1f} baseline_msps={RATE / 1e6:.2f}")


if __name__ == "__main__":
    main()
