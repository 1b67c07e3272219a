"""The radio of every flowgraph: the simulated radio or any gr-osmosdr device, behind one name.

``radio_source(args, ...)`` is what every detection flowgraph uses: ``args`` starting with
``sim`` builds the simulated radio (:mod:`.sim`; options in :mod:`scos_gr.radio_args`),
anything else is a gr-osmosdr device string (``rtl=0``, ``hackrf=0``, ``uhd``,
``file=/path.cf32,rate=...``). Either is followed by a :class:`~.monitor.radio_monitor`, which
tags the first sample ``scos_radio`` with what the radio knows (frequency, sample rate, gain
setting, driver, device string, tuning range, full scale: the blocks downstream read these
facts from the stream), counts samples at full scale (``scos_overload``) and turns the device's
``rx_time`` gaps into ``scos_dropped`` tags.

One ``SCOS_RADIO`` serves every action: ``band=F_HZ:DBM/...`` places tones at absolute
frequencies (the survey's retunable sim moves them as it retunes; a fixed-frequency flowgraph
sees those within its span at ``F - centre``), and ``retune_garbage=K`` only concerns radios
that retune while running (the survey), so a fixed-frequency radio accepts and ignores it.
"""
from __future__ import annotations

import os
import time
from typing import Any

from gnuradio import gr

from scos_gr.errors import RadioError
from scos_gr.radio_args import SIM_FREQUENCY_RANGE, is_sim, parse_args, sim_options

from .monitor import OSMOSDR_FULL_SCALE, radio_facts, radio_monitor
from .sim import SOURCE_BUFFER_ITEMS, build_sim_source


class radio_source(gr.hier_block2):
    """The radio of a detection flowgraph: the simulated radio or a gr-osmosdr device.

    ``args``: ``sim[,fail_every=N][,seed=S][,noise_dbm=X][,tones=F:P/F:P...][,band=F:P/...]
    [,throttle=1][,full_scale=V]`` or a gr-osmosdr device string. Opening, tuning or setting the
    rate failing raises :class:`RadioError` with the device string and the reason. ``facts`` is
    the ``scos_radio`` tag's value.

    ``buffer_items``: the output buffer of the radio's blocks (the sim's source, the monitor), in
    samples. Each buffer's pages are faulted in fresh by every run, so a short capture wants the
    default (65536); a long one runs faster with larger buffers, which mean fewer hand-offs
    between the threads (acquire_iq_751MHz: 262144, about a quarter faster).
    """

    def __init__(self, args: str = "sim", samp_rate: float = 15.36e6, center_freq: float = 751e6, gain: float = 0.0,
                 buffer_items: int = SOURCE_BUFFER_ITEMS):
        gr.hier_block2.__init__(self, "scos_radio_source", gr.io_signature(0, 0, 0),
                                gr.io_signature(1, 1, gr.sizeof_gr_complex))
        self.args = str(args or "sim").strip()
        self.samp_rate, self.center_freq, self.gain = float(samp_rate), float(center_freq), float(gain)
        if is_sim(self.args):
            self.driver = "sim"
            self.source = build_sim_source(self.args, self.samp_rate, self.center_freq, buffer_items)
            full_scale = self.source.full_scale
            low, high = SIM_FREQUENCY_RANGE
        else:
            self.driver = "osmosdr"
            self.source = open_osmosdr(self.args, self.samp_rate, self.center_freq, self.gain)
            full_scale = OSMOSDR_FULL_SCALE
            low, high = tuning_range(self.source)
        self.facts = radio_facts(driver=self.driver, args=self.args, frequency=self.center_freq,
                                 sample_rate=self.samp_rate, gain=self.gain, frequency_low=low, frequency_high=high,
                                 full_scale=full_scale)
        self.monitor = radio_monitor(self.samp_rate, full_scale, self.facts)
        self.monitor.set_min_output_buffer(int(buffer_items))
        self.connect(self.source, self.monitor, self)


def tuning_range(source: Any) -> tuple[float | None, float | None]:
    """(lowest, highest) frequency an opened ``osmosdr.source`` tunes to; (None, None) if it
    cannot say (a file device)."""
    try:
        ranges = source.get_freq_range(0)
        low, high = float(ranges.start()), float(ranges.stop())
    except Exception:
        return None, None
    return (low, high) if 0 < low <= high else (None, None)


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


def open_osmosdr(args: str, samp_rate: float, center_freq: float, gain: float) -> Any:
    """An ``osmosdr.source`` opened, set to ``samp_rate`` and tuned; RadioError with the reason."""
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
        time.sleep(sim_options(args).get("open_delay", 0.0))  # bad options are refused here already
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
