"""IQ capture to disk: acquire_iq_751MHz as a whole task against the machine's I/O limit for it.

Runs the real action through the runner with the unthrottled sim radio for 2 s of samples at
15.36 MS/s (246 MB), ``SCOS_BENCH_ROUNDS`` times (default 5) after one warm-up run, and in each
round also measures, on the same data directory's filesystem and with the same number of bytes:

- SHA-512: hashlib over the bytes in memory (the recording's ``core:sha512`` must be computed
  over every byte);
- write + fsync: the bytes written to a new file in the output directory in 4 MiB pieces, then
  fsynced (the recording must be on disk when the task ends).

The I/O limit is the slower of the two: a task that hashes and writes at the same time, as the
data flows, cannot beat it (goal: the whole task at >= 0.8 of it). Each round reports two rates:
the flowgraph (samples / its run: the writer writing into the page cache while the probe
hashes) and the whole task (samples / the runner's whole call: build, run, one fsync, rename,
metadata: the recording is complete and on disk when it ends). The best of each is kept (the
machine is shared). It also prints the task's CPU time per sample (all threads): on a machine
with few cores that, not the I/O, can be what stops the task short of the I/O limit.

Last line: ``realtime_x=<task / 15.36> msps=<task> flowgraph_msps=<flowgraph> baseline_msps=15.36
io_limit_msps=<min(SHA-512, write+fsync) in MS/s of cf32> io_ratio=<task / io limit>``.
Goals: realtime_x >= 2, io_ratio >= 0.8.
"""
from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np
from measure import cpu_seconds  # bench/, the script's own folder

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from scos_gr.flowgraphs.catalogue import DEFAULT_CATALOGUE, load_catalogue  # noqa: E402
from scos_gr.flowgraphs.runner import release_finished, run_action  # noqa: E402
from scos_gr.sigmf_out.context import TaskContext  # noqa: E402

RATE = 15.36e6
DURATION_S = float(os.environ.get("SCOS_BENCH_IQ_SECONDS", 2.0))
ROUNDS = int(os.environ.get("SCOS_BENCH_ROUNDS", 5))
SAMPLE_BYTES = 8  # cf32_le
PIECE = 4 << 20


def sha512_msps(payload: memoryview) -> float:
    started = time.perf_counter()
    digest = hashlib.sha512()
    for i in range(0, len(payload), PIECE):
        digest.update(payload[i:i + PIECE])
    digest.hexdigest()
    return len(payload) / SAMPLE_BYTES / (time.perf_counter() - started) / 1e6


def write_fsync_msps(payload: memoryview, folder: Path) -> float:
    path = folder / ".bench-write-fsync"
    started = time.perf_counter()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        for i in range(0, len(payload), PIECE):
            os.write(fd, payload[i:i + PIECE])
        os.fsync(fd)
    finally:
        os.close(fd)
    seconds = time.perf_counter() - started
    path.unlink()
    return len(payload) / SAMPLE_BYTES / seconds / 1e6


def main() -> None:
    action = load_catalogue(DEFAULT_CATALOGUE)["acquire_iq_751MHz"]
    action = replace(action, parameters={**action.parameters, "duration_s": DURATION_S})
    samples = int(round(DURATION_S * RATE))
    payload = memoryview(np.random.default_rng(0).integers(0, 255, samples * SAMPLE_BYTES, dtype=np.uint8))
    flowgraph_rates, task_rates, sha_rates, write_rates, cpu_ns, hash_rates = [], [], [], [], [], []
    # on the repository's filesystem (the data directory's usual home), not a tmpfs
    with tempfile.TemporaryDirectory(dir=Path(__file__).resolve().parents[1]) as tmp:
        out, cache = Path(tmp) / "out", Path(tmp) / "cache"
        out.mkdir()
        for i in range(ROUNDS + 1):
            if i:
                sha_rates.append(sha512_msps(payload))
                write_rates.append(write_fsync_msps(payload, out))
            cpu0, t0 = cpu_seconds(), time.perf_counter()
            result = run_action(action, radio="sim", output_dir=out, basename=f"iq_{i}",
                                context=TaskContext(task_id=i + 1), cache_dir=cache, timeout_s=120)
            total, cpu = time.perf_counter() - t0, cpu_seconds() - cpu0
            release_finished()
            rec = result.recordings[0]
            assert rec.data_bytes == samples * SAMPLE_BYTES
            Path(rec.data_path).unlink()
            if i == 0:
                print(f"warm-up: {samples} samples in {total:.3f} s (includes the compile)")
                continue
            flowgraph_rates.append(samples / result.capture_seconds / 1e6)
            task_rates.append(samples / total / 1e6)
            cpu_ns.append(cpu / samples * 1e9)
            hash_cpu = result.steps.get("scos_iq_sink.hash cpu", 0.0)
            if hash_cpu > 0:
                hash_rates.append(samples / hash_cpu / 1e6)
            limit = min(sha_rates[-1], write_rates[-1])
            print(f"round {i}: {rec.data_bytes / 1e6:.0f} MB: flowgraph {result.capture_seconds:.3f} s = "
                  f"{flowgraph_rates[-1]:.1f} MS/s; whole task {total:.3f} s = {task_rates[-1]:.1f} MS/s; "
                  f"SHA-512 {sha_rates[-1]:.1f} MS/s, write+fsync {write_rates[-1]:.1f} MS/s: "
                  f"{task_rates[-1] / limit:.2f} of the I/O limit", flush=True)
    best, limit = max(task_rates), min(max(sha_rates), max(write_rates))
    print(f"I/O limit (the slower of SHA-512 at {max(sha_rates):.1f} MS/s and write+fsync at "
          f"{max(write_rates):.1f} MS/s, of cf32 samples): {limit:.1f} MS/s")
    print(f"whole task (build, run with the hash on the way, one fsync, metadata): {best:.1f} MS/s = "
          f"{best / limit:.2f} of the I/O limit (goal 0.8), x{best / (RATE / 1e6):.1f} real time (goal x2); "
          f"the flowgraph alone {max(flowgraph_rates):.1f} MS/s")
    cores = os.cpu_count() or 1
    sha_ns = 1e3 / max(sha_rates)
    cpu_bound = cores * 1e3 / min(cpu_ns)
    print(f"CPU per sample of the whole task (every thread): {min(cpu_ns):.1f} ns, of which SHA-512 alone {sha_ns:.1f} ns: "
          f"on the {cores} cores here the task cannot run faster than {cpu_bound:.1f} MS/s "
          f"({cpu_bound / limit:.2f} of the I/O limit), and the hash's own thread not faster than {max(sha_rates):.1f}")
    if hash_rates:
        in_flow = max(hash_rates)
        print(f"the hash in the running flowgraph (its thread's CPU time, sharing the {cores} cores with the source, "
              f"the radio monitor and the writer): {in_flow:.1f} MS/s = {in_flow / limit:.2f} of the I/O limit; "
              f"SHA-512 is serial, so the task cannot outrun it: the task ran at {best / in_flow:.2f} of it")
    print(f"realtime_x={best / (RATE / 1e6):.2f} msps={best:.1f} flowgraph_msps={max(flowgraph_rates):.1f} "
          f"baseline_msps={RATE / 1e6:.2f} io_limit_msps={limit:.1f} io_ratio={best / limit:.2f}")


if __name__ == "__main__":
    main()
