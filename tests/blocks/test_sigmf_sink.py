"""sigmf_sink: writes the detector spectra through sigmf_out and ends the flowgraph; lost samples
reported by the radio reach the recording's metadata."""
from __future__ import annotations

import json

import numpy as np
import pmt
import pytest
from gnuradio import blocks, fft, gr
from gnuradio.fft import window

from gnuradio import scos


def _capture_tag(**info):
    value = {"capture_start": 1_700_000_000.25, "frequency": 751e6, "num_ffts": 300, "dropped_samples": 0,
             "overflows": 0, **info}
    return gr.tag_utils.python_to_tag((0, pmt.intern("scos_capture"), pmt.to_pmt(value)))


def test_sink_writes_the_recording_and_ends_an_endless_flowgraph(tmp_path):
    spectra = np.arange(5 * 64, dtype=np.float32).reshape(5, 64) - 100
    tb = gr.top_block()
    src = blocks.vector_source_f(spectra.ravel().tolist(), True, 64, [_capture_tag()])  # repeats forever
    sink = scos.sigmf_sink(64, 300, 1e6, 751e6, "blackman", str(tmp_path), "rec",
                           json.dumps({"task_id": 3, "calibration": {"gain_correction_db": 1.5}}))
    tb.connect(src, sink)
    tb.run()  # returns only because the sink said it is done
    assert sink.error is None
    data = np.fromfile(tmp_path / "rec.sigmf-data", dtype="<f4").reshape(5, 64)
    np.testing.assert_array_equal(data, spectra)
    meta = json.loads((tmp_path / "rec.sigmf-meta").read_text())
    assert meta["global"]["core:sha512"] == sink.recording.sha512
    assert meta["global"]["ntia-scos:task"] == 3
    assert meta["captures"][0]["core:datetime"].startswith("2023-11-14T22:13:20.25")
    assert [a["core:sample_start"] for a in meta["annotations"]] == [0, 64, 128, 192, 256]


def test_sink_failure_is_kept_for_the_runner_and_leaves_no_file(tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("x")
    tb = gr.top_block()
    src = blocks.vector_source_f([0.0] * 5 * 16, True, 16, [_capture_tag()])
    sink = scos.sigmf_sink(16, 11, 1e6, 751e6, "blackman", str(blocker), "rec", "{}")
    tb.connect(src, sink)
    tb.run()
    assert sink.error and "sigmf_sink" in sink.error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["not-a-directory"]


def test_bad_metadata_json_is_refused_at_construction(tmp_path):
    with pytest.raises(ValueError, match="JSON"):
        scos.sigmf_sink(16, 11, 1e6, 751e6, "blackman", str(tmp_path), "rec", "{task")


def _rx_time(seconds: float):
    whole = int(seconds)
    return pmt.make_tuple(pmt.from_uint64(whole), pmt.from_double(seconds - whole))


def test_samples_lost_by_the_radio_are_in_the_recording_metadata(tmp_path):
    """rx_time gap -> rx_time_monitor -> FFT chain -> power_stats -> sigmf_sink -> metadata."""
    fs, n_fft, k = 1e6, 64, 20
    x = (np.random.default_rng(2).standard_normal(n_fft * k) * 0.01).astype(np.complex64)
    tags = [gr.tag_utils.python_to_tag((0, pmt.intern("rx_time"), _rx_time(50.0))),
            gr.tag_utils.python_to_tag((640, pmt.intern("rx_time"), _rx_time(50.0 + (640 + 4096) / fs)))]
    tb = gr.top_block()
    src = blocks.vector_source_c(x.tolist(), False, 1, tags)
    monitor = scos.rx_time_monitor(fs)
    s2v = blocks.stream_to_vector(gr.sizeof_gr_complex, n_fft)
    f = fft.fft_vcc(n_fft, True, window.blackman(n_fft), True, 1)
    mag = blocks.complex_to_mag_squared(n_fft)
    det = scos.power_stats(n_fft, k, fs, 100e6)
    sink = scos.sigmf_sink(n_fft, k, fs, 100e6, "blackman", str(tmp_path), "lossy", "{}")
    tb.connect(src, monitor, s2v, f, mag, det, sink)
    tb.run()
    assert det.error is None and sink.error is None
    meta = json.loads((tmp_path / "lossy.sigmf-meta").read_text())
    assert meta["global"]["scos-gr:dropped_samples"] == 4096
    assert meta["global"]["scos-gr:overflows"] == 1
    assert meta["captures"][0]["core:datetime"].startswith("1970-01-01T00:00:50.000000")
