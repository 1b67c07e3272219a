"""The simulated receiver (gain, noise figure), its noise diode, pulsed tones, and the switchable
sim the channel and calibration sources step: what reaches the samples is the physics the
tests of the products and of the calibration check against."""
from __future__ import annotations

import math

import numpy as np
import pmt
import pytest
from gnuradio import blocks, gr

from gnuradio import scos
from gnuradio.scos.channels import calibration_source, channel_source
from gnuradio.scos.receiver import (
    ANTENNA, BOLTZMANN_J_PER_K, NOISE_DIODE_OFF, NOISE_DIODE_ON, T0_K, FrontEnd,
)
from gnuradio.scos.sim import build_switchable_sim
from scos_gr.errors import RadioError
from scos_gr.radio_args import sim_options


def _capture(source, n: int, skip: int = 0) -> np.ndarray:
    tb = gr.top_block()
    head = blocks.head(gr.sizeof_gr_complex, n + skip)
    sink = blocks.vector_sink_c()
    tb.connect(source, head, sink)
    tb.run()
    return np.array(sink.data(), dtype=np.complex64)[skip:]


def _dbm(x: np.ndarray) -> float:
    return 10 * math.log10(np.mean(np.abs(x.astype(np.complex128)) ** 2) / 50) + 30


def _kT0B_dbm(bandwidth: float) -> float:
    return 10 * math.log10(BOLTZMANN_J_PER_K * T0_K * bandwidth) + 30


def test_the_front_end_paths_are_the_y_factor_textbook():
    fe = FrontEnd(gain_db=10.0, noise_figure_db=5.0, enr_db=15.0)
    tones, noise = fe.signal_at_adc([(1e6, -40.0)], -60.0, 14e6, ANTENNA)
    assert tones == [(1e6, -30.0)]
    receiver = 10 ** (_kT0B_dbm(14e6) / 10) * (10 ** 0.5 - 1)  # k T0 B (F - 1), mW
    assert noise == pytest.approx(10 * math.log10((1e-6 + receiver) * 10), abs=1e-9)
    assert fe.signal_at_adc([(1e6, -40.0)], -60.0, 14e6, NOISE_DIODE_OFF) == \
        ([], pytest.approx(_kT0B_dbm(14e6) + 5.0 + 10.0))
    _, on = fe.signal_at_adc([], None, 14e6, NOISE_DIODE_ON)
    assert on == pytest.approx(_kT0B_dbm(14e6) + 10 * math.log10(10 ** 0.5 + 10 ** 1.5) + 10.0)
    assert FrontEnd().signal_at_adc([(0.0, -40.0)], None, 1e6) == ([(0.0, -40.0)], None)  # noiseless, unity gain
    assert fe.temperature_c == pytest.approx(16.85)
    with pytest.raises(ValueError, match="receiver path"):
        fe.signal_at_adc([], None, 1e6, "cable")


def test_the_receiver_gain_and_noise_figure_reach_the_samples():
    plain = _capture(scos.sim_source(1e6, 100e6, tones=[(125_000.0, -40.0)], noise_dbm=None), 100_000)
    gained = _capture(scos.radio_source("sim,tones=125e3:-40,noise_dbm=none,gain_db=12", 1e6, 100e6), 100_000)
    assert _dbm(plain) == pytest.approx(-40.0, abs=1e-3)
    assert _dbm(gained) == pytest.approx(-28.0, abs=1e-3)
    noisy = _capture(scos.radio_source("sim,tones=none,noise_dbm=none,nf_db=6,gain_db=20", 14e6, 100e6), 1 << 20)
    expected = 10 * math.log10(10 ** (_kT0B_dbm(14e6) / 10) * (10 ** 0.6 - 1)) + 20
    assert _dbm(noisy) == pytest.approx(expected, abs=0.03)


def test_a_pulsed_tone_sounds_for_its_duty_cycle_of_every_period():
    x = _capture(scos.radio_source("sim,tones=0:-20,noise_dbm=none,pulse=1e-3:0.25", 1e6, 100e6), 10_000)
    on = np.abs(x) > 1e-6
    assert np.array_equal(on, (np.arange(10_000) % 1000) < 250)
    assert _dbm(x) == pytest.approx(-20.0 + 10 * math.log10(0.25), abs=1e-3)


@pytest.mark.parametrize("args, message", [
    ("sim,pulse=1e-3", "PERIOD_S:DUTY"),
    ("sim,pulse=1e-3:1.5", "duty cycle in \\(0, 1\\)"),
    ("sim,nf_db=-1", "nf_db must be 0..60 dB"),
    ("sim,gain_db=abc", "bad option"),
    ("sim,enr_db=200", "enr_db must be 0..60 dB"),
])
def test_bad_receiver_options_are_refused_naming_them(args, message):
    with pytest.raises(RadioError, match=message):
        sim_options(args)


def test_a_pulse_period_that_is_not_whole_samples_is_refused():
    with pytest.raises(RadioError, match="whole number of samples"):
        scos.radio_source("sim,pulse=1.5e-6:0.5", 1e6, 100e6)


