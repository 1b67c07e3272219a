"""The power_stats block: the spec's normalisation and reference vector through a GNU Radio chain,
what it reads from the stream's tags and what it says in its scos_capture tag."""
from __future__ import annotations

from pathlib import Path
import sys

import numpy as np
import pmt
import pytest
import yaml
from gnuradio import blocks, fft, gr
from gnuradio.fft import window

from gnuradio import scos
from gnuradio.scos.detectors import watts_scale
from gnuradio.scos.monitor import radio_facts
from gnuradio.scos.units import to_dbm
from scos_gr.sigmf_out.windows import enbw_hz, known_windows, window_coefficients

REFERENCE_DC = {"min": -9.6423, "max": 11.1856, "mean": 6.9853, "median": 5.9207, "sample": 11.1856}
RADIO = radio_facts(driver="sim", args="sim", frequency=100e6, sample_rate=1e6, gain=20.0, frequency_low=1e6,
                    frequency_high=6e9, full_scale=1.0)


def tag(offset: int, key: str, value) -> gr.tag_t:
    return gr.tag_utils.python_to_tag((offset, pmt.intern(key), pmt.to_pmt(value)))


def _run_detector(samples: np.ndarray, fft_size: int, num_ffts: int, gain_db: float = 0.0,
                  detectors: str = "min,max,mean,median,sample", tags=(), radio=RADIO, name="blackman"):
    """samples -> stream_to_vector -> fft_vcc(window, shift) -> |.|^2 -> power_stats -> sink."""
    tb = gr.top_block()
    tags = ([tag(0, "scos_radio", radio)] if radio is not None else []) + list(tags)
    src = blocks.vector_source_c(samples.astype(np.complex64).tolist(), False, 1, tags)
    s2v = blocks.stream_to_vector(gr.sizeof_gr_complex, fft_size)
    f = fft.fft_vcc(fft_size, True, getattr(window, name)(fft_size), True, 1)
    mag = blocks.complex_to_mag_squared(fft_size)
    det = scos.power_stats(fft_size, num_ffts, name, gain_db, detectors)
    sink = blocks.vector_sink_f(1)
    tb.connect(src, s2v, f, mag, det, sink)
    tb.run()
    return det, np.array(sink.data()).reshape(-1, fft_size), sink.tags()


def _reference_samples() -> np.ndarray:
    return np.concatenate([np.full(16, 0.1 * (i + 1), dtype=np.complex64) for i in range(11)])


def test_reference_vector_through_the_gnuradio_chain():
    det, spectra, tags = _run_detector(_reference_samples(), 16, 11)
    assert det.error is None
    assert spectra.shape == (5, 16)
    for row, name in zip(spectra, ["min", "max", "mean", "median", "sample"]):
        assert row[8] == pytest.approx(REFERENCE_DC[name], abs=0.001), name
    assert [pmt.symbol_to_string(t.key) for t in tags] == ["scos_capture"]
    info = pmt.to_python(tags[0].value)
    assert tags[0].offset == 0 and info["num_ffts"] == 11 and info["dropped_samples"] == 0


def test_the_capture_tag_says_everything_a_recording_needs():
    """What the radio knows comes from its scos_radio tag; what the detector did, from itself."""
    det, _, tags = _run_detector(_reference_samples(), 16, 11, gain_db=-1.5, detectors="mean,max")
    info = pmt.to_python(tags[0].value)
    assert info["frequency"] == 100e6 and info["sample_rate"] == 1e6 and info["gain"] == 20.0
    assert (info["driver"], info["args"], info["frequency_low"], info["frequency_high"]) == ("sim", "sim", 1e6, 6e9)
    assert info["window"] == "blackman" and info["enbw_hz"] == pytest.approx(enbw_hz("blackman", 16, 1e6))
    assert (info["fft_size"], info["num_ffts"], info["detectors"]) == (16, 11, ["mean", "max"])
    assert info["gain_correction_db"] == -1.5 and info["overload_samples"] == 0
    assert info["steps"] is None and info["step_index"] is None
    assert det.radio == RADIO


