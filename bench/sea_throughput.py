"""Throughput of the SEA flowgraph (sea_700MHz) against the numpy way of computing the same products, in one run.

- SEA flowgraph: the real sea_700MHz.grc (compiled by GRC as the runner does) on the simulated
  radio, unthrottled, three channels of SECONDS each at 14 MS/s (NTIA's rate; the shipped action
  records 4 s per channel): the channel source stepping the radio, the stock FFT chain into SCOS
  Power Statistics (the PSD's mean and max), |x|^2 into the APD, power vs. time and periodic frame
  power blocks, and the SEA sink writing the recording. Timed from start to the recording written
  (the simulated radio computes its signal periods when the flowgraph is built, as a real radio
  opens before the task; that is not timed). It reports MS/s, real time (x at 14 MS/s; goal x2)
  and the process's CPU time per sample (all threads, user + system).
- The channel source alone (the radio and its stepper into a null sink): the rate no flowgraph
  behind it can exceed on this machine, printed as the ceiling.
- The numpy way, as NTIA's scos-actions computes the products: a capture of NUMPY_SECONDS in
  memory, then with numpy the flattop 175-point DFTs (mean and max per bin), |x|^2, the APD
  (searchsorted and a bincount into the level grid), power vs. time (reshape, mean and max per
  10 ms), periodic frame power (reshape frames x 560 points x windows, then mean, max, and min,
  max, mean over the frames) and the median power; timed from the samples in memory to the
  products in dBm. numpy's rate falls as the capture grows (its temporaries leave the caches: on
  the 2-core machine 17 MS/s for 0.2 s, 7-8 MS/s for 1 s, a quarter of one SEA channel), so
  NUMPY_SECONDS is kept at 1 s, in its favour.

The configurations alternate for ROUNDS rounds and the best rate of each is kept (the machine is
shared with other work: see the spread the rounds print). The last line is
``realtime_x=<SEA flowgraph MS/s / 14> numpy_ratio=<SEA flowgraph MS/s / numpy MS/s>``.
"""
from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from measure import Run  # bench/, the script's own folder

ROOT = Path(__file__).resolve().parents[1]
RATE = 14e6
CHANNELS = [739e6, 751e6, 763e6]
SECONDS = float(os.environ.get("SCOS_BENCH_SECONDS", 4.0))
NUMPY_SECONDS = float(os.environ.get("SCOS_BENCH_NUMPY_SECONDS", 1.0))
ROUNDS = int(os.environ.get("SCOS_BENCH_ROUNDS", 3))
FFT_SIZE, PVT_BIN_S, PFP_FRAME_S, PFP_POINTS = 175, 10e-3, 10e-3, 560
#: the simulated signal: a -40 dBm tone on for 3 ms of every 10 ms frame, over -60 dBm of noise
RADIO = "sim,tones=1e6:-40,noise_dbm=-60,pulse=10e-3:0.3"


def _sea_class(work: Path):
    from scos_gr.flowgraphs.compiler import compile_flowgraph, load_top_block_class

    return load_top_block_class(compile_flowgraph(ROOT / "flowgraphs" / "sea_700MHz.grc", work / "cache"))


def sea_flowgraph(work: Path) -> Run:
    out = Path(tempfile.mkdtemp(dir=work))
    tb = _sea_class(work)(radio_args=RADIO, frequencies=CHANNELS, sample_rate=RATE, duration_ms=SECONDS * 1e3,
                          output_dir=str(out), basename="bench", metadata_json="{}")
    samples = len(CHANNELS) * FFT_SIZE * tb.num_ffts
    run = Run.flowgraph(tb, samples)
    errors = [b.error for b in (tb.scos_power_stats_0, tb.scos_apd_0, tb.scos_pvt_0, tb.scos_pfp_0, tb.scos_sea_sink_0)
              if b.error]
    if errors or not (out / "bench.sigmf-meta").is_file():
        sys.exit(f"SEA flowgraph failed: {errors or 'no recording written'}")
    return run


def source_alone(work: Path) -> Run:
    from gnuradio import blocks, gr, scos

    samples = int(round(SECONDS * RATE)) // FFT_SIZE * FFT_SIZE
    tb = gr.top_block()
    source = scos.channel_source(RADIO, RATE, CHANNELS, samples, 131072, 0.0, FFT_SIZE)
    sink = blocks.null_sink(gr.sizeof_gr_complex)
    tb.connect(source, sink)
    return Run.flowgraph(tb, len(CHANNELS) * samples)


