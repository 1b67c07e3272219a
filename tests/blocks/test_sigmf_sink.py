"""sigmf_sink: writes the detector spectra through sigmf_out from what power_stats' tags say and
ends the flowgraph; lost samples reported by the radio reach the recording's metadata."""
from __future__ import annotations

import json

import numpy as np
import pmt
import pytest
from gnuradio import blocks, fft, gr
from gnuradio.fft import window

from gnuradio import scos
from gnuradio.scos.monitor import radio_facts
from gnuradio.scos.power_stats import capture_info
from scos_gr.sigmf_out.windows import enbw_hz

RADIO = radio_facts(driver="osmosdr", args="rtl=0", frequency=751e6, sample_rate=1e6, gain=30.0,
                    frequency_low=24e6, frequency_high=1.766e9, full_scale=1.0)


def _capture_tag(offset: int = 0, **changes):
    value = capture_info(radio=RADIO, capture_start=1_700_000_000.25, frequency=751e6, fft_size=64, num_ffts=300,
                         window="hann", detectors=["min", "max", "mean", "median", "sample"], gain_correction_db=0.0,
                         dropped_samples=0, overflows=0, overload_samples=0)
    value.update(changes)
    return gr.tag_utils.python_to_tag((offset, pmt.intern("scos_capture"), pmt.to_pmt(value)))


def test_sink_writes_the_recording_from_the_tags_and_ends_an_endless_flowgraph(tmp_path):
    spectra = np.arange(5 * 64, dtype=np.float32).reshape(5, 64) - 100
    tb = gr.top_block()
    src = blocks.vector_source_f(spectra.ravel().tolist(), True, 1, [_capture_tag()])  # repeats forever
    sink = scos.sigmf_sink(str(tmp_path), "rec", json.dumps({"task_id": 3}))
    tb.connect(src, sink)
    tb.run()  # returns only because the sink said it is done
    assert sink.error is None
    data = np.fromfile(tmp_path / "rec.sigmf-data", dtype="<f4").reshape(5, 64)
    np.testing.assert_array_equal(data, spectra)
    meta = json.loads((tmp_path / "rec.sigmf-meta").read_text())
    g = meta["global"]
    assert g["core:sha512"] == sink.recording.sha512
    assert g["ntia-scos:task"] == 3
    assert g["core:sample_rate"] == 1e6 and g["core:hw"] == "gr-osmosdr (rtl=0)"
    [dft] = g["ntia-algorithm:processing_info"]
    assert (dft["window"], dft["samples"], dft["dfts"]) == ("hanning", 64, 300)
    assert dft["equivalent_noise_bandwidth"] == pytest.approx(enbw_hz("hann", 64, 1e6))
    assert g["ntia-algorithm:data_products"][0]["series"] == ["min", "max", "mean", "median", "sample"]
    [capture] = meta["captures"]
    assert capture["core:datetime"].startswith("2023-11-14T22:13:20.25")
    assert capture["ntia-sensor:sigan_settings"] == {"gain": 30.0}
    assert [a["core:sample_start"] for a in meta["annotations"]] == [0, 64, 128, 192, 256]


def test_the_detector_list_of_the_tag_sets_how_much_the_sink_collects(tmp_path):
    """The sink restates no detector list: two detectors in the tag, two spectra in the file."""
    values = np.arange(2 * 64, dtype=np.float32) - 90
    tb = gr.top_block()
    src = blocks.vector_source_f(values.tolist(), True, 1, [_capture_tag(detectors=["mean", "max"])])
    sink = scos.sigmf_sink(str(tmp_path), "two", "{}")
    tb.connect(src, sink)
    tb.run()
    assert sink.error is None and sink.recording.data_bytes == 2 * 64 * 4
    assert [a["core:label"] for a in sink.recording.metadata["annotations"]] == ["mean", "max"]


def test_a_stream_that_ends_before_every_capture_arrived_says_how_far_it_got(tmp_path):
    values = np.zeros(2 * 64, dtype=np.float32)  # one survey step of three
    tb = gr.top_block()
    src = blocks.vector_source_f(values.tolist(), False, 1, [_capture_tag(detectors=["mean", "max"], steps=3,
                                                                          step_index=0)])
    sink = scos.survey_sink(str(tmp_path), "short", "{}")
    tb.connect(src, sink)
    tb.run()
    assert sink.error == "scos_survey_sink: the stream ended after 1 of 3 captures; no recording written"
    assert list(tmp_path.iterdir()) == []


def test_a_stream_without_capture_tags_fails_with_the_reason_and_no_file(tmp_path):
    tb = gr.top_block()
    src = blocks.vector_source_f([0.0] * 640, False, 1, [])
    sink = scos.sigmf_sink(str(tmp_path), "rec", "{}")
    tb.connect(src, sink)
    tb.run()
    assert sink.error and "no scos_capture tag" in sink.error and "SCOS Power Statistics" in sink.error
    assert list(tmp_path.iterdir()) == []


def test_sink_failure_is_kept_for_the_runner_and_leaves_no_file(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    tb = gr.top_block()
    src = blocks.vector_source_f([0.0] * 5 * 64, True, 1, [_capture_tag()])
    sink = scos.sigmf_sink(str(blocker), "rec", "{}")
    tb.connect(src, sink)
    tb.run()
    assert sink.error and "sigmf_sink" in sink.error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-directory"]


def test_bad_metadata_json_is_refused_at_construction(tmp_path):
    with pytest.raises(ValueError, match="JSON"):
        scos.sigmf_sink(str(tmp_path), "rec", "{task")


def _rx_time(seconds: float):
    whole = int(seconds)
    return pmt.make_tuple(pmt.from_uint64(whole), pmt.from_double(seconds - whole))


def test_samples_lost_by_the_radio_are_in_the_recording_metadata(tmp_path):
    """rx_time gap -> radio_monitor -> FFT chain -> power_stats -> sigmf_sink -> metadata."""
    fs, n_fft, k = 1e6, 64, 20
    x = (np.random.default_rng(2).standard_normal(n_fft * k) * 0.01).astype(np.complex64)
    tags = [gr.tag_utils.python_to_tag((0, pmt.intern("rx_time"), _rx_time(50.0))),
            gr.tag_utils.python_to_tag((640, pmt.intern("rx_time"), _rx_time(50.0 + (640 + 4096) / fs)))]
    tb = gr.top_block()
    src = blocks.vector_source_c(x.tolist(), False, 1, tags)
    monitor = scos.radio_monitor(fs, 1.0, dict(RADIO, frequency=100e6, sample_rate=fs))
    s2v = blocks.stream_to_vector(gr.sizeof_gr_complex, n_fft)
    f = fft.fft_vcc(n_fft, True, window.blackman(n_fft), True, 1)
    mag = blocks.complex_to_mag_squared(n_fft)
    det = scos.power_stats(n_fft, k, "blackman")
    sink = scos.sigmf_sink(str(tmp_path), "lossy", "{}")
    tb.connect(src, monitor, s2v, f, mag, det, sink)
    tb.run()
    assert det.error is None and sink.error is None
    meta = json.loads((tmp_path / "lossy.sigmf-meta").read_text())
    assert meta["global"]["scos-gr:dropped_samples"] == 4096
    assert meta["global"]["scos-gr:overflows"] == 1
    [capture] = meta["captures"]
    assert capture["core:datetime"].startswith("1970-01-01T00:00:50.000000")
    assert capture["core:frequency"] == 100e6 and "4096 samples dropped" in capture["core:comment"]
    assert capture["ntia-sensor:duration"] == round((n_fft * k + 4096) / fs * 1000)
