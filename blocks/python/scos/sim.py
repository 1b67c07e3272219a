"""The simulated radio: a real GNU Radio source whose signal is known, so tests can check physics.

:class:`sim_source` (fixed frequency) plays known tones over white Gaussian noise of a known
power, complex volts across 50 ohm; :class:`retunable_sim` is the same radio for actions that
retune while running (the survey), with tones at absolute frequencies that move through the
spectrum as it retunes. Both are built from a radio string ``sim[,option=value...]``, whose
options :mod:`scos_gr.radio_args` parses (so the web process can read them without GNU Radio).

Full scale: like an ADC, the simulated radio clips each of I and Q at ``full_scale`` volts
(default ``SIM_FULL_SCALE``, 1 V: a tone reaches it at +13 dBm), so a signal above it is
distorted and the radio monitor counts the samples at full scale as an overload.

Failure injection: ``sim,fail_every=N`` makes every Nth *construction* of a radio with those
exact args in this process raise :class:`RadioError` (the counter lives in this module, so it
counts per worker process; :func:`reset_failure_counters` restarts it, for tests). Builds in a
warm-up rehearsal (:func:`~.task_block.rehearsal`) are not counted; a flowgraph the runner
builds ahead of its task is (its failure is that task's).
"""
from __future__ import annotations

import hashlib
import math
import os
import shutil
import tempfile
import threading
import time
import weakref
from fractions import Fraction
from typing import Any, Iterable, Sequence

import numpy as np
from gnuradio import blocks, gr

from scos_gr.disk import replace_atomically
from scos_gr.errors import RadioError
from scos_gr.radio_args import SIM_FREQUENCY_RANGE, SIM_FULL_SCALE, band_tones, sim_options

from .receiver import ANTENNA, DEFAULT_ENR_DB, PATHS, FrontEnd
from .task_block import rehearsing
from .thread_state import KeepThreadState
from .units import dbm_to_volts_rms

#: Items per output buffer of the source blocks: large buffers mean few scheduler calls.
SOURCE_BUFFER_ITEMS = 1 << 16

#: Shortest period of the simulated signal (8 MiB of complex64: 68 ms at 15.36 MS/s, more than
#: a 300 x 1024 capture) and how many cached periods (files) to keep.
SIM_MIN_PERIOD = 1 << 20
SIM_CACHE_FILES = 8


_failure_lock = threading.Lock()
_constructions: dict[str, int] = {}


def reset_failure_counters() -> None:
    """Forget how many radios were built (the ``fail_every`` counters); for tests."""
    with _failure_lock:
        _constructions.clear()


def count_construction(args: str, fail_every: int | None) -> None:
    """Raise RadioError on every ``fail_every``-th construction with these args in this process."""
    if not fail_every:
        return
    with _failure_lock:
        n = _constructions.get(args, 0) + 1
        _constructions[args] = n
    if n % int(fail_every) == 0:
        raise RadioError(
            f"simulated radio failure: construction {n} of radio {args!r} "
            f"(fail_every={fail_every}: one construction in {fail_every} fails, to test failure paths)"
        )


def _periodic_length(freqs: Iterable[float], samp_rate: float, min_len: int, max_len: int) -> int | None:
    """Smallest buffer length >= min_len in which every tone completes whole cycles, or None."""
    period = 1
    for f in freqs:
        ratio = Fraction(f / samp_rate).limit_denominator(max_len)
        if abs(float(ratio) - f / samp_rate) > 1e-15 * max(1.0, abs(f / samp_rate)):
            return None
        period = period * ratio.denominator // math.gcd(period, ratio.denominator)
        if period > max_len:
            return None
    return period * max(1, math.ceil(min_len / period))