def test_a_stream_without_the_radios_tag_stops_the_flowgraph_with_the_reason():
    det, spectra, _ = _run_detector(_reference_samples(), 16, 11, radio=None)
    assert spectra.size == 0
    assert "no scos_radio tag" in det.error and "SCOS Radio Source" in det.error


def test_gain_correction_is_added_and_detector_order_follows_the_parameter():
    _, spectra, _ = _run_detector(_reference_samples(), 16, 11, gain_db=-3.5, detectors="median,min")
    assert spectra.shape == (2, 16)
    assert spectra[0][8] == pytest.approx(REFERENCE_DC["median"] - 3.5, abs=0.001)
    assert spectra[1][8] == pytest.approx(REFERENCE_DC["min"] - 3.5, abs=0.001)


def test_consecutive_captures_each_emit_a_tagged_set():
    rng = np.random.default_rng(4)
    x = (rng.standard_normal(64 * 30) + 1j * rng.standard_normal(64 * 30)) * 0.01
    _, spectra, tags = _run_detector(x, 64, 10, detectors="mean,max")
    assert spectra.shape == (6, 64)
    assert [t.offset for t in tags] == [0, 2 * 64, 4 * 64]
    # each capture's mean is the mean of its own frames
    frames = np.abs(np.fft.fftshift(np.fft.fft(x.reshape(30, 64) * np.array(window.blackman(64))), axes=1)) ** 2
    scale = watts_scale("blackman", 64)
    for c in range(3):
        expected = to_dbm(frames[c * 10:(c + 1) * 10].mean(axis=0) * scale)
        np.testing.assert_allclose(spectra[2 * c], expected, atol=1e-3)


def test_dropped_and_overloaded_sample_tags_are_summed_into_their_capture_tag():
    x = np.zeros(16 * 22, dtype=np.complex64) + 0.01
    tags = [tag(40, "scos_dropped", {"dropped_samples": 1000, "overflows": 1}),
            tag(100, "scos_dropped", {"dropped_samples": 24, "overflows": 1}),
            tag(50, "scos_overload", 7), tag(150, "scos_overload", 5),
            tag(16 * 11 + 3, "scos_overload", 2)]  # in the second capture
    _, _, out_tags = _run_detector(x, 16, 11, tags=tags)
    first, second = (pmt.to_python(t.value) for t in out_tags)
    assert first["dropped_samples"] == 1024 and first["overflows"] == 2 and first["overload_samples"] == 12
    assert second["dropped_samples"] == 0 and second["overload_samples"] == 2


@pytest.mark.parametrize("name", ["hann", "flattop"])
def test_the_window_parameter_sets_the_normalisation_and_the_tag(name):
    """A tone's bins sum to its power whatever the window, when the FFT applies the same one."""
    n, k = 64, 40
    amplitude = np.sqrt(50 * 1e-5)  # -20 dBm
    x = amplitude * np.exp(2j * np.pi * 0.1 * np.arange(n * k))
    _, spectra, tags = _run_detector(x, n, k, detectors="mean", name=name)
    total = 10 * np.log10(np.sum(10 ** (spectra[0].astype(np.float64) / 10)))
    assert total == pytest.approx(-20.0, abs=0.01)
    assert pmt.to_python(tags[0].value)["window"] == name


def test_unknown_detector_or_window_is_refused():
    with pytest.raises(ValueError):
        scos.power_stats(16, 11, "blackman", 0.0, "min,average")
    with pytest.raises(ValueError):
        scos.power_stats(16, 11, "triangle-ish", 0.0, "min")


def _installed_definition(block_id: str) -> dict:
    path = Path(sys.prefix) / "share" / "gnuradio" / "grc" / "blocks" / f"{block_id}.block.yml"
    return yaml.safe_load(path.read_text())


