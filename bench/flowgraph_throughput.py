"""Throughput of the detection flowgraph against the same chain of stock blocks, in one run.

Both use the real acquire700c.grc (compiled by grcc like the runner does) on the simulated radio,
unthrottled, for the same number of samples:

- baseline: the flowgraph's own radio -> head -> stream_to_vector -> fft_vcc -> |.|^2 chain,
  its Python detector and sink disconnected and a null sink connected instead;
- full: the whole flowgraph, power_stats (all five detectors; a capture this long takes the
  histogram median) and the SigMF sink writing the recording.

It also prints the simulated radio's own rate (sim_source -> head -> null sink; goal >= 100 MS/s
unthrottled), since every other figure here stands on it.

The two alternate for ROUNDS rounds and the best of each is kept (the machine is shared).
The last line is ``ratio=<full/baseline> msps=<full> baseline_msps=<baseline>``.
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = int(float(os.environ.get("SCOS_BENCH_SAMPLES", 200e6)))
ROUNDS = int(os.environ.get("SCOS_BENCH_ROUNDS", 3))
FFT_SIZE = 1024
REAL_TIME_MSPS = 15.36


def _top_block(work: Path, num_ffts: int):
    from scos_gr.flowgraphs.compiler import compile_flowgraph, load_top_block_class

    cls = load_top_block_class(compile_flowgraph(ROOT / "flowgraphs" / "acquire700c.grc", work / "cache"))
    out = Path(tempfile.mkdtemp(dir=work))
    return cls(radio_args="sim", num_ffts=num_ffts, fft_size=FFT_SIZE, output_dir=str(out), basename="bench",
               metadata_json="{}"), out


def _timed(tb) -> float:
    started = time.perf_counter()
    tb.start()
    tb.wait()
    return time.perf_counter() - started


def baseline_msps(work: Path, num_ffts: int) -> float:
    from gnuradio import blocks, gr

    tb, _ = _top_block(work, num_ffts)
    tb.disconnect(tb.blocks_complex_to_mag_squared_0, tb.scos_power_stats_0)
    tb.disconnect(tb.scos_power_stats_0, tb.scos_sigmf_sink_0)
    tb.connect(tb.blocks_complex_to_mag_squared_0, blocks.null_sink(gr.sizeof_float * FFT_SIZE))
    return num_ffts * FFT_SIZE / _timed(tb) / 1e6


def full_msps(work: Path, num_ffts: int) -> float:
    tb, out = _top_block(work, num_ffts)
    seconds = _timed(tb)
    errors = [e for e in (tb.scos_power_stats_0.error, tb.scos_sigmf_sink_0.error) if e]
    if errors or not (out / "bench.sigmf-meta").is_file():
        sys.exit(f"full flowgraph failed: {errors or 'no recording written'}")
    return num_ffts * FFT_SIZE / seconds / 1e6


def sim_source_msps(samples: int) -> float:
    from gnuradio import blocks, gr, scos

    tb = gr.top_block()
    head = blocks.head(gr.sizeof_gr_complex, samples)
    head.set_min_output_buffer(1 << 16)
    tb.connect(scos.sim_source(15.36e6, 751e6), head, blocks.null_sink(gr.sizeof_gr_complex))
    return samples / _timed(tb) / 1e6


def main() -> None:
    num_ffts = SAMPLES // FFT_SIZE
    with tempfile.TemporaryDirectory(prefix="scos-bench-") as tmp:
        work = Path(tmp)
        _top_block(work, 1)  # compile and import once, outside the timings
        base, full, sim = [], [], []
        for i in range(ROUNDS):
            sim.append(sim_source_msps(SAMPLES // 2))
            base.append(baseline_msps(work, num_ffts))
            full.append(full_msps(work, num_ffts))
            print(f"round {i + 1}: stock chain {base[-1]:.1f} MS/s, detection flowgraph {full[-1]:.1f} MS/s", flush=True)
    b, f = max(base), max(full)
    print(f"sim_source alone (unthrottled -> head -> null sink): {max(sim):.1f} MS/s (goal 100)")
    print(f"stock chain (sim -> head -> stream_to_vector -> fft_vcc -> mag^2 -> null sink): {b:.1f} MS/s")
    print(f"full detection flowgraph acquire700c ({num_ffts} FFTs of {FFT_SIZE}, power_stats + sigmf_sink): {f:.1f} MS/s")
    print(f"real time at {REAL_TIME_MSPS} MS/s: x{f / REAL_TIME_MSPS:.1f} (goal x4); ratio {f / b:.3f} (goal 0.85)")
    print(f"ratio={f / b:.3f} msps={f:.1f} baseline_msps={b:.1f}")


if __name__ == "__main__":
    main()
