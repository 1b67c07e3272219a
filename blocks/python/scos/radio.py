"""Radio sources of scos: the simulated radio and any gr-osmosdr device, behind one name.

``radio_source(args, ...)`` is what every detection flowgraph uses: ``args`` starting with
``sim`` builds :class:`sim_source` (options ``fail_every``, ``seed``, ``noise_dbm``, ``tones``,
``band``, ``throttle``, ``retune_garbage``), anything else is a gr-osmosdr device string
(``rtl=0``, ``hackrf=0``, ``uhd``, ``file=/path.cf32,rate=...``).

One ``SCOS_RADIO`` serves every action: ``band=F_HZ:DBM/...`` places tones at absolute
frequencies (the survey's retunable sim moves them as it retunes; a fixed-frequency flowgraph
sees those within its span at ``F - centre``), and ``retune_garbage=K`` only concerns radios
that retune while running (the survey), so a fixed-frequency radio accepts and ignores it.

Failure injection: ``sim,fail_every=N`` makes every Nth *construction* of a radio source with
those exact args in this process raise :class:`RadioError` (the counter lives in this module,
so it counts per worker process; :func:`reset_failure_counters` restarts it, for tests).

Lost samples: a real radio reports an overflow by a discontinuity of its ``rx_time`` stream
tags. For osmosdr devices :class:`rx_time_monitor` (in line, right after the device) compares
the time between consecutive ``rx_time`` tags with the number of samples between them and tags
the stream with ``scos_dropped`` (a dict ``{"dropped_samples", "overflows"}``) where samples
went missing; :class:`~gnuradio.scos.power_stats` adds them up for the recording's metadata.
The simulated radio never loses samples.
"""
from __future__ import annotations

import hashlib
import math
import os
import tempfile
import threading
from fractions import Fraction
from typing import Any, Iterable, Sequence

import numpy as np
import pmt
from gnuradio import blocks, gr

from scos_gr.errors import RadioError
from scos_gr.radio_args import SIM_FREQUENCY_RANGE, SIM_OPTIONS, band_tones, is_sim, parse_args, parse_tones, sim_options  # noqa: F401

#: Impedance the complex samples' volts are referred to: power (W) = |x|^2 / 50.
IMPEDANCE_OHM = 50.0

#: Tag key that rx_time_monitor puts on the sample stream where samples were lost.
DROPPED_TAG = "scos_dropped"

#: Items per output buffer of the source blocks: large buffers mean few scheduler calls.
SOURCE_BUFFER_ITEMS = 1 << 16

#: Shortest period of the simulated signal (8 MiB of complex64: 68 ms at 15.36 MS/s, more than
#: a 300 x 1024 capture) and how many cached periods (files) to keep.
SIM_MIN_PERIOD = 1 << 20
SIM_CACHE_FILES = 8


def dbm_to_watts(dbm: float) -> float:
    return 10.0 ** ((float(dbm) - 30.0) / 10.0)


def dbm_to_volts_rms(dbm: float) -> float:
    """RMS amplitude (V) of a complex signal of ``dbm`` across 50 ohm: |x|^2 / 50 = P."""
    return math.sqrt(dbm_to_watts(dbm) * IMPEDANCE_OHM)


# ---------------------------------------------------------------------------------------------
# Argument parsing and failure injection


_failure_lock = threading.Lock()
_constructions: dict[str, int] = {}


def reset_failure_counters() -> None:
    """Forget how many radios were built (the ``fail_every`` counters); for tests."""
    with _failure_lock:
        _constructions.clear()


def _count_construction(args: str, fail_every: int | None) -> None:
    """Raise RadioError on every ``fail_every``-th construction with these args in this process."""
    if not fail_every:
        return
    with _failure_lock:
        n = _constructions.get(args, 0) + 1
        _constructions[args] = n
    if n % int(fail_every) == 0:
        raise RadioError(
            f"simulated radio failure: construction {n} of radio {args!r} "
            f"(fail_every={fail_every} injects a failure every {fail_every}th acquisition)"
        )