def sim_samples(samp_rate: float, tones: Sequence[tuple[float, float]], noise_dbm: float | None,
                seed: int, length: int, periodic_tones: bool = True, full_scale: float | None = None,
                gate: tuple[int, int] | None = None) -> np.ndarray:
    """One period of the simulated signal (complex64 volts): tones (if periodic) plus noise,
    I and Q clipped at +-``full_scale`` (None: not clipped).

    Noise: complex white Gaussian of total power ``noise_dbm`` over the sample rate (each of I
    and Q carries half the power), from numpy's PCG64 seeded with ``seed``. ``gate``: (period,
    on) in samples: the tones sound only in the first ``on`` samples of every ``period`` (the
    ``pulse`` option; ``length`` is a multiple of the period).
    """
    rng = np.random.default_rng(seed)
    out = np.zeros(length, dtype=np.complex128)
    if noise_dbm is not None:
        sigma = dbm_to_volts_rms(noise_dbm) / math.sqrt(2.0)
        out.real = rng.standard_normal(length) * sigma
        out.imag = rng.standard_normal(length) * sigma
    if periodic_tones:
        n = np.arange(length, dtype=np.float64)
        mask = None if gate is None else (np.arange(length) % gate[0]) < gate[1]
        for offset, power in tones:
            tone = dbm_to_volts_rms(power) * np.exp(2j * np.pi * (offset / samp_rate) * n)
            out += tone if mask is None else tone * mask
    return clip_complex(out, full_scale).astype(np.complex64)


def pulse_gate(pulse: tuple[float, float] | None, samp_rate: float) -> tuple[int, int] | None:
    """The ``pulse`` option (period s, duty cycle) as (period, on) in samples; RadioError when
    the period is not a whole number of samples (the frame would drift against the samples)."""
    if pulse is None:
        return None
    period_s, duty = float(pulse[0]), float(pulse[1])
    period = period_s * float(samp_rate)
    if abs(period - round(period)) > 1e-6 * max(1.0, period) or round(period) < 2:
        raise RadioError(f"sim radio: pulse period {period_s:g} s is {period:g} samples at {samp_rate:g} S/s; "
                         "it must be a whole number of samples (>= 2)")
    period_samples = int(round(period))
    return period_samples, max(1, min(period_samples - 1, int(round(duty * period_samples))))


def clip_complex(samples: np.ndarray, full_scale: float | None) -> np.ndarray:
    """``samples`` with I and Q each limited to +-``full_scale`` (in place), as an ADC clips."""
    if full_scale is not None:
        np.clip(samples.real, -full_scale, full_scale, out=samples.real)
        np.clip(samples.imag, -full_scale, full_scale, out=samples.imag)
    return samples


def may_reach(full_scale: float | None, tones: Sequence[tuple[float, float]], noise_dbm: float | None) -> bool:
    """Whether tones plus noise can reach ``full_scale`` on I or Q (noise counted to 7 sigma)."""
    if full_scale is None:
        return False
    peak = sum(dbm_to_volts_rms(p) for _, p in tones)
    if noise_dbm is not None:
        peak += 7.0 * dbm_to_volts_rms(noise_dbm) / math.sqrt(2.0)
    return peak >= full_scale


_buffer_lock = threading.Lock()


def _sim_file(samp_rate: float, tones: Sequence[tuple[float, float]], noise_dbm: float | None,
              seed: int, length: int, periodic_tones: bool, full_scale: float | None,
              gate: tuple[int, int] | None = None) -> str:
    """Path of a cached file holding one period of the signal (written once, atomically).

    Why a file: ``blocks.file_source`` replays it with memcpy speed and opens in microseconds,
    whereas handing millions of samples to ``vector_source_c`` costs ~80 ms per construction
    (every acquisition builds a new flowgraph).
    """
    key = repr((float(samp_rate), [(float(f), float(p)) for f, p in tones], noise_dbm, int(seed), int(length),
                periodic_tones, full_scale, 1) + ((tuple(gate),) if gate is not None else ()))
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    directory = os.path.join(tempfile.gettempdir(), f"scos-sim-{os.getuid()}")
    path = os.path.join(directory, f"{digest}.cf32")
    with _buffer_lock:
        if not os.path.isfile(path):
            os.makedirs(directory, exist_ok=True)
            data = sim_samples(samp_rate, tones, noise_dbm, seed, length, periodic_tones,
                               full_scale if periodic_tones else None, gate)
            replace_atomically(path, data.tobytes(), durable=False)  # a cache: made again if lost
            _prune(directory, keep=path)
    return path


def _prune(directory: str, keep: str) -> None:
    """Keep the newest SIM_CACHE_FILES periods (an open file_source keeps reading a removed file)."""
    try:
        files = sorted((os.path.join(directory, n) for n in os.listdir(directory) if n.endswith(".cf32")),
                       key=lambda p: os.stat(p).st_mtime, reverse=True)
        for old in files[SIM_CACHE_FILES:]:
            if old != keep:
                os.unlink(old)
    except OSError:  # another process pruned first
        pass


