"""What a radio string (``SCOS_RADIO``) says, read without GNU Radio.

``sim[,option=value...]`` is the simulated radio; anything else is a gr-osmosdr device string
(``rtl=0``, ``hackrf=0``, ``uhd``, ``file=/path.cf32,rate=...``). The blocks build radios from
these strings; the web process (which never imports GNU Radio) reads the same facts here: which
driver a string names and what frequency range the simulated radio claims.

Simulated radio options: ``fail_every=N`` (every Nth construction fails, for failure paths),
``seed=S``, ``noise_dbm=X`` (``none`` for no noise), ``tones=OFFSET_HZ:DBM/...`` (offsets from
the tuned frequency), ``band=F_HZ:DBM/...`` (absolute frequencies), ``throttle=1`` (real-time
pacing), ``retune_garbage=K`` (K samples of 0 dBm noise after each retune; radios that retune
while running only), ``full_scale=V`` (the ADC's full scale in volts, per I and Q component,
default :data:`SIM_FULL_SCALE`: samples are clipped there, as an ADC clips, and count as an
overload), ``open_delay=S`` (opening the radio takes S seconds, as some devices' firmware load
does: for testing a slow start).

The receiver behind the antenna terminal (``gnuradio.scos.receiver`` says the physics):
``gain_db=G`` (its gain, dB: every input signal reaches the samples G dB stronger; default 0),
``nf_db=F`` (its noise figure, dB: it adds k T0 B (F - 1) of noise at its input; default none:
noiseless), ``enr_db=E`` (the excess noise ratio of the noise diode the calibration switches on
and off, dB; default 15). ``pulse=PERIOD_S:DUTY`` gates every tone: on for the first DUTY
fraction of each PERIOD_S (a TDD frame, a radar pulse train), off for the rest; the noise stays.
"""
from __future__ import annotations

from typing import Any, Sequence

from scos_gr.errors import RadioError

#: Frequency range the simulated radio claims (Hz).
SIM_FREQUENCY_RANGE = (1.0e6, 6.0e9)

#: The simulated radio's default full scale (volts per I/Q component): the +-1.0 of gr-osmosdr's
#: normalised samples. A tone reaches it at +13 dBm (1 V peak across 50 ohm).
SIM_FULL_SCALE = 1.0


def parse_args(args: str) -> dict[str, str]:
    """``"sim,fail_every=2,seed=3"`` -> ``{"sim": "", "fail_every": "2", "seed": "3"}`` (order kept)."""
    parsed: dict[str, str] = {}
    for part in str(args or "").split(","):
        part = part.strip()
        if not part:
            continue
        key, _, value = part.partition("=")
        parsed[key.strip()] = value.strip()
    return parsed


def is_sim(args: str) -> bool:
    """Whether ``args`` names the simulated radio."""
    return str(args or "").strip().lower().startswith("sim")


def parse_tones(text: str) -> list[tuple[float, float]]:
    """``"1e6:-40/-2e6:-50"`` -> ``[(1e6, -40.0), (-2e6, -50.0)]``; ``"none"`` or empty -> []."""
    tones = []
    if text.strip().lower() in ("", "none"):
        return tones
    for item in text.split("/"):
        offset, sep, power = item.partition(":")
        if not sep:
            raise RadioError(f"sim radio: tone {item!r} is not OFFSET_HZ:DBM")
        tones.append((float(offset), float(power)))
    return tones


#: Every option a ``sim`` radio string may carry (the survey's retunable sim takes the same).
SIM_OPTIONS = ("sim", "fail_every", "seed", "noise_dbm", "tones", "band", "retune_garbage", "throttle",
               "full_scale", "open_delay", "gain_db", "nf_db", "enr_db", "pulse")


def band_tones(band: Sequence[tuple[float, float]], samp_rate: float, center_freq: float) -> list[tuple[float, float]]:
    """The absolute-frequency ``band`` tones a radio tuned to ``center_freq`` sees, as offsets.

    Tones outside the span (|offset| >= samp_rate / 2) are filtered out, as by a real radio's
    anti-alias filter, never aliased back in.
    """
    return [(float(f) - center_freq, float(p)) for f, p in band if abs(float(f) - center_freq) < samp_rate / 2]


def sim_options(args: str) -> dict[str, Any]:
    """The options ``args`` sets: ``sim_source`` keywords plus ``fail_every``, ``band``
    (absolute tones) and ``retune_garbage`` (only used by radios that retune while running)."""
    parsed = parse_args(args)
    options: dict[str, Any] = {}
    try:
        if "fail_every" in parsed:
            options["fail_every"] = int(parsed["fail_every"])
        if "seed" in parsed:
            options["seed"] = int(parsed["seed"])
        if "noise_dbm" in parsed:
            options["noise_dbm"] = None if parsed["noise_dbm"].lower() == "none" else float(parsed["noise_dbm"])
        if "tones" in parsed:
            options["tones"] = parse_tones(parsed["tones"])
        if "band" in parsed:
            options["band"] = parse_tones(parsed["band"])
        if "retune_garbage" in parsed:
            options["retune_garbage"] = int(parsed["retune_garbage"])
        if "open_delay" in parsed:
            options["open_delay"] = float(parsed["open_delay"])
            if not 0 <= options["open_delay"] <= 3600:
                raise ValueError(f"open_delay must be 0..3600 s, not {parsed['open_delay']}")
        if "throttle" in parsed:
            options["throttle"] = parsed["throttle"].lower() in ("1", "true", "yes", "on", "")
        if "full_scale" in parsed:
            options["full_scale"] = float(parsed["full_scale"])
            if not options["full_scale"] > 0:
                raise ValueError(f"full_scale must be > 0 volts, not {parsed['full_scale']}")
        options.update(_receiver_options(parsed))
    except ValueError as exc:
        raise RadioError(f"sim radio: bad option in {args!r}: {exc}") from exc
    unknown = set(parsed) - set(SIM_OPTIONS)
    if unknown:
        raise RadioError(f"sim radio: unknown option(s) {sorted(unknown)} in {args!r}")
    return options


def _receiver_options(parsed: dict[str, str]) -> dict[str, Any]:
    """``gain_db``, ``nf_db``, ``enr_db`` and ``pulse`` (ValueError naming the option)."""
    options: dict[str, Any] = {}
    for key, low, high in (("gain_db", -100.0, 100.0), ("nf_db", 0.0, 60.0), ("enr_db", 0.0, 60.0)):
        if key in parsed:
            value = float(parsed[key])
            if not low <= value <= high:
                raise ValueError(f"{key} must be {low:g}..{high:g} dB, not {parsed[key]}")
            options[key] = value
    if "pulse" in parsed:
        period, sep, duty = parsed["pulse"].partition(":")
        if not sep:
            raise ValueError(f"pulse {parsed['pulse']!r} is not PERIOD_S:DUTY")
        period_s, duty_fraction = float(period), float(duty)
        if not (period_s > 0 and 0 < duty_fraction < 1):
            raise ValueError(f"pulse {parsed['pulse']!r}: the period must be > 0 s and the duty cycle in (0, 1)")
        options["pulse"] = (period_s, duty_fraction)
    return options


def driver_of(args: str) -> str:
    """``sim`` or ``osmosdr``: the driver a radio string names."""
    return "sim" if is_sim(args) else "osmosdr"
