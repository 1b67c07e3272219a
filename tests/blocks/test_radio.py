"""The simulated radio (signal, speed, failure injection, full scale) and the radio monitor (what the
radio knows as a tag, overloads, overflow accounting)."""
from __future__ import annotations

import math
import time

import numpy as np
import pmt
import pytest
from gnuradio import blocks, gr

from gnuradio import scos
from scos_gr.errors import ScosGrError


def _capture(source, n: int) -> np.ndarray:
    tb = gr.top_block()
    head = blocks.head(gr.sizeof_gr_complex, n)
    sink = blocks.vector_sink_c()
    tb.connect(source, head, sink)
    tb.run()
    return np.array(sink.data(), dtype=np.complex64)


def _dbm(x: np.ndarray) -> float:
    return 10 * math.log10(np.mean(np.abs(x.astype(np.complex128)) ** 2) / 50) + 30


def test_default_signal_is_a_minus_40_dbm_tone_over_minus_60_dbm_of_noise():
    x = _capture(scos.sim_source(15.36e6, 751e6), 1 << 20)
    assert _dbm(x) == pytest.approx(10 * math.log10(1e-7 + 1e-9) + 30, abs=0.02)
    spectrum = np.abs(np.fft.fft(x[:15360])) ** 2  # 1 kHz bins
    assert np.argmax(spectrum) == 1000  # +1 MHz


def test_tone_and_noise_powers_separately():
    tone = _capture(scos.sim_source(1e6, 100e6, tones=[(-123_456.0, -20.0)], noise_dbm=None), 200_000)
    assert _dbm(tone) == pytest.approx(-20.0, abs=1e-4)
    assert np.abs(np.abs(tone) - math.sqrt(50 * 1e-5)).max() < 1e-5  # constant envelope
    noise = _capture(scos.sim_source(1e6, 100e6, tones=[], noise_dbm=-75.0, seed=3), 1 << 20)
    assert _dbm(noise) == pytest.approx(-75.0, abs=0.03)
    assert abs(np.mean(noise.real ** 2) - np.mean(noise.imag ** 2)) < 0.05 * np.mean(noise.real ** 2)
    other = _capture(scos.sim_source(1e6, 100e6, tones=[], noise_dbm=-75.0, seed=4), 1000)
    assert not np.allclose(noise[:1000], other)


def test_a_tone_that_does_not_fit_a_period_still_has_its_power():
    # 1/pi of the sample rate never repeats exactly: sig_source_c is added instead
    x = _capture(scos.sim_source(1e6, 100e6, tones=[(1e6 / math.pi, -30.0)], noise_dbm=None), 100_000)
    assert _dbm(x) == pytest.approx(-30.0, abs=1e-3)


def test_throttle_paces_at_the_sample_rate():
    started = time.perf_counter()
    _capture(scos.sim_source(200e3, 100e6, throttle=True), 60_000)
    assert time.perf_counter() - started >= 0.2


def test_radio_source_parses_sim_options():
    x = _capture(scos.radio_source("sim,tones=2e5:-30/-1e5:-33,noise_dbm=none", 1e6, 100e6), 100_000)
    assert _dbm(x) == pytest.approx(10 * math.log10(1e-6 + 10 ** -6.3) + 30, abs=1e-3)
    with pytest.raises(scos.RadioError, match="unknown option"):
        scos.radio_source("sim,colour=blue", 1e6, 100e6)
    with pytest.raises(scos.RadioError, match="outside"):
        scos.radio_source("sim", 1e6, 10e9)


def test_fail_every_fails_every_nth_construction_in_the_process():
    scos.reset_failure_counters()
    args = "sim,fail_every=3,seed=99"
    outcomes = []
    for _ in range(6):
        try:
            scos.radio_source(args, 1e6, 100e6)
            outcomes.append("ok")
        except scos.RadioError as exc:
            assert "simulated radio failure" in str(exc)
            assert "one construction in 3 fails" in str(exc) and "3th" not in str(exc)  # not "every 3th"
            outcomes.append("fail")
    assert outcomes == ["ok", "ok", "fail", "ok", "ok", "fail"]
    assert issubclass(scos.RadioError, ScosGrError)


def test_radio_info_of_the_simulated_radio():
    info = scos.radio_info("sim,seed=1")
    assert info["driver"] == "sim" and info["min_frequency"] < 751e6 < info["max_frequency"]