def test_the_switchable_sim_retunes_and_switches_to_the_diode_at_file_speed():
    sim = build_switchable_sim("sim,band=751e6:-30,tones=none,noise_dbm=none,gain_db=3,nf_db=4,enr_db=20", 14e6, 751e6)
    at_tone = _capture(sim, 1 << 20)
    assert _dbm(at_tone) == pytest.approx(-27.0, abs=1e-3)  # the band tone, through the receiver's 3 dB
    sim.prepare([(763e6, NOISE_DIODE_OFF), (763e6, NOISE_DIODE_ON)])
    for path, excess in ((NOISE_DIODE_OFF, 0.0), (NOISE_DIODE_ON, 100.0)):
        sim.retune(763e6, path)
        x = _capture(sim, 1 << 20)
        assert _dbm(x) == pytest.approx(_kT0B_dbm(14e6) + 10 * math.log10(10 ** 0.4 + excess) + 3, abs=0.03)
    with pytest.raises(RadioError, match="cannot tune"):
        sim.retune(7e9)


def _tags(sink) -> list[tuple[int, str, object]]:
    return [(t.offset, pmt.symbol_to_string(t.key), pmt.to_python(t.value)) for t in sink.tags()]


def test_the_channel_source_passes_each_channel_tagged_with_its_plan():
    source = channel_source("sim,band=739e6:-30/763e6:-50,tones=none,noise_dbm=-80", 14e6, [739e6, 751e6, 763e6],
                            70_000, 131_072, 0.0, 175)
    tb = gr.top_block()
    sink = blocks.vector_sink_c()
    tb.connect(source, sink)
    tb.run()
    x = np.array(sink.data())
    assert len(x) == 3 * 70_000
    levels = [_dbm(x[k * 70_000:(k + 1) * 70_000]) for k in range(3)]
    assert levels == [pytest.approx(-30.0, abs=0.01), pytest.approx(-80.0, abs=0.1), pytest.approx(-50.0, abs=0.01)]
    steps = [(o, v) for o, k, v in _tags(sink) if k == "scos_step"]
    assert [(o, v["frequency"], v["index"], v["steps"], v["samples"]) for o, v in steps] == \
        [(k * 70_000, f, k, 3, 70_000) for k, f in enumerate([739e6, 751e6, 763e6])]
    radio = [v for o, k, v in _tags(sink) if k == "scos_radio"]
    assert len(radio) == 1 and radio[0]["sample_rate"] == 14e6 and radio[0]["driver"] == "sim"


def test_the_calibration_source_turns_the_diode_off_then_on_at_each_frequency():
    source = calibration_source("sim,gain_db=10,nf_db=5,enr_db=15", 14e6, [739e6, 763e6], 1 << 18, 131_072)
    tb = gr.top_block()
    sink = blocks.vector_sink_c()
    tb.connect(source, sink)
    tb.run()
    x = np.array(sink.data())
    n = 1 << 18
    steps = [v for _, k, v in _tags(sink) if k == "scos_step"]
    assert [(v["frequency"], v["noise_diode"]) for v in steps] == \
        [(739e6, False), (739e6, True), (763e6, False), (763e6, True)]
    assert {v["enr_db"] for v in steps} == {15.0} and {round(v["temperature_c"], 2) for v in steps} == {16.85}
    off = _kT0B_dbm(14e6) + 5 + 10
    on = _kT0B_dbm(14e6) + 10 * math.log10(10 ** 0.5 + 10 ** 1.5) + 10
    for k, expected in enumerate([off, on, off, on]):
        assert _dbm(x[k * n:(k + 1) * n]) == pytest.approx(expected, abs=0.05)


def test_the_calibration_source_refuses_a_radio_without_a_noise_diode():
    with pytest.raises(RadioError, match="noise diode"):
        calibration_source("rtl=0", 14e6, [751e6])


def test_the_blocks_keep_one_python_thread_state_per_run_and_give_it_back():
    """KeepThreadState takes a PyGILState reference in start() and releases it in stop(), both on
    the block's own thread; a flowgraph built twice in one process runs both times."""
    import threading

    from gnuradio.scos import thread_state

    seen = []
    original_start, original_stop = thread_state.KeepThreadState.start, thread_state.KeepThreadState.stop

    def start(self):
        result = original_start(self)
        seen.append(("start", threading.get_ident(), self._thread_state is not None))
        return result

    def stop(self):
        result = original_stop(self)
        seen.append(("stop", threading.get_ident(), self._thread_state is None))
        return result

    thread_state.KeepThreadState.start, thread_state.KeepThreadState.stop = start, stop
    try:
        for _ in range(2):
            source = channel_source("sim", 1e6, [100e6], 10_000, 1000, 0.0, 1)
            tb = gr.top_block()
            sink = blocks.vector_sink_c()
            tb.connect(source, sink)
            tb.run()
            assert len(sink.data()) == 10_000
            assert source.stepper._thread_state is None
    finally:
        thread_state.KeepThreadState.start, thread_state.KeepThreadState.stop = original_start, original_stop
    assert [(event, ok) for event, _, ok in seen] == [("start", True), ("stop", True)] * 2
    assert seen[0][1] == seen[1][1] and seen[2][1] == seen[3][1] != threading.get_ident()  # the block's thread