class sim_source(gr.hier_block2):
    """The simulated radio: known tones over white noise, complex volts across 50 ohm.

    Built from stock blocks only, so it runs at several hundred MS/s unthrottled: one period of
    the signal (tones whose frequency fits a whole number of cycles in the buffer, plus seeded
    white Gaussian noise) is computed with numpy once, cached in a file and replayed by
    ``blocks.file_source(repeat=True)``. Tones that do not fit a period of at most 2^24 samples
    come from ``analog.sig_source_c`` blocks added to it. The noise repeats after the buffer
    (2^20 samples or the next multiple of the tones' period: 68 ms at 15.36 MS/s), more than
    any single detection capture uses. The periods are cached in files under the temp directory
    (``scos-sim-<uid>/``, the newest ``SIM_CACHE_FILES`` kept).

    ``tones``: list of (offset from centre in Hz, power in dBm); ``noise_dbm``: total noise
    power over the whole sample rate (None: no noise); ``throttle``: pace the output at
    ``samp_rate`` (real time); ``seed``: the noise's seed; ``band``: more tones as (absolute
    frequency in Hz, dBm), added at ``frequency - center_freq`` when within the span;
    ``full_scale``: I and Q are clipped at +-full_scale volts (None: never). ``gain_db``,
    ``nf_db``: the receiver behind the antenna (:mod:`.receiver`: tones and noise are given at
    its input); ``enr_db``: its noise diode (never switched on here); ``pulse``: (period s, duty
    cycle) gating the tones.
    """

    def __init__(self, samp_rate: float = 15.36e6, center_freq: float = 751e6,
                 tones: Sequence[tuple[float, float]] | None = ((1e6, -40.0),), noise_dbm: float | None = -60.0,
                 throttle: bool = False, seed: int = 0, band: Sequence[tuple[float, float]] = (),
                 full_scale: float | None = SIM_FULL_SCALE, gain_db: float = 0.0, nf_db: float | None = None,
                 enr_db: float = DEFAULT_ENR_DB, pulse: tuple[float, float] | None = None,
                 buffer_items: int = SOURCE_BUFFER_ITEMS):
        gr.hier_block2.__init__(self, "scos_sim_source", gr.io_signature(0, 0, 0),
                                gr.io_signature(1, 1, gr.sizeof_gr_complex))
        samp_rate = float(samp_rate)
        if not samp_rate > 0:
            raise RadioError(f"sim radio: sample rate must be > 0, not {samp_rate}")
        tones = [(float(f), float(p)) for f, p in (tones or [])] + band_tones(band or [], samp_rate, float(center_freq))
        self.front_end = FrontEnd(float(gain_db), nf_db, float(enr_db))
        tones, noise_dbm = self.front_end.signal_at_adc(tones, noise_dbm, samp_rate)
        self.samp_rate, self.center_freq = samp_rate, float(center_freq)
        self.tones, self.noise_dbm, self.seed = tones, noise_dbm, int(seed)
        self.full_scale = None if full_scale is None else float(full_scale)
        gate = pulse_gate(pulse, samp_rate)

        length = _periodic_length([f for f, _ in tones] + ([samp_rate / gate[0]] if gate else []), samp_rate,
                                  SIM_MIN_PERIOD, 1 << 24)
        periodic = length is not None
        if gate is not None and not periodic:
            raise RadioError(f"sim radio: pulse {pulse} needs tones and a period that fit a buffer of at most 2^24 "
                             "samples together")
        length = length or SIM_MIN_PERIOD
        path = _sim_file(samp_rate, tones, noise_dbm, self.seed, length, periodic, self.full_scale, gate)
        self._file = blocks.file_source(gr.sizeof_gr_complex, path, True)
        self._file.set_min_output_buffer(int(buffer_items))
        last: Any = self._file
        self._extra: list[Any] = []
        if not periodic:
            from gnuradio import analog

            for i, (offset, power) in enumerate(tones):
                # for complex output GR_COS_WAVE is the complex exponential cos + j sin
                tone = analog.sig_source_c(samp_rate, analog.GR_COS_WAVE, offset, dbm_to_volts_rms(power), 0)
                add = blocks.add_cc(1)
                for b in (tone, add):
                    b.set_min_output_buffer(int(buffer_items))
                self.connect(last, (add, 0))
                self.connect(tone, (add, 1))
                self._extra += [tone, add]
                last = add
            if may_reach(self.full_scale, tones, noise_dbm):  # clip what the added tones can push over
                last = self._clipper(last, self.full_scale)
        if throttle:
            self._throttle = blocks.throttle(gr.sizeof_gr_complex, samp_rate, True)
            self.connect(last, self._throttle)
            last = self._throttle
        self.connect(last, self)

    def _clipper(self, last: Any, full_scale: float) -> Any:
        from gnuradio import analog

        split, join = blocks.complex_to_float(1), blocks.float_to_complex(1)
        rails = [analog.rail_ff(-full_scale, full_scale) for _ in range(2)]
        self.connect(last, split)
        for port, rail in enumerate(rails):
            self.connect((split, port), rail, (join, port))
        self._extra += [split, join, *rails]
        return join


