"""sea_700MHz: the real flowgraph (compiled from its .grc by GRC) on the simulated radio, whose
signal the test places, and the physics its data products must show."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from gnuradio.scos.receiver import BOLTZMANN_J_PER_K, T0_K
from scos_gr.calibration import UNCALIBRATED, parse_calibration
from scos_gr.flowgraphs.catalogue import DEFAULT_CATALOGUE, load_catalogue
from scos_gr.flowgraphs.runner import ActionError, run_action
from scos_gr.sigmf_out.context import ScheduleInfo, TaskContext
from scos_gr.sigmf_out.products import capture_products, channel_summaries, read_products
from tests.sigmf_out.ntia_v2 import problems

RATE = 14e6
#: a short capture per channel keeps the tests quick: 200 ms (20 PVT bins, 20 PFP frames)
SHORT = {"duration_ms": 200.0}


def sea(tmp_path, radio: str, basename: str = "sea_1", calibration=UNCALIBRATED, **parameters):
    action = load_catalogue(DEFAULT_CATALOGUE)["sea_700MHz"]
    action = replace(action, parameters={**action.parameters, **SHORT, **parameters})
    result = run_action(action, radio=radio, output_dir=tmp_path / "out", basename=basename, calibration=calibration,
                        context=TaskContext(task_id=1, schedule=ScheduleInfo(name="sea")), cache_dir=tmp_path / "cache",
                        timeout_s=120)
    [recording] = result.recordings
    metadata, captures = read_products(recording.meta_path)
    assert problems(metadata, recording.data_bytes) == []
    return metadata, captures


def product(capture, name):
    return next(p for p in capture.products if p.name == name)


def dbm_sum(values: np.ndarray) -> float:
    return 10 * math.log10(np.sum(10 ** (values.astype(np.float64) / 10)))


def test_the_apd_of_white_noise_is_rayleigh_over_four_decades(tmp_path):
    noise_dbm = -60.0
    _, [capture] = sea(tmp_path, f"sim,tones=none,noise_dbm={noise_dbm:g}", frequencies=[751e6],
                       apd_min_dbm=-100.0, apd_max_dbm=-40.0, apd_step_db=0.5)
    apd = product(capture, "Amplitude Probability Distribution")
    assert apd.axis_is_y and apd.axis_units == "dBm" and apd.values_units == "percent"
    levels, percent = apd.axis, apd.series["Amplitude Probability Distribution"]
    assert percent[0] == pytest.approx(100 * math.exp(-1e-4), abs=5e-3) and percent[-1] == 0.0  # -100 and -40 dBm
    assert np.all(np.diff(percent) <= 0)
    # Rayleigh: P(|x|^2 > A^2) = exp(-A^2 / P); the level theory gives for each measured fraction
    fraction = percent / 100.0
    used = (fraction <= 0.99) & (fraction >= 1e-4)
    theory_dbm = 10 * np.log10(-10 ** (noise_dbm / 10) * np.log(fraction[used]))
    assert np.max(np.abs(theory_dbm - levels[used])) < 0.5
    assert fraction[used].max() > 0.9 and fraction[used].min() < 2e-4  # four decades and more


def test_psd_and_pvt_of_noise_plus_a_tone_integrate_to_their_known_powers(tmp_path):
    metadata, captures = sea(tmp_path, "sim,tones=1e6:-40,noise_dbm=-55", frequencies=[739e6, 763e6])
    total = 10 * math.log10(10 ** (-40 / 10) + 10 ** (-55 / 10))
    summaries = channel_summaries(metadata)
    for k, capture in enumerate(captures):
        psd = product(capture, "Power Spectral Density")
        assert list(psd.series) == ["mean", "max"] and psd.axis_units == "Hz" and psd.values_units == "dBm"
        assert dbm_sum(psd.series["mean"]) == pytest.approx(total, abs=0.1)
        peak = int(np.argmax(psd.series["mean"]))
        assert abs(psd.axis[peak] - (capture.frequency + 1e6)) <= 80e3  # the tone, one 80 kHz bin
        pvt = product(capture, "Power vs. Time")
        assert list(pvt.series) == ["mean", "max"] and len(pvt.axis) == 20 and pvt.axis[1] - pvt.axis[0] == 10.0
        mean_w = 10 ** (pvt.series["mean"].astype(np.float64) / 10)
        assert 10 * math.log10(mean_w.mean()) == pytest.approx(total, abs=0.1)
        assert np.all(np.abs(pvt.series["mean"] - total) < 0.1)
        assert np.all(pvt.series["max"] > pvt.series["mean"] + 3)  # the peaks of noise over a tone
        # the channel power summaries agree with the products they come from
        assert summaries["mean_channel_powers"][k] == pytest.approx(total, abs=0.1)
        assert summaries["max_of_max_channel_powers"][k] == pytest.approx(float(pvt.series["max"].max()), abs=0.01)
        assert summaries["median_of_mean_channel_powers"][k] == pytest.approx(
            10 * math.log10(np.median(mean_w)), abs=0.01)
    assert [c.frequency for c in captures] == [739e6, 763e6]


def test_pfp_shows_the_frames_on_and_off_parts_where_the_sim_puts_them(tmp_path):
    # a 30 % duty TDD frame of 10 ms; 140000 settling samples (one frame) keep the capture in phase
    # with the sim's frame, so the on part is the first 3 ms of the PFP's frame
    _, [capture] = sea(tmp_path, "sim,tones=2e6:-40,noise_dbm=-70,pulse=10e-3:0.3", frequencies=[751e6],
                       settle_samples=140_000)
    pfp = product(capture, "Periodic Frame Power")
    assert list(pfp.series) == ["min-of-mean", "max-of-mean", "mean-of-mean", "min-of-max", "max-of-max", "mean-of-max"]
    assert len(pfp.axis) == 560 and pfp.axis_units == "ms" and pfp.axis[-1] == pytest.approx(10 - 10 / 560)
    on_power = 10 * math.log10(10 ** -4 + 10 ** -7)
    on, off = pfp.axis < 3.0 - 1e-9, pfp.axis >= 3.0
    mean = pfp.series["mean-of-mean"]
    assert np.all(np.abs(mean[on] - on_power) < 0.1)
    assert np.all(np.abs(mean[off] - (-70.0)) < 0.5)
    # every frame is alike: where the tone sounds, the window means of all frames agree closely;
    # where it does not, they are means of 250 noise samples (0.3 dB of spread each)
    spread = pfp.series["max-of-mean"] - pfp.series["min-of-mean"]
    assert np.all(spread[on] < 0.1) and np.all(spread[off] < 3.0)
    assert np.all(pfp.series["mean-of-max"] >= mean)
    pvt = product(capture, "Power vs. Time")  # 10 ms bins hold one frame each: 30 % of the tone
    assert np.all(np.abs(pvt.series["mean"] - 10 * math.log10(0.3 * 1e-4 + 1e-7)) < 0.1)


def test_the_calibration_gain_correction_applies_to_every_product(tmp_path):
    calibration = parse_calibration({"calibration_datetime": "2026-11-01T00:00:00Z", "reference": "noise source output",
                                     "points": [{"frequency": 751e6, "gain_db": 6.0, "noise_figure_db": 4.0}]})
    radio = "sim,tones=none,noise_dbm=-50,gain_db=6"
    metadata, [capture] = sea(tmp_path, radio, frequencies=[751e6], calibration=calibration)
    assert dbm_sum(product(capture, "Power Spectral Density").series["mean"]) == pytest.approx(-50.0, abs=0.1)
    assert channel_summaries(metadata)["mean_channel_powers"][0] == pytest.approx(-50.0, abs=0.1)
    apd = product(capture, "Amplitude Probability Distribution")
    median_level = apd.axis[np.argmin(np.abs(apd.series["Amplitude Probability Distribution"] - 50.0))]
    assert median_level == pytest.approx(-50.0 + 10 * math.log10(math.log(2)), abs=0.6)
    assert channel_summaries(metadata)["median_channel_powers"][0] == pytest.approx(
        -50.0 + 10 * math.log10(math.log(2)), abs=0.05)  # the median of exponential power: P ln 2
    for graph in metadata["global"]["ntia-algorithm:data_products"]:
        assert graph["reference"] == "noise source output"
    assert metadata["captures"][0]["ntia-sensor:sensor_calibration"]["gain"] == 6.0


def test_the_recording_holds_one_graph_per_product_and_a_capture_per_channel(tmp_path):
    metadata, captures = sea(tmp_path, "sim")
    g = metadata["global"]
    assert [graph["name"] for graph in g["ntia-algorithm:data_products"]] == [
        "Power Spectral Density", "Amplitude Probability Distribution", "Power vs. Time", "Periodic Frame Power"]
    [dft] = g["ntia-algorithm:processing_info"]
    assert (dft["type"], dft["samples"], dft["window"], dft["dfts"]) == ("DFT", 175, "flattop", 16000)
    assert [c["core:frequency"] for c in metadata["captures"]] == [739e6, 751e6, 763e6]
    assert all(c["ntia-sensor:duration"] == 200 for c in metadata["captures"])
    assert {e["name"] for e in g["core:extensions"]} >= {"ntia-algorithm", "ntia-nasctn-sea"}
    assert all(len(v) == 3 for v in channel_summaries(metadata).values()) and len(channel_summaries(metadata)) == 4
    assert len(captures) == 3


def test_products_whose_bins_do_not_fit_the_capture_fail_the_task_naming_them(tmp_path):
    with pytest.raises(ActionError, match=r"pvt: a capture of 2800000 samples is not a whole number of 30 ms bins"):
        sea(tmp_path, "sim", frequencies=[751e6], pvt_bin_ms=30.0)
    assert not list((tmp_path / "out").glob("*.sigmf-*"))


def test_the_numpy_way_on_the_same_samples_gives_the_same_products(tmp_path):
    """The flowgraph's products against numpy on the capture itself (the same period of the sim's
    signal, regenerated), computed the way scos-actions does: the whole capture in memory."""
    from gnuradio.fft import window as gr_window

    from gnuradio.scos.sim import SIM_MIN_PERIOD, _periodic_length, sim_samples

    radio = "sim,tones=3e6:-45,noise_dbm=-60,seed=7"
    settle, samples = 140_000, 2_800_000
    _, [capture] = sea(tmp_path, radio, frequencies=[751e6], settle_samples=settle)
    seed = int(np.random.SeedSequence([7, 751_000_000, 0]).generate_state(1)[0])
    length = _periodic_length([3e6], RATE, SIM_MIN_PERIOD, 1 << 24)
    period = sim_samples(RATE, [(3e6, -45.0)], -60.0, seed, length, True, 1.0)
    x = np.resize(period, settle + samples)[settle:].astype(np.complex128)
    power = np.abs(x) ** 2 / 50
    mean = 10 * np.log10(power.reshape(20, -1).mean(axis=1)) + 30
    assert np.allclose(product(capture, "Power vs. Time").series["mean"], mean, atol=1e-3)
    w = np.asarray(gr_window.flattop(175))
    spectra = np.abs(np.fft.fftshift(np.fft.fft(x.reshape(-1, 175) * w, axis=1), axes=1)) ** 2 / (175 * np.sum(w * w) * 50)
    assert np.allclose(product(capture, "Power Spectral Density").series["max"], 10 * np.log10(spectra.max(axis=0)) + 30,
                       atol=1e-3)