def numpy_way(seconds: float) -> Run:
    """The products of one capture with numpy, the capture in memory (as scos-actions does)."""
    import numpy as np
    from gnuradio.fft import window as gr_window
    from gnuradio.scos.sim import SIM_MIN_PERIOD, _periodic_length, pulse_gate, sim_samples

    n = int(round(seconds * RATE)) // 140_000 * 140_000  # whole 10 ms frames
    length = _periodic_length([1e6, RATE / 140_000], RATE, SIM_MIN_PERIOD, 1 << 24)
    period = sim_samples(RATE, [(1e6, -40.0)], -60.0, 0, length, True, 1.0, pulse_gate((10e-3, 0.3), RATE))
    x = np.resize(period, n)
    w = np.asarray(gr_window.flattop(FFT_SIZE), dtype=np.float32)
    psd_scale = 1.0 / (FFT_SIZE * float(np.sum(w.astype(np.float64) ** 2)) * 50.0)
    levels = np.arange(-180.0, -30.0 + 0.5, 1.0)
    edges = 50.0 * 10 ** ((levels - 30.0) / 10)
    window = int(round(PFP_FRAME_S * RATE)) // PFP_POINTS
    products = {}

    def dbm(watts):
        return 10 * np.log10(watts) + 30

    def compute() -> None:
        frames = x[: n // FFT_SIZE * FFT_SIZE].reshape(-1, FFT_SIZE)
        spectra = np.abs(np.fft.fftshift(np.fft.fft(frames * w, axis=1), axes=1)) ** 2 * psd_scale
        products["psd"] = dbm(np.vstack([spectra.mean(axis=0), spectra.max(axis=0)]))
        power = (x.real.astype(np.float32) ** 2 + x.imag.astype(np.float32) ** 2)  # V^2
        counts = np.bincount(np.searchsorted(edges, power, side="left"), minlength=len(edges) + 1)
        products["apd"] = 100.0 * (n - np.cumsum(counts))[:-1] / n
        bins = power.reshape(-1, int(round(PVT_BIN_S * RATE))) / 50.0
        products["pvt"] = dbm(np.vstack([bins.mean(axis=1), bins.max(axis=1)]))
        cube = power.reshape(-1, PFP_POINTS, window) / 50.0
        means, maxima = cube.mean(axis=2), cube.max(axis=2)
        products["pfp"] = dbm(np.vstack([f(s, axis=0) for s in (means, maxima) for f in (np.min, np.max, np.mean)]))
        products["median"] = dbm(np.median(power) / 50.0)

    run = Run(compute, n)
    assert products["psd"].shape == (2, FFT_SIZE) and products["pfp"].shape == (6, PFP_POINTS)
    return run


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="scos-bench-sea-") as tmp:
        work = Path(tmp)
        _sea_class(work)  # compile and import once, outside the timings
        runs: dict[str, list[Run]] = {"source": [], "sea": [], "numpy": []}
        for i in range(ROUNDS):
            runs["source"].append(source_alone(work))
            runs["sea"].append(sea_flowgraph(work))
            runs["numpy"].append(numpy_way(NUMPY_SECONDS))
            print(f"round {i + 1}: " + ", ".join(f"{name} {r[-1].msps:.1f} MS/s" for name, r in runs.items()), flush=True)
    best = {name: max(r, key=lambda run: run.msps) for name, r in runs.items()}
    cpu = {name: min(run.cpu_ns for run in r) for name, r in runs.items()}
    spread = {name: (min(run.msps for run in r), max(run.msps for run in r)) for name, r in runs.items()}
    sea, source, numpy = best["sea"].msps, best["source"].msps, best["numpy"].msps
    print(f"channel source alone (sim radio + stepper -> null sink): {source:.1f} MS/s "
          f"({spread['source'][0]:.1f}-{spread['source'][1]:.1f}), {cpu['source']:.2f} ns CPU per sample: the ceiling, "
          f"x{source / (RATE / 1e6):.1f} real time")
    print(f"SEA flowgraph sea_700MHz ({len(CHANNELS)} channels x {SECONDS:g} s at {RATE / 1e6:g} MS/s; PSD, APD, PVT, "
          f"PFP, summaries, recording): {sea:.1f} MS/s ({spread['sea'][0]:.1f}-{spread['sea'][1]:.1f}), "
          f"{cpu['sea']:.2f} ns CPU per sample; {sea / source:.2f} of the source's ceiling")
    print(f"the numpy way (a capture of {NUMPY_SECONDS:g} s in memory; DFTs, APD, PVT, PFP, median in numpy): "
          f"{numpy:.1f} MS/s ({spread['numpy'][0]:.1f}-{spread['numpy'][1]:.1f}), {cpu['numpy']:.2f} ns CPU per sample")
    realtime = sea / (RATE / 1e6)
    print(f"real time at {RATE / 1e6:g} MS/s: x{realtime:.2f} (goal x2: {'met' if realtime >= 2 else 'NOT met'}); "
          f"the flowgraph is x{sea / numpy:.1f} the numpy way's rate")
    print(f"realtime_x={realtime:.2f} numpy_ratio={sea / numpy:.1f}")


if __name__ == "__main__":
    main()