def test_osmosdr_device_that_does_not_exist_is_a_radio_error(tmp_path):
    with pytest.raises(scos.RadioError, match="does not exist"):
        scos.radio_source(f"file={tmp_path}/missing.cf32", 1e6, 100e6)


def _rx_time(seconds: float) -> pmt.pmt_t:
    whole = int(seconds)
    return pmt.make_tuple(pmt.from_uint64(whole), pmt.from_double(seconds - whole))


def test_radio_monitor_counts_samples_lost_between_rx_time_tags():
    fs = 1e6
    # 3000 samples delivered; the radio says 500 samples went missing after sample 1000 and
    # 250 more after sample 2000 (its clock jumped further than the samples it delivered).
    tags = [gr.tag_utils.python_to_tag((0, pmt.intern("rx_time"), _rx_time(100.0))),
            gr.tag_utils.python_to_tag((1000, pmt.intern("rx_time"), _rx_time(100.0 + 1500 / fs))),
            gr.tag_utils.python_to_tag((2000, pmt.intern("rx_time"), _rx_time(100.0 + 2750 / fs)))]
    tb = gr.top_block()
    src = blocks.vector_source_c(np.arange(3000, dtype=np.complex64).tolist(), False, 1, tags)
    monitor = scos.radio_monitor(fs)
    sink = blocks.vector_sink_c()
    tb.connect(src, monitor, sink)
    tb.run()
    assert np.array_equal(np.array(sink.data()), np.arange(3000))
    assert (monitor.dropped, monitor.overflows) == (750, 2)
    dropped = [(t.offset, pmt.to_python(t.value)) for t in sink.tags() if pmt.symbol_to_string(t.key) == "scos_dropped"]
    assert dropped == [(1000, {"dropped_samples": 500, "overflows": 1}), (2000, {"dropped_samples": 250, "overflows": 1})]


def _tags(sink, key: str) -> list:
    return [(t.offset, pmt.to_python(t.value)) for t in sink.tags() if pmt.symbol_to_string(t.key) == key]


def test_the_radio_source_tags_what_the_radio_knows_on_the_first_sample_only():
    tb = gr.top_block()
    radio = scos.radio_source("sim,seed=2", 1e6, 100e6, 12.5)
    sink = blocks.vector_sink_c()
    tb.connect(radio, blocks.head(gr.sizeof_gr_complex, 200_000), sink)
    tb.run()
    [(offset, facts)] = _tags(sink, "scos_radio")
    assert offset == 0
    assert facts == {"driver": "sim", "args": "sim,seed=2", "frequency": 100e6, "sample_rate": 1e6, "gain": 12.5,
                     "frequency_low": 1e6, "frequency_high": 6e9, "full_scale": 1.0}


def test_the_monitor_counts_samples_at_full_scale_per_chunk_on_the_chunks_first_sample():
    x = np.zeros(5000, dtype=np.complex64)
    x[[10, 20, 3000]] = 0.5 + 0.0j       # at full scale (I)
    x[4000] = 0.1 - 0.7j                  # beyond it (Q)
    x[4500] = 0.49 + 0.49j                # just below on both
    tb = gr.top_block()
    monitor = scos.radio_monitor(1e6, 0.5)
    sink = blocks.vector_sink_c()
    tb.connect(blocks.vector_source_c(x.tolist()), monitor, sink)
    tb.run()
    np.testing.assert_array_equal(np.array(sink.data()), x)  # passed through untouched
    # one count per 1024-sample chunk, on the chunk's first sample (never the overloaded sample:
    # stream_to_vector rounds a tag to the nearest frame)
    assert _tags(sink, "scos_overload") == [(0, 2), (2048, 1), (3072, 1)]
    assert monitor.overload_samples == 4 and _tags(sink, "scos_radio") == []