class switchable_sim(gr.hier_block2):
    """The simulated radio for actions that retune it, or switch its input to the noise diode,
    while running, at the fixed sim's speed.

    Each setting (centre frequency, input path of :mod:`.receiver`) has its own period of signal:
    the offset tones, the ``band`` tones within the span, the noise, through the receiver, gated
    by ``pulse``; computed once with numpy (cached like :class:`sim_source`'s) and replayed by one
    ``blocks.file_source``, which :meth:`retune` points at another file (GNU Radio's
    ``file_source.open``, applied at its next call). Samples already in the buffers keep the old
    setting, as a real radio's do (at most ``SOURCE_BUFFER_ITEMS``, 65536, wait in the file
    source's buffer): the stepper downstream discards the settling samples after every change. :meth:`prepare` computes the periods of a whole plan before the flowgraph
    starts, so a retune never waits for numpy.

    The cached files are shared by every process of the user and pruned (``SIM_CACHE_FILES``);
    this block hard-links the ones it uses into a private directory (removed with the block), so
    a prune elsewhere never pulls a file from under a plan. Each setting's noise has its own seed
    (from ``seed``, the frequency and the path): two channels, or the diode on and off, never
    replay the same noise.
    """

    def __init__(self, samp_rate: float, center_freq: float, tones: Sequence[tuple[float, float]] = (),
                 band: Sequence[tuple[float, float]] = (), noise_dbm: float | None = -60.0, seed: int = 0,
                 full_scale: float | None = SIM_FULL_SCALE, front_end: FrontEnd | None = None,
                 pulse: tuple[float, float] | None = None, throttle: bool = False):
        gr.hier_block2.__init__(self, "scos_switchable_sim", gr.io_signature(0, 0, 0),
                                gr.io_signature(1, 1, gr.sizeof_gr_complex))
        self.samp_rate = float(samp_rate)
        if not self.samp_rate > 0:
            raise RadioError(f"sim radio: sample rate must be > 0, not {samp_rate}")
        self.tones = [(float(f), float(p)) for f, p in tones]
        self.band = [(float(f), float(p)) for f, p in band]
        self.noise_dbm, self.seed = noise_dbm, int(seed)
        self.full_scale = None if full_scale is None else float(full_scale)
        self.front_end = front_end or FrontEnd()
        self.gate = pulse_gate(pulse, self.samp_rate)
        self.throttle = bool(throttle)
        self.center_freq, self.path = float(center_freq), ANTENNA
        self._lock = threading.Lock()
        self._links = tempfile.mkdtemp(prefix="scos-sim-plan-")
        self._cleanup = weakref.finalize(self, shutil.rmtree, self._links, True)
        self._file = blocks.file_source(gr.sizeof_gr_complex, self._period(self.center_freq, ANTENNA), True)
        self._file.set_min_output_buffer(SOURCE_BUFFER_ITEMS)
        last: Any = self._file
        if self.throttle:
            self._throttle = blocks.throttle(gr.sizeof_gr_complex, self.samp_rate, True)
            self.connect(last, self._throttle)
            last = self._throttle
        self.connect(last, self)

    def _check_frequency(self, frequency: float) -> float:
        low, high = SIM_FREQUENCY_RANGE
        if not low <= float(frequency) <= high:
            raise RadioError(f"sim radio cannot tune to {frequency / 1e6:.3f} MHz (range {low / 1e6:g}-{high / 1e6:g} MHz)")
        return float(frequency)

    def _period(self, frequency: float, path: str) -> str:
        """The file of one period of the signal at ``frequency`` on ``path`` (made if needed)."""
        if path not in PATHS:
            raise RadioError(f"sim radio: unknown input path {path!r} (known: {', '.join(PATHS)})")
        frequency = self._check_frequency(frequency)
        tones = self.tones + band_tones(self.band, self.samp_rate, frequency)
        tones, noise = self.front_end.signal_at_adc(tones, self.noise_dbm, self.samp_rate, path)
        length = _periodic_length([f for f, _ in tones] + ([self.samp_rate / self.gate[0]] if self.gate else []),
                                  self.samp_rate, SIM_MIN_PERIOD, 1 << 24)
        if length is None:
            raise RadioError(f"sim radio: the tones {tones} at {frequency / 1e6:.6f} MHz do not repeat within 2^24 "
                             f"samples at {self.samp_rate:g} S/s (this radio replays one period)")
        seed = int(np.random.SeedSequence([self.seed, int(round(frequency)), PATHS.index(path)]).generate_state(1)[0])
        for _ in range(2):  # another process may prune the shared file before it is linked
            shared = _sim_file(self.samp_rate, tones, noise, seed, length, True, self.full_scale, self.gate)
            private = os.path.join(self._links, os.path.basename(shared))
            try:
                if not os.path.exists(private):
                    os.link(shared, private)
                return private
            except FileNotFoundError:
                continue
        raise RadioError(f"sim radio: the signal file {shared} vanished twice while being linked")

    def prepare(self, settings: Iterable[tuple[float, str]]) -> None:
        """Compute the periods of every (frequency, path) of a plan now."""
        for frequency, path in settings:
            self._period(frequency, path)

    def retune(self, frequency: float, path: str | None = None) -> float:
        """Tune to ``frequency`` with the input on ``path`` (None: unchanged); returns the frequency.
        A setting already in place is left alone: the signal goes on without a jump."""
        with self._lock:
            path = self.path if path is None else path
            if (float(frequency), path) == (self.center_freq, self.path):
                return self.center_freq
            self._file.open(self._period(frequency, path), True)
            self.center_freq, self.path = float(frequency), path
        return self.center_freq

    def set_center_freq(self, frequency: float) -> float:
        return self.retune(frequency)

    def set_path(self, path: str) -> None:
        self.retune(self.center_freq, path)


