"""The simulated radio's receiver: its own gain and noise figure, and the noise diode in front of it.

No GNU Radio import: the physics the simulated radio plays and the tests check, in one place.

What the sim's options mean (``scos_gr.radio_args`` parses them):

- ``gain_db=G``: the receiver's gain between its input (the antenna terminal, where the noise
  diode is coupled in too) and the samples. Every signal at the input (the tones, the external
  noise ``noise_dbm``) reaches the samples G dB stronger. Default 0 dB, as before these options.
- ``nf_db=F``: the receiver's noise figure. The receiver adds the noise of a load at T0 = 290 K
  times (F - 1) over the sample rate (its bandwidth), referred to its input: k T0 B (F - 1).
  Without it the receiver adds no noise of its own (F = 1, 0 dB).
- ``enr_db=E``: the excess noise ratio of the noise diode (default 15 dB, a common diode).

The input is switched between three paths (``set_path`` on the sim radios that switch while
running, the calibration source's stepper turns them):

- ``antenna``: what every measurement sees: tones and external noise, then the receiver;
- ``noise_diode_off``: the input terminated by the (cold) diode, a matched load at T0: the
  samples hold k T0 B F G of noise and nothing else;
- ``noise_diode_on``: the diode's excess noise added: k T0 B (F + ENR) G.

So the Y-factor method recovers the receiver exactly: Y = P_on / P_off = (F + ENR) / F gives
F = ENR / (Y - 1), and G = P_off / (k T0 B F).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Sequence

#: Boltzmann's constant (J/K, exact in the SI).
BOLTZMANN_J_PER_K = 1.380649e-23
#: The reference temperature of noise figures and ENRs (K), also the sim's ambient temperature.
T0_K = 290.0
#: The simulated noise diode's excess noise ratio when the radio string gives none (dB).
DEFAULT_ENR_DB = 15.0

ANTENNA = "antenna"
NOISE_DIODE_OFF = "noise_diode_off"
NOISE_DIODE_ON = "noise_diode_on"
#: The input paths of the simulated receiver.
PATHS = (ANTENNA, NOISE_DIODE_OFF, NOISE_DIODE_ON)


def watts_to_dbm(watts: float) -> float:
    return 10.0 * math.log10(watts) + 30.0


def dbm_to_watts(dbm: float) -> float:
    return 10.0 ** ((float(dbm) - 30.0) / 10.0)


def thermal_noise_watts(bandwidth_hz: float, temperature_k: float = T0_K) -> float:
    """k T B: the noise power of a matched load at ``temperature_k`` over ``bandwidth_hz``."""
    return BOLTZMANN_J_PER_K * float(temperature_k) * float(bandwidth_hz)


@dataclass(frozen=True)
class FrontEnd:
    """The simulated receiver (see the module docstring). ``noise_figure_db`` None: noiseless."""

    gain_db: float = 0.0
    noise_figure_db: float | None = None
    enr_db: float = DEFAULT_ENR_DB

    @property
    def temperature_c(self) -> float:
        """The diode's and the load's temperature, degrees C (the sim's ambient is T0)."""
        return T0_K - 273.15

    def signal_at_adc(self, tones: Sequence[tuple[float, float]], noise_dbm: float | None, sample_rate: float,
                      path: str = ANTENNA) -> tuple[list[tuple[float, float]], float | None]:
        """What reaches the samples on ``path``: the tones (offset Hz, dBm) and the total noise
        power (dBm, None: none) over the sample rate."""
        if path not in PATHS:
            raise ValueError(f"receiver path {path!r}: expected one of {', '.join(PATHS)}")
        gain = 10.0 ** (self.gain_db / 10.0)
        factor = 1.0 if self.noise_figure_db is None else 10.0 ** (self.noise_figure_db / 10.0)
        kTB = thermal_noise_watts(sample_rate)
        if path == ANTENNA:
            out_tones = [(float(f), float(p) + self.gain_db) for f, p in tones]
            noise = 0.0 if noise_dbm is None else dbm_to_watts(noise_dbm)
            noise += kTB * (factor - 1.0)
            return out_tones, (watts_to_dbm(noise * gain) if noise > 0 else None)
        excess = 10.0 ** (self.enr_db / 10.0) if path == NOISE_DIODE_ON else 0.0
        return [], watts_to_dbm(kTB * (factor + excess) * gain)