@pytest.mark.parametrize("kernels", ["compiled", "numpy"])
def test_the_monitors_copy_says_when_a_sample_may_be_at_full_scale(kernels):
    from gnuradio.scos import monitor as mon

    assert mon.KERNELS is not None, "make deps builds blocks/lib into the venv"
    lib = mon.KERNELS if kernels == "compiled" else None
    fs = np.float32(0.5)
    rng = np.random.default_rng(3)
    below = (rng.uniform(-0.49, 0.49, 4099) + 1j * rng.uniform(-0.49, 0.49, 4099)).astype(np.complex64)
    cases = {"below": (below, False), "empty": (below[:0], False)}
    for name, index, value in [("I at", 7, 0.5 + 0j), ("-I at", 4098, -0.5 + 0j), ("Q beyond", 0, 0.1 - 0.7j),
                               ("inf", 100, complex(np.inf, 0)), ("nan", 2000, complex(0, np.nan)),
                               ("just below", 3, complex(np.nextafter(fs, np.float32(0)), -np.nextafter(fs, np.float32(0))))]:
        x = below.copy()
        x[index] = value
        cases[name] = (x, name != "just below")  # a NaN may be one: overloaded() then counts none
    for name, (x, may) in cases.items():
        out = np.full_like(x, 9)
        assert mon.copy_samples(x, out, fs, lib) is may, name
        np.testing.assert_array_equal(out, x)  # copied untouched, NaN and all
        assert mon.copy_samples(x, out, None, lib) is False  # no full scale: nothing to look for
    nan_over = mon.overloaded(cases["nan"][0], fs)
    assert nan_over is not None and nan_over.size == 0  # looked, and counted no NaN


def test_the_sim_clips_at_its_full_scale_like_an_adc():
    loud = _capture(scos.radio_source("sim,tones=1e5:15,noise_dbm=none", 1e6, 100e6), 100_000)  # 1.26 V peak
    assert np.max(np.abs(loud.real)) == pytest.approx(1.0) and np.max(np.abs(loud.imag)) == pytest.approx(1.0)
    low = _capture(scos.radio_source("sim,tones=1e5:15,noise_dbm=none,full_scale=2", 1e6, 100e6), 100_000)
    assert _dbm(low) == pytest.approx(15.0, abs=1e-3)  # below a 2 V full scale: untouched
    odd = _capture(scos.sim_source(1e6, 100e6, tones=[(1e6 / math.pi, 15.0)], noise_dbm=None), 100_000)
    assert np.max(np.abs(odd.view(np.float32))) == pytest.approx(1.0)  # the sig_source path clips too
    with pytest.raises(scos.RadioError, match="full_scale"):
        scos.radio_source("sim,full_scale=0", 1e6, 100e6)


def test_no_monitor_call_ends_in_the_second_half_of_a_chunk():
    from gnuradio.scos.monitor import chunk_window

    assert chunk_window(0, 4096) == 4096 and chunk_window(0, 1024) == 1024
    assert chunk_window(0, 300) == 300  # within the first half: the next call starts there
    assert chunk_window(0, 700) == 511  # would end at 700: stops before the middle
    assert chunk_window(0, 1700) == 1024 and chunk_window(300, 1500) == 724  # stops at the boundary
    assert chunk_window(511, 300) == 0  # starts just before the middle, ends past it: wait for the rest
    assert chunk_window(511, 513) == 513  # reaches the boundary
    assert chunk_window(700, 100) == 100  # already past the middle (nothing came): passed whole


def test_a_radio_delivering_short_packets_gets_every_count_tagged_in_its_chunks_first_half():
    # short packets: calls that start inside a chunk must still tag where stream_to_vector keeps
    # the count in the chunk's own frame (a finite stream's very last chunk excepted: when no
    # more samples come, its end is passed as it is)
    x = np.full(30 * 1024, 0.9, dtype=np.complex64)  # every sample at the 0.5 full scale
    src = blocks.vector_source_c(x.tolist())
    src.set_max_noutput_items(700)
    src.set_max_output_buffer(1500)
    tb = gr.top_block()
    monitor = scos.radio_monitor(1e6, 0.5)
    sink = blocks.vector_sink_c()
    tb.connect(src, monitor, sink)
    tb.run()
    counts = _tags(sink, "scos_overload")
    assert all(offset % 1024 < 512 for offset, _ in counts if offset < 29 * 1024), counts
    per_chunk: dict[int, int] = {}
    for offset, count in counts:
        per_chunk[offset // 1024] = per_chunk.get(offset // 1024, 0) + count
    assert per_chunk == {chunk: 1024 for chunk in range(30)}


def test_the_radio_sources_buffer_is_the_flowgraphs_to_choose():
    """Short captures want small buffers (each run faults their pages in fresh), long ones large
    buffers (fewer hand-offs between threads): the flowgraph says, through the source's
    buffer_items, for the sim's source and the monitor alike."""
    default = scos.radio_source("sim", 15.36e6, 751e6)
    assert default.monitor.min_output_buffer(0) == default.source._file.min_output_buffer(0) == 65536
    large = scos.radio_source("sim", 15.36e6, 751e6, 0.0, 262144)
    assert large.monitor.min_output_buffer(0) == large.source._file.min_output_buffer(0) == 262144
