"""Throughput of the detection flowgraph against the same chain of stock blocks, in one run.

All use the real acquire700c.grc (compiled by grcc like the runner does) on the simulated radio,
unthrottled, for the same number of samples:

- baseline: the flowgraph's own radio -> head -> stream_to_vector -> fft_vcc -> |.|^2 chain,
  its Python detector and sink disconnected and a null sink connected instead;
- full: the whole flowgraph, power_stats (all five detectors; a capture this long takes the
  histogram median) and the SigMF sink writing the recording;
- two ceilings, the same chain ending in a block that does next to nothing: a stock C++ block
  that reads every value once and adds it up (``integrate_ff``: per-bin sums over 1000 frames)
  and a Python block that only consumes its input. A detector reads every value too, so it
  cannot do much better than the first: both show the cost of one more thread taking every
  frame from the chain. On a machine with few cores that thread competes with the chain itself
  for the CPU, and these figures show how much of the ratio is left for the detector's own work.

Each configuration also reports the process's CPU time per sample (user + system, all threads,
from ``getrusage``): the full flowgraph's minus the baseline's is what the detector and the sink
cost, a steadier figure than the rates on a shared machine.

It also prints the simulated radio's own rate (sim_source -> head -> null sink; goal >= 100 MS/s
unthrottled), since every other figure here stands on it, and the rate of the numpy way SCOS
sensors compute the same detectors (the capture in memory, then window, FFT, |.|^2 and
min/max/mean/median/sample over the frames with numpy, on NUMPY_SAMPLES samples of the same
signal: the rate does not depend on the length), which the flowgraph must beat tenfold.

The configurations alternate for ROUNDS rounds and the best rate of each is kept (the machine is
shared). It ends with the ceilings, measured in the same run, that stop the reader ratio and the numpy
ratio on a machine like this one: the rate the full flowgraph's CPU per sample allows with every
core busy (against the reader ceiling and against the numpy way), the stock chain's own rate
against the numpy way (no detection flowgraph built on that chain does better), and the reader
ceiling's against the numpy way: a detector reads every value at least once, so no detection
flowgraph does better than that either, and the numpy goal (>= 10x the numpy way) needs it at
x10 or more. The last line is
``ratio=<full/baseline> msps=<full> baseline_msps=<baseline> reader_ratio=<full/reader ceiling>
numpy_ratio=<full/numpy way> cpu_ceiling_ratio=<CPU-bound rate/reader ceiling, at most 1>
numpy_ceiling_ratio=<the lower of stock chain/numpy way and CPU-bound rate/numpy way>
reader_numpy_ratio=<reader ceiling/numpy way>``.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from measure import Run  # bench/, the script's own folder

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = int(float(os.environ.get("SCOS_BENCH_SAMPLES", 200e6)))
ROUNDS = int(os.environ.get("SCOS_BENCH_ROUNDS", 5))
FFT_SIZE = 1024
REAL_TIME_MSPS = 15.36
NUMPY_SAMPLES = int(float(os.environ.get("SCOS_BENCH_NUMPY_SAMPLES", 16e6)))


def _top_block(work: Path, num_ffts: int):
    from scos_gr.flowgraphs.compiler import compile_flowgraph, load_top_block_class

    cls = load_top_block_class(compile_flowgraph(ROOT / "flowgraphs" / "acquire700c.grc", work / "cache"))
    out = Path(tempfile.mkdtemp(dir=work))
    return cls(radio_args="sim", num_ffts=num_ffts, fft_size=FFT_SIZE, output_dir=str(out), basename="bench",
               metadata_json="{}"), out


def _chain_ending_in(work: Path, num_ffts: int, *ending) -> Run:
    """The flowgraph with power_stats and the sink replaced by ``ending`` after |.|^2."""
    tb, _ = _top_block(work, num_ffts)
    tb.disconnect(tb.blocks_complex_to_mag_squared_0, tb.scos_power_stats_0)
    tb.disconnect(tb.scos_power_stats_0, tb.scos_sigmf_sink_0)
    tb.connect(tb.blocks_complex_to_mag_squared_0, *ending)
    return Run.flowgraph(tb, num_ffts * FFT_SIZE)  # ``ending`` stays referenced until the run is over


def baseline(work: Path, num_ffts: int) -> Run:
    from gnuradio import blocks, gr

    return _chain_ending_in(work, num_ffts, blocks.null_sink(gr.sizeof_float * FFT_SIZE))


def reader_ceiling(work: Path, num_ffts: int) -> Run:
    """The chain ending in a stock C++ block that reads every value (per-bin sums)."""
    from gnuradio import blocks, gr

    return _chain_ending_in(work, num_ffts, blocks.integrate_ff(1000, FFT_SIZE),
                            blocks.null_sink(gr.sizeof_float * FFT_SIZE))


def python_ceiling(work: Path, num_ffts: int) -> Run:
    """The chain ending in a Python block that consumes its input and does nothing else."""
    import numpy as np
    from gnuradio import gr

    class consume_only(gr.basic_block):
        def __init__(self):
            gr.basic_block.__init__(self, "consume_only", [(np.float32, FFT_SIZE)], [])

        def general_work(self, input_items, output_items):
            self.consume(0, len(input_items[0]))
            return 0

    return _chain_ending_in(work, num_ffts, consume_only())


def full(work: Path, num_ffts: int) -> Run:
    tb, out = _top_block(work, num_ffts)
    run = Run.flowgraph(tb, num_ffts * FFT_SIZE)
    errors = [e for e in (tb.scos_power_stats_0.error, tb.scos_sigmf_sink_0.error) if e]
    if errors or not (out / "bench.sigmf-meta").is_file():
        sys.exit(f"full flowgraph failed: {errors or 'no recording written'}")
    return run


def numpy_way(samples: int) -> Run:
    """What SCOS sensors do: the capture in memory, then the detectors with numpy (timed from the
    samples in memory to the five spectra in dBm)."""
    import numpy as np
    from gnuradio.scos.sim import sim_samples

    from scos_gr.sigmf_out.windows import window_coefficients

    frames = samples // FFT_SIZE
    x = sim_samples(15.36e6, [(1e6, -40.0)], -60.0, 0, frames * FFT_SIZE).reshape(frames, FFT_SIZE)
    window = window_coefficients("blackman", FFT_SIZE).astype(np.float32)
    scale = 1.0 / (FFT_SIZE * float(np.sum(window.astype(np.float64) ** 2)) * 50.0)
    spectra = []

    def detect() -> None:
        power = np.abs(np.fft.fftshift(np.fft.fft(x * window, axis=1), axes=1)) ** 2 * scale
        stats = [power.min(axis=0), power.max(axis=0), power.mean(axis=0), np.median(power, axis=0), power[-1]]
        spectra.extend(10 * np.log10(s) + 30 for s in stats)

    run = Run(detect, frames * FFT_SIZE)
    assert len(spectra) == 5 and spectra[0].shape == (FFT_SIZE,)
    return run


def sim_source_msps(samples: int) -> float:
    from gnuradio import blocks, gr, scos

    tb = gr.top_block()
    head = blocks.head(gr.sizeof_gr_complex, samples)
    head.set_min_output_buffer(1 << 16)
    tb.connect(scos.sim_source(15.36e6, 751e6), head, blocks.null_sink(gr.sizeof_gr_complex))
    return Run.flowgraph(tb, samples).msps


def main() -> None:
    num_ffts = SAMPLES // FFT_SIZE
    configurations = {"baseline": baseline, "reader": reader_ceiling, "python": python_ceiling, "full": full}
    with tempfile.TemporaryDirectory(prefix="scos-bench-") as tmp:
        work = Path(tmp)
        _top_block(work, 1)  # compile and import once, outside the timings
        runs: dict[str, list[Run]] = {name: [] for name in configurations}
        sim, numpy_runs = [], []
        for i in range(ROUNDS):
            sim.append(sim_source_msps(SAMPLES // 2))
            numpy_runs.append(numpy_way(NUMPY_SAMPLES))
            for name, measure in configurations.items():
                runs[name].append(measure(work, num_ffts))
            print(f"round {i + 1}: " + ", ".join(f"{name} {r[-1].msps:.1f} MS/s" for name, r in runs.items()), flush=True)
    best = {name: max(r, key=lambda run: run.msps) for name, r in runs.items()}
    cpu = {name: min(run.cpu_ns for run in r) for name, r in runs.items()}
    b, f = best["baseline"].msps, best["full"].msps
    print(f"sim_source alone (unthrottled -> head -> null sink): {max(sim):.1f} MS/s (goal 100)")
    print(f"stock chain (sim -> head -> stream_to_vector -> fft_vcc -> mag^2 -> null sink): {b:.1f} MS/s, "
          f"{cpu['baseline']:.2f} ns CPU per sample")
    for name, what in (("reader", "a stock C++ block that sums each bin (integrate_ff)"),
                       ("python", "a Python block that only consumes")):
        print(f"ceiling, the chain ending in {what}: {best[name].msps:.1f} MS/s, ratio {best[name].msps / b:.3f}, "
              f"{cpu[name]:.2f} ns CPU per sample")
    print(f"full detection flowgraph acquire700c ({num_ffts} FFTs of {FFT_SIZE}, power_stats + sigmf_sink): "
          f"{f:.1f} MS/s, {cpu['full']:.2f} ns CPU per sample (detector and sink: "
          f"{cpu['full'] - cpu['baseline']:+.2f} ns); {f / best['reader'].msps:.2f} of the reader ceiling")
    numpy_best = max(numpy_runs, key=lambda run: run.msps)
    print(f"the numpy way (capture in memory; window, FFT, |.|^2, five detectors in numpy): {numpy_best.msps:.1f} MS/s, "
          f"{numpy_best.cpu_ns:.2f} ns CPU per sample; the flowgraph is x{f / numpy_best.msps:.1f} faster (goal x10)")
    reader = f / best["reader"].msps
    print(f"real time at {REAL_TIME_MSPS} MS/s: x{f / REAL_TIME_MSPS:.1f} (goal x8); {reader:.3f} of the reader "
          f"ceiling (goal 0.9); detector + sink CPU {cpu['full'] - cpu['baseline']:+.2f} ns per sample against the "
          f"reader's {cpu['reader'] - cpu['baseline']:+.2f} ns")
    # the ceilings that stop the two goals on this machine, measured in this run
    cores = len(os.sched_getaffinity(0))
    cpu_bound = cores / cpu["full"] * 1e3  # MS/s with every core busy on the full flowgraph's work
    cpu_ceiling = min(1.0, cpu_bound / best["reader"].msps)
    stock_numpy = b / numpy_best.msps
    numpy_ceiling = min(stock_numpy, cpu_bound / numpy_best.msps)
    print(f"ceiling of the reader ratio: the full flowgraph's {cpu['full']:.2f} ns of CPU per sample on the {cores} "
          f"core(s) here allow at most {cpu_bound:.1f} MS/s = {cpu_ceiling:.2f} of the reader ceiling, with every "
          f"core busy and no thread ever waiting for another")
    print(f"ceiling of the numpy ratio: x{numpy_ceiling:.1f}, the lower of the stock chain alone (no detector, no "
          f"sink: x{stock_numpy:.1f} the numpy way) and the rate the full flowgraph's CPU per sample allows on the "
          f"{cores} core(s) (x{cpu_bound / numpy_best.msps:.1f})")
    reader_numpy = best["reader"].msps / numpy_best.msps
    print(f"the reader ceiling against the numpy way: x{reader_numpy:.1f}; a detector reads every value at least "
          f"once, so no detection flowgraph on this chain beats it: x10 the numpy way needs it at x10 or more")
    print(f"ratio={f / b:.3f} msps={f:.1f} baseline_msps={b:.1f} reader_ratio={reader:.3f} "
          f"numpy_ratio={f / numpy_best.msps:.1f} cpu_ceiling_ratio={cpu_ceiling:.2f} "
          f"numpy_ceiling_ratio={numpy_ceiling:.1f} reader_numpy_ratio={reader_numpy:.1f}")


if __name__ == "__main__":
    main()
