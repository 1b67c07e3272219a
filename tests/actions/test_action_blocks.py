"""The pieces the new actions are made of, one at a time: the sim radio's absolute-frequency band
(one SCOS_RADIO for every action), radio_health's rate and level verdicts, iq_sink's lost-sample
count, the catalogue's `records: false`, and GRC opening the new flowgraphs."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pmt
import pytest
from gnuradio import blocks, gr

from gnuradio import scos
from gnuradio.scos.monitor import radio_facts
from scos_gr.errors import BlockError
from scos_gr.flowgraphs.catalogue import DEFAULT_CATALOGUE, Action, parse_catalogue
from scos_gr.flowgraphs.runner import ActionError, run_action
from tests.flowgraphs.grc_factory import write_stock_flowgraph

FLOWGRAPHS = DEFAULT_CATALOGUE.parent
NEW_FLOWGRAPHS = ("acquire_iq_751MHz.grc", "monitor_radio.grc", "survey_700MHz_band.grc")


def _capture(source, n: int) -> np.ndarray:
    tb = gr.top_block()
    sink = blocks.vector_sink_c()
    tb.connect(source, blocks.head(gr.sizeof_gr_complex, n), sink)
    tb.run()
    return np.array(sink.data(), dtype=np.complex64)


# --- the sim radio's band: absolute tones, the same radio string for every action -------------------

def test_fixed_frequency_sim_sees_the_band_tones_inside_its_span_at_their_offset():
    fs, n = 1.024e6, 1 << 16  # both tones fall on a bin centre
    radio = "sim,band=100.256e6:-30/100.6e6:-20/99.872e6:-35,noise_dbm=none,retune_garbage=500"
    x = _capture(scos.radio_source(radio, fs, 100e6), n)
    spectrum = np.abs(np.fft.fftshift(np.fft.fft(x))) ** 2 / n ** 2 / 50
    bins = np.flatnonzero(spectrum > 1e-12)
    offsets = (bins - n // 2) * fs / n
    np.testing.assert_allclose(sorted(offsets), [-128e3, 256e3], atol=fs / n)  # 100.6 MHz is outside
    powers = 10 * np.log10(spectrum[bins]) + 30
    np.testing.assert_allclose(powers[np.argsort(offsets)], [-35.0, -30.0], atol=0.01)
    assert not np.any(np.abs(x[:500]) > 0.1)  # retune_garbage: no retune, no garbage


def test_band_option_is_a_valid_radio_for_radio_info_and_bad_bands_are_refused():
    assert scos.radio_info("sim,band=700.3e6:-50/751e6:-40,retune_garbage=30000")["driver"] == "sim"
    with pytest.raises(scos.RadioError, match="not OFFSET_HZ:DBM"):
        scos.radio_source("sim,band=751e6", 1e6, 751e6)


# --- radio_health ----------------------------------------------------------------------------------

def _health(source_rate: float, expected_rate: float, n: int = 200_000, tones="0:-30"):
    tb = gr.top_block()
    src = scos.sim_source(source_rate, 100e6, tones=[(0.0, -30.0)] if tones else [], noise_dbm=None if tones else -150.0,
                          throttle=True)
    health = scos.radio_health(expected_rate, n, -100.0, 0.0, 0.9)
    tb.connect(src, blocks.head(gr.sizeof_gr_complex, n), health)
    tb.run()
    return health


def test_radio_health_passes_a_radio_at_its_rate_and_level():
    health = _health(1e6, 1e6)
    assert health.error is None
    assert health.result["level_dbm"] == pytest.approx(-30.0, abs=0.01)
    assert health.result["rate_sps"] == pytest.approx(1e6, rel=0.08)


def test_radio_health_fails_a_radio_that_delivers_at_half_the_rate():
    health = _health(0.5e6, 1e6)
    assert health.error and "sample rate 0.5" in health.error and "below 0.9 x 1 MS/s" in health.error
    assert health.radio_check is True


def test_radio_health_fails_a_dead_front_end_on_level():
    health = _health(1e6, 1e6, n=100_000, tones=None)
    assert health.error and "input level -150.0 dBm outside [-100, 0] dBm" in health.error


# --- iq_sink: samples the radio lost are in the recording --------------------------------------------

def _rx_time(seconds: float):
    whole = int(seconds)
    return pmt.make_tuple(pmt.from_uint64(whole), pmt.from_double(seconds - whole))


def test_iq_sink_records_lost_samples_and_the_radio_start_time(tmp_path):
    fs, n = 1e6, 20_000
    x = (np.random.default_rng(4).standard_normal(n) * 0.01).astype(np.complex64)
    tags = [gr.tag_utils.python_to_tag((0, pmt.intern("rx_time"), _rx_time(1000.5))),
            gr.tag_utils.python_to_tag((8000, pmt.intern("rx_time"), _rx_time(1000.5 + (8000 + 3000) / fs)))]
    x[[100, 15_000]] = 0.8 - 0.2j  # two samples at the radio's 0.5 V full scale
    tb = gr.top_block()
    src = blocks.vector_source_c(x.tolist(), False, 1, tags)
    radio = radio_facts(driver="osmosdr", args="rtl=0", frequency=100e6, sample_rate=fs, gain=25.0,
                        frequency_low=24e6, frequency_high=1.766e9, full_scale=0.5)
    monitor = scos.radio_monitor(fs, 0.5, radio)
    sink = scos.iq_sink(n, str(tmp_path), "lossy", json.dumps({"task_id": 9}))
    tb.connect(src, monitor, sink)
    tb.run()
    assert [p.name for p in tmp_path.iterdir()] == [Path(sink.temp_path).name]  # nothing has the name yet
    sink.finalize()
    [rec] = sink.recordings()
    np.testing.assert_array_equal(np.fromfile(rec.data_path, dtype="<c8"), x)
    meta = json.loads(Path(rec.meta_path).read_text())
    assert meta["global"]["scos-gr:dropped_samples"] == 3000
    [capture] = meta["captures"]
    assert capture["core:datetime"].startswith("1970-01-01T00:16:40.5")
    assert (capture["core:frequency"], meta["global"]["core:sample_rate"]) == (100e6, fs)  # from the radio's tag
    assert capture["ntia-sensor:sigan_settings"] == {"gain": 25.0}
    assert capture["ntia-sensor:overload"] is True and capture["scos-gr:overload_samples"] == 2
    assert capture["ntia-sensor:duration"] == round((n + 3000) / fs * 1000)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["lossy.sigmf-data", "lossy.sigmf-meta"]


def test_iq_sink_with_fewer_samples_than_promised_refuses_to_finalize(tmp_path):
    tb = gr.top_block()
    sink = scos.iq_sink(5000, str(tmp_path), "short", "{}")
    tb.connect(blocks.vector_source_c([0j] * 4000, False), sink)
    tb.run()
    with pytest.raises(BlockError, match="4000 samples arrived, 5000 expected"):
        sink.finalize()


def test_iq_sink_refuses_a_stream_that_does_not_say_what_the_radio_knows(tmp_path):
    tb = gr.top_block()
    sink = scos.iq_sink(4000, str(tmp_path), "untagged", "{}")
    tb.connect(blocks.vector_source_c([0j] * 4000, False), sink)
    tb.run()
    with pytest.raises(BlockError, match="no scos_radio tag"):
        sink.finalize()


# --- records: false ---------------------------------------------------------------------------------

def test_records_defaults_to_true_for_flowgraphs_and_false_is_kept():
    actions = parse_catalogue({"actions": {
        "a": {"flowgraph": "acquire700c.grc"},
        "check": {"flowgraph": "monitor_radio.grc", "records": False},
        "log": {"kind": "log"},
    }}, base_dir=FLOWGRAPHS)
    assert (actions["a"].records, actions["check"].records, actions["log"].records) == (True, False, False)


def test_a_records_false_action_succeeds_without_a_recording_where_a_recording_one_fails(tmp_path):
    write_stock_flowgraph(tmp_path / "check.grc", "check_fg")
    kwargs = dict(radio="sim", output_dir=tmp_path / "out", basename="c_1", cache_dir=tmp_path / "cache")
    check = Action(name="check", summary="", description="", flowgraph="check.grc", base_dir=tmp_path, records=False)
    result = run_action(check, **kwargs)
    assert result.recordings == [] and result.log.startswith("check: passed in")
    recorder = Action(name="rec", summary="", description="", flowgraph="check.grc", base_dir=tmp_path)
    with pytest.raises(ActionError, match="finished without writing the recording c_1"):
        run_action(recorder, **kwargs)


# --- GRC opens the new flowgraphs -------------------------------------------------------------------

@pytest.fixture(scope="module")
def grc_platform():
    import os

    from gnuradio.grc.core.platform import Platform

    installed = Path(sys.prefix) / "share" / "gnuradio" / "grc" / "blocks"
    old = os.environ.get("GRC_BLOCKS_PATH")
    os.environ["GRC_BLOCKS_PATH"] = f"/usr/share/gnuradio/grc/blocks:{installed}"
    try:
        platform = Platform(version=gr.version(), prefs=None,
                            version_parts=(gr.major_version(), gr.api_version(), gr.minor_version()))
        platform.build_library()
    finally:
        if old is None:
            os.environ.pop("GRC_BLOCKS_PATH")
        else:
            os.environ["GRC_BLOCKS_PATH"] = old
    return platform


@pytest.mark.parametrize("name", NEW_FLOWGRAPHS)
def test_gnuradio_companion_loads_and_validates_the_new_flowgraphs(grc_platform, name):
    flowgraph = grc_platform.make_flow_graph(str(FLOWGRAPHS / name))
    flowgraph.rewrite()
    flowgraph.validate()
    assert flowgraph.is_valid(), flowgraph.get_error_messages()
    keys = {b.key for b in flowgraph.blocks}
    assert keys & {"scos_radio_source", "scos_survey_source"}
    assert {b.name for b in flowgraph.blocks if b.key == "parameter"} >= {"radio_args", "output_dir", "basename"}


def test_sim_source_band_parameter_adds_absolute_tones_to_its_offset_tones():
    fs, n = 1.024e6, 1 << 16
    x = _capture(scos.sim_source(fs, 100e6, tones=[(64e3, -25.0)], noise_dbm=None,
                                 band=[(100.256e6, -30.0), (99e6, -10.0)]), n)
    spectrum = np.abs(np.fft.fftshift(np.fft.fft(x))) ** 2 / n ** 2 / 50
    bins = np.flatnonzero(spectrum > 1e-12)
    assert list((bins - n // 2) * fs / n) == [64e3, 256e3]  # 99 MHz is outside the span
    np.testing.assert_allclose(10 * np.log10(spectrum[bins]) + 30, [-25.0, -30.0], atol=0.01)