def build_switchable_sim(args: str, samp_rate: float, centre: float) -> switchable_sim:
    """The switchable sim from a ``sim[,options]`` radio string (``retune_garbage`` is the survey's
    retunable sim's only, and ignored here); RadioError for a bad option."""
    options = sim_options(args)
    count_construction(args, options.get("fail_every"))
    time.sleep(options.get("open_delay", 0.0))
    tones = options.get("tones", [] if "band" in options else [(1e6, -40.0)])
    return switchable_sim(samp_rate, centre, tones, options.get("band", []), options.get("noise_dbm", -60.0),
                          options.get("seed", 0), options.get("full_scale", SIM_FULL_SCALE), front_end_of(options),
                          options.get("pulse"), options.get("throttle", False))


class retunable_sim(KeepThreadState, gr.sync_block):
    """Simulated radio with tones at absolute frequencies; retunable while running."""

    def __init__(self, samp_rate: float, center_freq: float, band: Sequence[tuple[float, float]] = ((751e6, -40.0),),
                 noise_dbm: float | None = -60.0, seed: int = 0, retune_garbage: int = 0,
                 tones: Sequence[tuple[float, float]] = (), full_scale: float | None = SIM_FULL_SCALE,
                 front_end: FrontEnd | None = None, pulse: tuple[float, float] | None = None):
        gr.sync_block.__init__(self, "scos_retunable_sim", [], [np.complex64])
        self.samp_rate = float(samp_rate)
        self.front_end = front_end or FrontEnd()
        gain = self.front_end.gain_db  # the receiver's gain on every input signal
        self.band = [(float(f), float(p) + gain) for f, p in band]
        self.tones = [(float(f), float(p) + gain) for f, p in tones]  # offsets that follow the tuning
        noise_dbm = self.front_end.signal_at_adc([], noise_dbm, self.samp_rate)[1]
        self.gate = pulse_gate(pulse, self.samp_rate)
        self.noise_sigma = None if noise_dbm is None else dbm_to_volts_rms(noise_dbm) / math.sqrt(2.0)
        self.garbage_sigma = dbm_to_volts_rms(0.0) / math.sqrt(2.0)
        self.retune_garbage = int(retune_garbage)
        self.full_scale = None if full_scale is None else float(full_scale)
        self._rng = np.random.default_rng(seed)
        self._lock = threading.Lock()
        self._n = 0  # samples produced since the last retune (tone phase)
        self._garbage_left = 0
        self.center_freq = float(center_freq)
        self.set_center_freq(center_freq)

    def set_center_freq(self, frequency: float) -> float:
        low, high = SIM_FREQUENCY_RANGE
        if not low <= frequency <= high:
            raise RadioError(f"sim radio cannot tune to {frequency / 1e6:.3f} MHz (range {low / 1e6:g}-{high / 1e6:g} MHz)")
        with self._lock:
            self.center_freq = float(frequency)
            self._n = 0
            self._garbage_left = self.retune_garbage
        return self.center_freq

    def work(self, input_items, output_items):
        out = output_items[0]
        length = len(out)
        with self._lock:
            n0, centre, garbage = self._n, self.center_freq, min(self._garbage_left, length)
            self._n += length
            self._garbage_left -= garbage
        samples = np.zeros(length, dtype=np.complex128)
        if self.noise_sigma is not None:
            samples.real = self._rng.standard_normal(length) * self.noise_sigma
            samples.imag = self._rng.standard_normal(length) * self.noise_sigma
        k = np.arange(n0, n0 + length, dtype=np.float64)
        mask = None if self.gate is None else (np.arange(n0, n0 + length) % self.gate[0]) < self.gate[1]
        for offset, power in [(f - centre, p) for f, p in self.band] + self.tones:
            if abs(offset) < self.samp_rate / 2:  # outside the span it is filtered out, not aliased
                tone = dbm_to_volts_rms(power) * np.exp(2j * np.pi * (offset / self.samp_rate) * k)
                samples += tone if mask is None else tone * mask
        if garbage:
            samples[:garbage] = (self._rng.standard_normal(garbage) + 1j * self._rng.standard_normal(garbage)) \
                * self.garbage_sigma
        out[:] = clip_complex(samples, self.full_scale)
        return length