# ---------------------------------------------------------------------------------------------
# Simulated radio


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
                seed: int, length: int, periodic_tones: bool = True) -> np.ndarray:
    """One period of the simulated signal (complex64 volts): tones (if periodic) plus noise.

    Noise: complex white Gaussian of total power ``noise_dbm`` over the sample rate (each of I
    and Q carries half the power), from numpy's PCG64 seeded with ``seed``.
    """
    rng = np.random.default_rng(seed)
    out = np.zeros(length, dtype=np.complex128)
    if noise_dbm is not None:
        sigma = dbm_to_volts_rms(noise_dbm) / math.sqrt(2.0)
        out.real = rng.standard_normal(length) * sigma
        out.imag = rng.standard_normal(length) * sigma
    if periodic_tones:
        n = np.arange(length, dtype=np.float64)
        for offset, power in tones:
            out += dbm_to_volts_rms(power) * np.exp(2j * np.pi * (offset / samp_rate) * n)
    return out.astype(np.complex64)


_buffer_lock = threading.Lock()


def _sim_file(samp_rate: float, tones: Sequence[tuple[float, float]], noise_dbm: float | None,
              seed: int, length: int, periodic_tones: bool) -> str:
    """Path of a cached file holding one period of the signal (written once, atomically).

    Why a file: ``blocks.file_source`` replays it with memcpy speed and opens in microseconds,
    whereas handing millions of samples to ``vector_source_c`` costs ~80 ms per construction
    (every acquisition builds a new flowgraph).
    """
    key = repr((float(samp_rate), [(float(f), float(p)) for f, p in tones], noise_dbm, int(seed), int(length),
                periodic_tones, 1))
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    directory = os.path.join(tempfile.gettempdir(), f"scos-sim-{os.getuid()}")
    path = os.path.join(directory, f"{digest}.cf32")
    with _buffer_lock:
        if not os.path.isfile(path):
            os.makedirs(directory, exist_ok=True)
            data = sim_samples(samp_rate, tones, noise_dbm, seed, length, periodic_tones)
            fd, tmp = tempfile.mkstemp(dir=directory, suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as fh:
                    fh.write(data.tobytes())
                os.replace(tmp, path)
            except BaseException:
                if os.path.exists(tmp):
                    os.unlink(tmp)
                raise
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
    frequency in Hz, dBm), added at ``frequency - center_freq`` when within the span.
    """

    def __init__(self, samp_rate: float = 15.36e6, center_freq: float = 751e6,
                 tones: Sequence[tuple[float, float]] | None = ((1e6, -40.0),), noise_dbm: float | None = -60.0,
                 throttle: bool = False, seed: int = 0, band: Sequence[tuple[float, float]] = ()):
        gr.hier_block2.__init__(self, "scos_sim_source", gr.io_signature(0, 0, 0),
                                gr.io_signature(1, 1, gr.sizeof_gr_complex))
        samp_rate = float(samp_rate)
        if not samp_rate > 0:
            raise RadioError(f"sim radio: sample rate must be > 0, not {samp_rate}")
        tones = [(float(f), float(p)) for f, p in (tones or [])] + band_tones(band or [], samp_rate, float(center_freq))
        self.samp_rate, self.center_freq = samp_rate, float(center_freq)
        self.tones, self.noise_dbm, self.seed = tones, noise_dbm, int(seed)

        length = _periodic_length([f for f, _ in tones], samp_rate, SIM_MIN_PERIOD, 1 << 24)
        periodic = length is not None
        length = length or SIM_MIN_PERIOD
        path = _sim_file(samp_rate, tones, noise_dbm, self.seed, length, periodic)
        self._file = blocks.file_source(gr.sizeof_gr_complex, path, True)
        self._file.set_min_output_buffer(SOURCE_BUFFER_ITEMS)
        last: Any = self._file
        self._extra: list[Any] = []
        if not periodic:
            from gnuradio import analog

            for i, (offset, power) in enumerate(tones):
                # for complex output GR_COS_WAVE is the complex exponential cos + j sin
                tone = analog.sig_source_c(samp_rate, analog.GR_COS_WAVE, offset, dbm_to_volts_rms(power), 0)
                add = blocks.add_cc(1)
                for b in (tone, add):
                    b.set_min_output_buffer(SOURCE_BUFFER_ITEMS)
                self.connect(last, (add, 0))
                self.connect(tone, (add, 1))
                self._extra += [tone, add]
                last = add
        if throttle:
            self._throttle = blocks.throttle(gr.sizeof_gr_complex, samp_rate, True)
            self.connect(last, self._throttle)
            last = self._throttle
        self.connect(last, self)

    # The runner and the metadata ask every radio the same questions.
    def dropped_samples(self) -> int:
        return 0


# ---------------------------------------------------------------------------------------------
# Overflow accounting for real radios


class rx_time_monitor(gr.sync_block):
    """Pass complex samples through; tag ``scos_dropped`` where ``rx_time`` shows a gap.

    Between two ``rx_time`` tags at sample offsets o1, o2 with times t1, t2 the radio should
    have delivered round((t2 - t1) * samp_rate) samples; if fewer arrived, the difference was
    lost in an overflow. Work is a numpy copy per call (memcpy speed), tags are O(tags).
    """

    def __init__(self, samp_rate: float):
        gr.sync_block.__init__(self, "scos_rx_time_monitor", [np.complex64], [np.complex64])
        self.samp_rate = float(samp_rate)
        self._last: tuple[int, float] | None = None
        self.dropped = 0
        self.overflows = 0
        self._key = pmt.intern("rx_time")

    def work(self, input_items, output_items):
        n = len(output_items[0])
        output_items[0][:] = input_items[0][:n]
        for tag in self.get_tags_in_window(0, 0, n, self._key):
            seconds = rx_time_seconds(tag.value)
            if seconds is None:
                continue
            if self._last is not None:
                o1, t1 = self._last
                expected = int(round((seconds - t1) * self.samp_rate))
                lost = expected - (tag.offset - o1)
                if lost > 0:
                    self.dropped += lost
                    self.overflows += 1
                    self.add_item_tag(0, tag.offset, pmt.intern(DROPPED_TAG),
                                      pmt.to_pmt({"dropped_samples": int(lost), "overflows": 1}))
            self._last = (tag.offset, seconds)
        return n


def dropped_samples_of(value: Any) -> tuple[int, int]:
    """(dropped samples, overflows) of a ``scos_dropped`` tag value: the dict the sources tag, or
    a bare count (one overflow)."""
    value = pmt.to_python(value)
    if isinstance(value, dict):
        return int(value.get("dropped_samples", 0)), int(value.get("overflows", 1))
    return int(value), 1


def rx_time_seconds(value: Any) -> float | None:
    """Epoch seconds of an ``rx_time`` tag value (tuple of uint64 seconds and double fraction)."""
    try:
        if pmt.is_tuple(value):
            return float(pmt.to_uint64(pmt.tuple_ref(value, 0))) + float(pmt.to_double(pmt.tuple_ref(value, 1)))
        return float(pmt.to_python(value))
    except Exception:
        return None


# ---------------------------------------------------------------------------------------------
# The radio the flowgraphs use


def osmosdr_args(args: str, samp_rate: float) -> str:
    """The device string gr-osmosdr gets; a ``file=`` device replays at full speed with its rate."""
    args = str(args).strip()
    if args.startswith("file="):
        parsed = parse_args(args)
        extra = []
        if "rate" not in parsed:
            extra.append(f"rate={float(samp_rate):.0f}")
        if "throttle" not in parsed:
            extra.append("throttle=false")
        if "repeat" not in parsed:
            extra.append("repeat=false")
        args = ",".join([args, *extra])
    return args


class radio_source(gr.hier_block2):
    """The radio of a detection flowgraph: the simulated radio or a gr-osmosdr device.

    ``args``: ``sim[,fail_every=N][,seed=S][,noise_dbm=X][,tones=F:P/F:P...][,band=F:P/...]
    [,throttle=1]`` (see the module docstring) or a gr-osmosdr device string. Opening, tuning or setting the rate failing raises
    :class:`RadioError` with the device string and the reason.
    """

    def __init__(self, args: str = "sim", samp_rate: float = 15.36e6, center_freq: float = 751e6, gain: float = 0.0):
        gr.hier_block2.__init__(self, "scos_radio_source", gr.io_signature(0, 0, 0),
                                gr.io_signature(1, 1, gr.sizeof_gr_complex))
        self.args = str(args or "sim").strip()
        self.samp_rate, self.center_freq, self.gain = float(samp_rate), float(center_freq), float(gain)
        self.monitor: rx_time_monitor | None = None
        if is_sim(self.args):
            options = sim_options(self.args)
            _count_construction(self.args, options.pop("fail_every", None))
            options.pop("retune_garbage", None)  # this radio is never retuned while running
            if "band" in options:  # absolute tones replace the default tone, like explicit tones
                options.setdefault("tones", [])
            self.driver = "sim"
            low, high = SIM_FREQUENCY_RANGE
            if not low <= self.center_freq <= high:
                raise RadioError(f"sim radio: centre frequency {self.center_freq:g} Hz outside {low:g}..{high:g} Hz")
            self.source = sim_source(self.samp_rate, self.center_freq, **options)
            self.connect(self.source, self)
            return
        self.driver = "osmosdr"
        self.source = _open_osmosdr(self.args, self.samp_rate, self.center_freq, self.gain)
        self.monitor = rx_time_monitor(self.samp_rate)
        self.monitor.set_min_output_buffer(SOURCE_BUFFER_ITEMS)
        self.connect(self.source, self.monitor, self)

    def dropped_samples(self) -> int:
        return self.monitor.dropped if self.monitor is not None else 0

    def overflows(self) -> int:
        return self.monitor.overflows if self.monitor is not None else 0


def _open_osmosdr(args: str, samp_rate: float, center_freq: float, gain: float) -> Any:
    try:
        import osmosdr
    except ImportError as exc:  # pragma: no cover - gr-osmosdr is in the Makefile's packages
        raise RadioError(f"radio {args!r}: gr-osmosdr is not installed ({exc})") from exc
    device = osmosdr_args(args, samp_rate)
    if args.startswith("file="):
        path = parse_args(args)["file"]
        if not os.path.isfile(path):
            raise RadioError(f"radio {args!r}: IQ file {path!r} does not exist")
    try:
        source = osmosdr.source(device)
    except Exception as exc:
        raise RadioError(f"radio {args!r} could not be opened: {exc}") from exc
    try:
        rate = source.set_sample_rate(samp_rate)
        if rate and abs(float(rate) - samp_rate) > 1e-6 * samp_rate:
            raise RadioError(f"radio {args!r}: sample rate {samp_rate:g} S/s not supported (got {float(rate):g})")
        source.set_center_freq(center_freq, 0)
        source.set_gain_mode(False, 0)
        source.set_gain(gain, 0)
    except RadioError:
        raise
    except Exception as exc:
        raise RadioError(f"radio {args!r} could not be tuned to {center_freq:g} Hz: {exc}") from exc
    return source


def radio_info(args: str) -> dict[str, Any]:
    """``{"driver", "args", "min_frequency", "max_frequency"}`` of a radio, opened only briefly."""
    args = str(args or "sim").strip()
    if is_sim(args):
        sim_options(args)  # reject bad options early
        low, high = SIM_FREQUENCY_RANGE
        return {"driver": "sim", "args": args, "min_frequency": low, "max_frequency": high}
    try:
        import osmosdr

        source = osmosdr.source(osmosdr_args(args, 1e6))
        ranges = source.get_freq_range(0)
        low, high = float(ranges.start()), float(ranges.stop())
        del source
    except Exception as exc:
        raise RadioError(f"radio {args!r} could not be opened: {exc}") from exc
    return {"driver": "osmosdr", "args": args, "min_frequency": low, "max_frequency": high}
