"""gnuradio.scos: the GNU Radio blocks of scos-gr (out-of-tree module of Python blocks).

- :class:`radio_source` / :class:`sim_source`: the radio (gr-osmosdr device or simulated radio).
- :class:`power_stats`: min/max/mean/median/sample detectors over FFT frames, in dBm (its two
  per-value loops are C, ``blocks/lib``, loaded with ctypes).
- :class:`sigmf_sink`: writes the detector spectra as a SigMF recording via ``scos_gr.sigmf_out``.
- :class:`iq_sink`: raw IQ to disk through a stock file sink, then a SigMF recording.
- :class:`radio_health`: checks the radio's sample rate and level (the monitor_radio action).
"""
from .radio import RadioError, radio_info, radio_source, reset_failure_counters, rx_time_monitor, sim_source
from .power_stats import DETECTORS, CAPTURE_TAG, power_stats
from .radio_health import radio_health

try:  # the sink needs scos_gr.sigmf_out; the radio and detector blocks do not
    from .sigmf_sink import sigmf_sink
    from .iq_sink import iq_sink
    from .survey import retunable_sim, step_frequencies, survey_sink, survey_source, survey_stepper
except ImportError:  # pragma: no cover
    pass

__all__ = ["RadioError", "radio_info", "radio_source", "reset_failure_counters", "rx_time_monitor",
           "sim_source", "power_stats", "sigmf_sink", "iq_sink", "radio_health", "survey_source", "survey_sink",
           "survey_stepper", "retunable_sim", "step_frequencies", "DETECTORS", "CAPTURE_TAG"]