def build_retunable_sim(args: str, samp_rate: float, centre: float) -> retunable_sim:
    """The retunable sim from the same options as the plain sim radio (``radio.sim_options``)."""
    options = sim_options(args)
    tones = options.get("tones", [])
    band = options.get("band", [] if "tones" in options else [(751e6, -40.0)])
    if not rehearsing():  # a warm-up build is no acquisition, and opens no device
        count_construction(args, options.get("fail_every"))
        time.sleep(options.get("open_delay", 0.0))
    source = retunable_sim(samp_rate, centre, band, options.get("noise_dbm", -60.0), options.get("seed", 0),
                           options.get("retune_garbage", 0), tones, options.get("full_scale", SIM_FULL_SCALE),
                           front_end_of(options), options.get("pulse"))
    source.set_max_output_buffer(8192)  # few stale samples in flight after a retune
    source.throttle = options.get("throttle", False)
    return source


def front_end_of(options: dict[str, Any]) -> FrontEnd:
    """The receiver a sim radio string describes (``gain_db``, ``nf_db``, ``enr_db``)."""
    return FrontEnd(float(options.get("gain_db", 0.0)), options.get("nf_db"),
                    float(options.get("enr_db", DEFAULT_ENR_DB)))


def build_sim_source(args: str, samp_rate: float, center_freq: float,
                     buffer_items: int = SOURCE_BUFFER_ITEMS) -> sim_source:
    """The fixed-frequency simulated radio a ``sim[,options]`` string describes (counted for
    ``fail_every``); RadioError for a bad option or a frequency outside the sim's range.
    ``buffer_items``: its output buffer (see :class:`~.radio.radio_source`)."""
    options = sim_options(args)
    fail_every, open_delay = options.pop("fail_every", None), options.pop("open_delay", 0.0)
    if not rehearsing():  # a warm-up build is no acquisition, and opens no device
        count_construction(args, fail_every)
        time.sleep(open_delay)
    options.pop("retune_garbage", None)  # this radio is never retuned while running
    if "band" in options:  # absolute tones replace the default tone, like explicit tones
        options.setdefault("tones", [])
    low, high = SIM_FREQUENCY_RANGE
    if not low <= center_freq <= high:
        raise RadioError(f"sim radio: centre frequency {center_freq:g} Hz outside {low:g}..{high:g} Hz")
    return sim_source(samp_rate, center_freq, buffer_items=buffer_items, **options)
