"""survey_700MHz_band: the real flowgraph on the retunable sim radio, tones placed by the test."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pmt
import pytest
from sigmf import sigmffile

from gnuradio import scos
from scos_gr.calibration import UNCALIBRATED, load_calibration
from scos_gr.flowgraphs.catalogue import DEFAULT_CATALOGUE, load_catalogue
from scos_gr.flowgraphs.runner import RadioFailure, run_action
from scos_gr.sigmf_out.context import ScheduleInfo, TaskContext

RATE, N = 15.36e6, 1024
BIN = RATE / N
TONES = [(700.3e6, -50.0), (751.0e6, -40.0), (799.7e6, -45.0)]
BAND = "sim,band=" + "/".join(f"{f:.1f}:{p}" for f, p in TONES)


def survey(tmp_path, radio=BAND, basename="sv_1", calibration=UNCALIBRATED, **parameters):
    action = load_catalogue(DEFAULT_CATALOGUE)["survey_700MHz_band"]
    action = replace(action, parameters={**action.parameters, **parameters})
    return run_action(action, radio=radio, output_dir=tmp_path / "out", basename=basename, calibration=calibration,
                      context=TaskContext(task_id=1, schedule=ScheduleInfo(name="sv")), cache_dir=tmp_path / "cache")


def found_tones(meta_path):
    """For each placed tone: (frequency found, integrated power) in the step that sees it best."""
    rec = sigmffile.fromfile(str(meta_path))
    data = rec.read_samples()
    meta = json.loads(open(meta_path).read())
    captures = meta["captures"]
    means = [a for a in meta["annotations"] if a["core:label"] == "mean"]
    results = []
    for frequency, _ in TONES:
        step = min(range(len(captures)), key=lambda s: abs(captures[s]["core:frequency"] - frequency))
        centre = captures[step]["core:frequency"]
        ann = means[step]
        assert ann["core:sample_start"] >= captures[step]["core:sample_start"]
        spectrum = data[ann["core:sample_start"]:][:N]
        expected_bin = N // 2 + round((frequency - centre) / BIN)
        window = slice(expected_bin - 20, expected_bin + 21)
        peak = expected_bin - 20 + int(np.argmax(spectrum[window]))
        power = 10 * np.log10((10 ** (spectrum[peak - 5:peak + 6] / 10)).sum())
        results.append((centre + (peak - N // 2) * BIN, power))
    return results, meta


def test_three_tones_are_found_at_their_frequency_and_power(tmp_path):
    result = survey(tmp_path)
    [rec] = result.recordings
    found, meta = found_tones(rec.meta_path)
    for (frequency, power), (got_f, got_p) in zip(TONES, found):
        assert abs(got_f - frequency) <= BIN, (frequency, got_f)
        assert abs(got_p - power) <= 0.5, (frequency, got_p)
    plan = scos.step_frequencies(698e6, 806e6, RATE, 0.2)
    assert len(plan) == 9 and plan[0] - RATE * 0.4 == 698e6 and plan[-1] + RATE * 0.4 >= 806e6
    captures = meta["captures"]
    assert [c["core:frequency"] for c in captures] == plan
    assert [c["core:sample_start"] for c in captures] == [s * 2 * N for s in range(9)]
    times = [c["core:datetime"] for c in captures]
    assert times == sorted(times) and all(t.endswith("Z") for t in times)
    assert rec.data_bytes == 9 * 2 * N * 4
    assert sigmffile.fromfile(str(rec.meta_path)).validate() is None


def test_settling_samples_are_excluded(tmp_path):
    garbage = BAND + ",retune_garbage=30000"  # 0 dBm of noise for 2 ms after every retune
    clean, _ = found_tones(survey(tmp_path, radio=garbage, basename="clean_1").recordings[0].meta_path)
    for (frequency, power), (got_f, got_p) in zip(TONES, clean):
        assert abs(got_p - power) <= 0.5 and abs(got_f - frequency) <= BIN
    # the negative control: without settling, the garbage lands in the spectra and shows
    raw = survey(tmp_path, radio=garbage, basename="raw_1", settle_samples=0).recordings[0]
    data = sigmffile.fromfile(str(raw.meta_path)).read_samples()
    meta = json.loads(open(raw.meta_path).read())
    first_max = next(a for a in meta["annotations"] if a["core:label"] == "max")
    assert np.median(data[first_max["core:sample_start"]:][:N]) > -60  # noise floor is ~-90 dBm when clean


def test_a_step_the_radio_cannot_tune_fails_the_survey_and_leaves_nothing(tmp_path):
    with pytest.raises(RadioFailure, match="cannot tune"):
        survey(tmp_path, basename="far_1", start_freq=5.98e9, stop_freq=6.03e9)
    out = tmp_path / "out"
    assert not out.exists() or list(out.iterdir()) == []


class _FakeTuner:
    """Stands in for SDR hardware: remembers what it was tuned to (the stepper's only radio call)."""

    def __init__(self):
        self.tuned: list[float] = []

    def set_center_freq(self, frequency: float) -> float:
        self.tuned.append(frequency)
        return frequency


def _rx_time(seconds: float):
    whole = int(seconds)
    return pmt.make_tuple(pmt.from_uint64(whole), pmt.from_double(seconds - whole))


def test_stepper_drops_exactly_the_settling_samples_and_forwards_losses_of_passed_samples():
    from gnuradio import blocks, gr

    fs, per_step, settle = 1e6, 1000, 300
    ramp = np.arange(4000, dtype=np.complex64)
    # the radio reports 70 samples lost at 1400 (inside step 2's settling) and 50 at 1700 (step 2's data)
    tags = [gr.tag_utils.python_to_tag((0, pmt.intern("rx_time"), _rx_time(10.0))),
            gr.tag_utils.python_to_tag((1400, pmt.intern("rx_time"), _rx_time(10.0 + (1400 + 70) / fs))),
            gr.tag_utils.python_to_tag((1700, pmt.intern("rx_time"), _rx_time(10.0 + (1700 + 120) / fs)))]
    radio = _FakeTuner()
    tb = gr.top_block()
    src = blocks.vector_source_c(ramp.tolist(), False, 1, tags)
    monitor = scos.radio_monitor(fs)
    stepper = scos.survey_stepper(radio, [101e6, 102e6, 103e6], per_step, settle, {"driver": "fake"}, 1000.0)
    sink = blocks.vector_sink_c()
    tb.connect(src, monitor, stepper, sink)
    tb.run()
    assert stepper.error is None and radio.tuned == [101e6, 102e6, 103e6]
    expected = np.concatenate([ramp[s * 1300 + settle:(s + 1) * 1300] for s in range(3)])
    np.testing.assert_array_equal(np.array(sink.data()), expected)
    tags = {pmt.symbol_to_string(t.key): [] for t in sink.tags()}
    for t in sink.tags():
        tags[pmt.symbol_to_string(t.key)].append((t.offset, pmt.to_python(t.value)))
    assert [(o, v["frequency"], v["index"], v["steps"]) for o, v in tags["scos_step"]] == [
        (0, 101e6, 0, 3), (1000, 102e6, 1, 3), (2000, 103e6, 2, 3)]
    assert tags["scos_radio"] == [(0, {"driver": "fake"})]
    assert tags["scos_dropped"] == [(1000 + 1700 - 1600, {"dropped_samples": 50, "overflows": 1})]
    # the ramp's samples 1000..3999 reach the 1000 V full scale; those in the settling (1300..1599,
    # 2600..2899) are not counted: each step counts exactly its own, from its first one on
    per_step_count: dict[int, int] = {}
    for offset, count in tags["scos_overload"]:
        per_step_count[offset // per_step] = per_step_count.get(offset // per_step, 0) + count
    assert per_step_count == {0: 300, 1: 1000, 2: 1000}
    assert tags["scos_overload"][0][0] == 1000 - 300
    # rx_time offsets would be wrong after the cut: not passed
    assert set(tags) == {"scos_step", "scos_dropped", "scos_radio", "scos_overload"}


def test_survey_through_an_osmosdr_device_retunes_it_per_step(tmp_path):
    """gr-osmosdr's file device stands in for an SDR: the osmosdr path builds, retunes, records."""
    num_ffts, settle = 10, 4096
    n = 9 * (settle + num_ffts * N) + 65536
    t = np.arange(n)
    iq = np.sqrt(50 * 1e-7) * np.exp(2j * np.pi * 3e6 / RATE * t)  # -40 dBm, 3 MHz above any centre
    path = tmp_path / "radio.cf32"
    iq.astype(np.complex64).tofile(path)
    [rec] = survey(tmp_path, radio=f"file={path}", num_ffts=num_ffts, settle_samples=settle).recordings
    meta = json.loads(rec.meta_path.read_text())
    data = sigmffile.fromfile(str(rec.meta_path)).read_samples().reshape(-1, N)
    assert [c["core:frequency"] for c in meta["captures"]] == scos.step_frequencies(698e6, 806e6, RATE, 0.2)
    means = [a for a in meta["annotations"] if a["core:label"] == "mean"]
    assert len(means) == 9
    for ann in means:
        spectrum = data[ann["core:sample_start"] // N]
        assert np.argmax(spectrum) == N // 2 + 200  # 3 MHz = 200 bins of 15 kHz
        power = 10 * np.log10((10 ** (spectrum[N // 2 + 195:N // 2 + 206] / 10)).sum())
        assert abs(power + 40.0) < 0.1
    assert meta["global"]["scos-gr:dropped_samples"] == 0


def test_the_survey_is_calibrated_at_the_band_centre(tmp_path):
    table = tmp_path / "cal.yml"
    table.write_text("points:\n  - {frequency: 600e6, gain_db: 10.0}\n  - {frequency: 904e6, gain_db: 2.0}\n")
    [rec] = survey(tmp_path, num_ffts=10, calibration=load_calibration(table)).recordings
    captures = json.loads(rec.meta_path.read_text())["captures"]
    # every step carries the calibration applied to its data: the one at the band centre (752 MHz)
    assert [c["ntia-sensor:sensor_calibration"]["gain"] for c in captures] == [pytest.approx(6.0)] * 9
    found, _ = found_tones(rec.meta_path)
    for (_, power), (_, got) in zip(TONES, found):
        assert got == pytest.approx(power - 6.0, abs=0.5)  # referred to the antenna: minus the 6 dB gain


def test_a_tone_above_full_scale_overloads_only_the_steps_that_see_it(tmp_path):
    """+15 dBm at 751 MHz peaks at 1.26 V, above the sim's 1 V full scale: only step 4
    (745.5-761.0 MHz) sees it, so only its capture is overloaded and counts samples."""
    [rec] = survey(tmp_path, radio="sim,band=751e6:15", num_ffts=10).recordings
    captures = json.loads(rec.meta_path.read_text())["captures"]
    assert [c["ntia-sensor:overload"] for c in captures] == [k == 4 for k in range(9)]
    assert captures[4]["scos-gr:overload_samples"] > 0
    assert all(c["scos-gr:overload_samples"] == 0 for k, c in enumerate(captures) if k != 4)
