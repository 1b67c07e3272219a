"""gnuradio.scos: the GNU Radio blocks of scos-gr (out-of-tree module of Python blocks).

- :class:`radio_source`: the radio of every flowgraph (a gr-osmosdr device, or the simulated
  radio :class:`sim_source`, module ``sim``), followed by :class:`radio_monitor` (module
  ``monitor``): what the radio knows as a ``scos_radio`` tag, samples at full scale, ``rx_time``
  gaps -> lost samples.
- :class:`power_stats`: min/max/mean/median/sample detectors over FFT frames, in dBm (the
  numerics in ``detectors``, whose two per-value loops are C, ``blocks/lib``, loaded with ctypes).
- :class:`sigmf_sink`: writes the detector spectra as a SigMF recording via ``scos_gr.sigmf_out``.
- :class:`iq_sink`: raw IQ to disk through a stock file sink, then a SigMF recording.
- :class:`radio_health`: checks the radio's sample rate and level (the monitor_radio action).
- :class:`survey_source` / :class:`survey_sink`: a stepped-frequency survey.
- :class:`channel_source`: the radio stepped over channels (module ``channels``); :class:`apd`,
  :class:`pvt`, :class:`pfp`, :class:`sea_sink`: NTIA's SEA data products and their recording
  (module ``sea``; numerics in ``sea_math``, the APD's loop C in ``blocks/lib``).
- :class:`calibration_source` and :class:`y_factor`: the Y-factor calibration with the noise
  diode (the sim radio's receiver and diode: ``receiver``), stored as the sensor's calibration.
- :class:`TaskBlock`: what the runner asks of these blocks (``task_block``).

The blocks need the ``scos_gr`` Python package (errors, radio strings, SigMF writing).
"""
from scos_gr.errors import RadioError

from .detectors import DETECTORS
from .channels import calibration_source, channel_source
from .iq_sink import iq_sink
from .monitor import OVERLOAD_TAG, RADIO_TAG, radio_monitor
from .power_stats import CAPTURE_TAG, power_stats
from .radio import radio_info, radio_source
from .radio_health import radio_health
from .sea import apd, pfp, pvt, sea_sink
from .sigmf_sink import sigmf_sink
from .sim import reset_failure_counters, retunable_sim, sim_source
from .survey import step_frequencies, survey_sink, survey_source, survey_stepper
from .task_block import RecordingBlock, TaskBlock, collect_task_blocks, rehearsal, rehearsing
from .y_factor import y_factor

__all__ = ["RadioError", "radio_info", "radio_source", "radio_monitor", "reset_failure_counters",
           "sim_source", "power_stats", "sigmf_sink", "iq_sink", "radio_health", "survey_source", "survey_sink",
           "survey_stepper", "retunable_sim", "step_frequencies", "DETECTORS", "CAPTURE_TAG",
           "RADIO_TAG", "OVERLOAD_TAG", "TaskBlock", "RecordingBlock", "collect_task_blocks", "channel_source",
           "calibration_source", "apd", "pvt", "pfp", "sea_sink", "y_factor", "rehearsal", "rehearsing"]