def test_the_window_options_in_grc_are_exactly_the_window_tables_names():
    [param] = [p for p in _installed_definition("scos_power_stats")["parameters"] if p["id"] == "window"]
    assert param["options"] == list(known_windows())
    assert len(param["option_labels"]) == len(param["options"]) and param["default"] in param["options"]


def test_gnuradios_window_of_each_name_is_the_tables():
    """The shipped flowgraphs give the FFT getattr(window, fft_window)(fft_size) and power_stats
    fft_window: for every option, GNU Radio's window of that name is the table's coefficients."""
    for name in known_windows():
        np.testing.assert_allclose(getattr(window, name)(256), window_coefficients(name, 256), atol=1e-6)


def test_what_the_radio_knows_is_no_parameter_of_the_detector_or_the_sinks():
    """One fact, one place: the sinks keep where to write and the task's context, nothing else."""
    detector = {p["id"] for p in _installed_definition("scos_power_stats")["parameters"]}
    assert detector == {"fft_size", "num_ffts", "window", "gain_correction_db", "detectors"}
    for sink in ("scos_sigmf_sink", "scos_survey_sink"):
        assert {p["id"] for p in _installed_definition(sink)["parameters"]} == {"output_dir", "basename",
                                                                                "metadata_json"}
    assert {p["id"] for p in _installed_definition("scos_iq_sink")["parameters"]} == {
        "num_samples", "output_dir", "basename", "metadata_json"}


def test_a_survey_step_that_does_not_start_a_capture_is_refused_with_both_sizes():
    """A survey source stepping every 5 frames into a detector of 11-frame captures would mix
    two frequencies in one capture: refused, not recorded."""
    steps = [tag(k * 5 * 16, "scos_step", {"frequency": 100e6 + k, "capture_start": 1.0, "index": k, "steps": 4})
             for k in range(4)]
    det, spectra, _ = _run_detector(np.zeros(16 * 20, dtype=np.complex64) + 0.01, 16, 11, tags=steps)
    assert spectra.size == 0
    assert "survey step 1 starts 5 frames into a capture of 11" in det.error and "16 x 11" in det.error


def test_a_stream_too_short_for_one_capture_says_so_when_the_flowgraph_ends():
    """A head passing fewer than fft_size x num_ffts samples: the cause, not a missing recording."""
    det, spectra, _ = _run_detector(np.zeros(16 * 5, dtype=np.complex64) + 0.01, 16, 11)
    assert spectra.size == 0
    assert "ended after 5 of 11 frames of 16" in det.error and "176 samples" in det.error
    det, _, _ = _run_detector(np.zeros(16 * 16, dtype=np.complex64) + 0.01, 16, 11)  # one capture and a part
    assert det.error is None


def test_an_overload_in_the_second_half_of_the_last_frame_counts_for_its_capture():
    # GNU Radio's stream_to_vector moves a tag to the nearest frame: a count tagged on the
    # overloaded sample itself (here in the last 100 samples) would land past the last frame
    x = np.full(2 * 1024, 0.01, dtype=np.complex64)
    x[-100:] = 0.9
    tb = gr.top_block()
    monitor = scos.radio_monitor(1e6, 0.5, radio=RADIO)
    s2v = blocks.stream_to_vector(gr.sizeof_gr_complex, 1024)
    f = fft.fft_vcc(1024, True, window.blackman(1024), True, 1)
    det = scos.power_stats(1024, 2, "blackman", 0.0, "mean")
    sink = blocks.vector_sink_f(1)
    tb.connect(blocks.vector_source_c(x.tolist()), monitor, s2v, f, blocks.complex_to_mag_squared(1024), det, sink)
    tb.run()
    assert det.error is None
    [info] = [pmt.to_python(t.value) for t in sink.tags() if pmt.symbol_to_string(t.key) == "scos_capture"]
    assert info["overload_samples"] == 100
