"""acquire700c through the real runner: physics on the simulated radio and on an osmosdr IQ file,
for every FFT window set in its one place, calibration, overload, failure injection, and the .grc
files against the scos block definitions."""
from __future__ import annotations

import dataclasses
import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from scos_gr.flowgraphs.catalogue import DEFAULT_CATALOGUE, load_catalogue
from scos_gr.flowgraphs.compiler import compile_flowgraph
from scos_gr.calibration import Calibration, CalibrationPoint
from scos_gr.flowgraphs.runner import RadioFailure, run_action
from scos_gr.sigmf_out.context import ScheduleInfo, TaskContext
from scos_gr.sigmf_out.windows import enbw_hz

FLOWGRAPHS = Path(__file__).resolve().parents[2] / "flowgraphs"
FS, N, K = 15.36e6, 1024, 300
TONE_BIN = N // 2 + round(1e6 / (FS / N))  # +1 MHz: 66.67 bins above the centre


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("grc-cache")


def _run(radio: str, out: Path, cache_dir: Path, basename: str = "rec", gain_correction_db: float = 0.0,
         action=None):
    context = TaskContext(task_id=7, schedule=ScheduleInfo(name="phys"))
    calibration = Calibration(points=(CalibrationPoint(0.0, -gain_correction_db, None),), reference="antenna input")
    result = run_action(action or load_catalogue(DEFAULT_CATALOGUE)["acquire700c"], radio=radio, output_dir=out,
                        basename=basename, context=context, calibration=calibration, cache_dir=cache_dir, timeout_s=60)
    [recording] = result.recordings
    spectra = np.fromfile(recording.data_path, dtype="<f4").reshape(-1, N)
    return spectra, recording.metadata


def _assert_physics(spectra: np.ndarray, half_width: int = 5) -> None:
    """The tone's bins (+-half_width around it: a window's main lobe) integrate to -40 dBm; the
    noise floor per bin is the noise power over N, whatever the window."""
    assert spectra.shape == (5, N)
    minimum, maximum, mean, median, sample = spectra
    bins = mean[TONE_BIN - half_width:TONE_BIN + half_width + 1].astype(np.float64)
    tone = 10 * math.log10(np.sum(10 ** (bins / 10)))
    assert tone == pytest.approx(-40.0, abs=0.1)
    assert int(np.argmax(mean)) in (TONE_BIN, TONE_BIN - 1)
    assert float(np.median(mean)) == pytest.approx(-60 - 10 * math.log10(N), abs=0.3)
    assert np.all(minimum <= median + 1e-4) and np.all(median <= maximum + 1e-4)
    assert np.all(minimum <= mean + 1e-4) and np.all(mean <= maximum + 1e-4)
    assert np.all((minimum <= sample + 1e-4) & (sample <= maximum + 1e-4))
    # the median of exponential noise power sits ln(2) below its mean: -1.59 dB
    noise = np.r_[0:400, 700:N]
    assert float(np.median(median[noise] - mean[noise])) == pytest.approx(10 * math.log10(math.log(2)), abs=0.15)


def test_default_sim_signal_through_acquire700c(tmp_path, cache_dir):
    spectra, metadata = _run("sim", tmp_path, cache_dir)
    _assert_physics(spectra)
    g = metadata["global"]
    assert g["core:sample_rate"] == FS and g["scos-gr:dropped_samples"] == 0
    assert metadata["captures"][0]["core:frequency"] == 751e6
    assert [a["core:label"] for a in metadata["annotations"]] == ["min", "max", "mean", "median", "sample"]
    [dft] = g["ntia-algorithm:processing_info"]
    assert (dft["dfts"], dft["samples"], dft["window"]) == (K, N, "blackman")
    assert g["ntia-scos:task"] == 7
    assert metadata["captures"][0]["ntia-sensor:overload"] is False
    assert metadata["captures"][0]["ntia-sensor:sigan_settings"] == {"gain": 40.0}


def _with_window(tmp_path: Path, window: str):
    """acquire700c with its FFT window changed in its one place: the fft_window Parameter's value,
    as a GRC user edits it (the FFT's taps and power_stats both use it)."""
    document = yaml.safe_load((FLOWGRAPHS / "acquire700c.grc").read_text())
    [parameter] = [b for b in document["blocks"] if b["name"] == "fft_window"]
    parameter["parameters"]["value"] = window
    edited = tmp_path / "flowgraphs"
    edited.mkdir()
    (edited / "acquire700c.grc").write_text(yaml.safe_dump(document, sort_keys=False))
    return dataclasses.replace(load_catalogue(DEFAULT_CATALOGUE)["acquire700c"], base_dir=edited)


@pytest.mark.parametrize("window, ntia_name, half_width", [
    ("blackman", "blackman", 5), ("hann", "hanning", 5), ("flattop", "flattop", 10)])
def test_the_window_edited_in_one_place_gives_right_physics_and_metadata(tmp_path, cache_dir, window, ntia_name,
                                                                          half_width):
    spectra, metadata = _run("sim", tmp_path / "out", cache_dir, action=_with_window(tmp_path, window))
    _assert_physics(spectra, half_width)
    [dft] = metadata["global"]["ntia-algorithm:processing_info"]
    assert dft["window"] == ntia_name
    assert dft["equivalent_noise_bandwidth"] == pytest.approx(enbw_hz(window, N, FS), rel=1e-9)


def test_calibration_gain_correction_shifts_every_detector(tmp_path, cache_dir):
    plain, _ = _run("sim,seed=5", tmp_path / "a", cache_dir)
    shifted, metadata = _run("sim,seed=5", tmp_path / "b", cache_dir, gain_correction_db=-2.5)
    np.testing.assert_allclose(shifted, plain - 2.5, atol=2e-4)
    [capture] = metadata["captures"]
    assert capture["ntia-sensor:sensor_calibration"] == {"gain": 2.5, "reference": "antenna input"}
    assert metadata["global"]["ntia-algorithm:data_products"][0]["reference"] == "antenna input"


def test_a_tone_above_full_scale_marks_the_capture_overloaded(tmp_path, cache_dir):
    """+15 dBm peaks at 1.26 V on I and Q: above the sim's 1 V full scale, clipped and counted."""
    _, loud = _run("sim,tones=1e6:15", tmp_path, cache_dir, basename="loud")
    [capture] = loud["captures"]
    assert capture["ntia-sensor:overload"] is True
    assert 0 < capture["scos-gr:overload_samples"] <= N * K
    _, quiet = _run("sim,tones=1e6:15,full_scale=2.0", tmp_path, cache_dir, basename="quiet")
    assert quiet["captures"][0]["ntia-sensor:overload"] is False
    assert quiet["captures"][0]["scos-gr:overload_samples"] == 0


def test_same_physics_through_an_osmosdr_iq_file(tmp_path, cache_dir):
    rng = np.random.default_rng(11)
    n = N * K + 4096
    t = np.arange(n)
    sigma = math.sqrt(50 * 1e-9 / 2)  # -60 dBm total, half in I, half in Q
    iq = math.sqrt(50 * 1e-7) * np.exp(2j * np.pi * 1e6 / FS * t)
    iq = iq + sigma * (rng.standard_normal(n) + 1j * rng.standard_normal(n))
    path = tmp_path / "capture.cf32"
    iq.astype(np.complex64).tofile(path)
    spectra, metadata = _run(f"file={path}", tmp_path / "out", cache_dir)
    _assert_physics(spectra)
    assert metadata["global"]["scos-gr:dropped_samples"] == 0
    assert metadata["global"]["core:hw"] == f"gr-osmosdr (file={path})"
    assert metadata["captures"][0]["ntia-sensor:overload"] is False


def test_fail_every_two_second_run_is_a_radio_failure_and_leaves_nothing(tmp_path, cache_dir):
    from gnuradio import scos

    scos.reset_failure_counters()
    first, _ = _run("sim,fail_every=2", tmp_path, cache_dir, basename="one")
    assert first.shape == (5, N)
    with pytest.raises(RadioFailure, match="simulated radio failure"):
        _run("sim,fail_every=2", tmp_path, cache_dir, basename="two")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["one.sigmf-data", "one.sigmf-meta"]
    third, _ = _run("sim,fail_every=2", tmp_path, cache_dir, basename="three")  # the radio recovers
    assert third.shape == (5, N)


def test_every_grc_compiles_headless(cache_dir):
    grc_files = sorted(FLOWGRAPHS.glob("*.grc"))
    assert grc_files
    for grc in grc_files:
        compiled = compile_flowgraph(grc, cache_dir)
        assert "from gnuradio import scos" in compiled.module_path.read_text()


COMMON_PARAMETERS = {"affinity", "alias", "comment", "maxoutbuf", "minoutbuf"}


def test_scos_blocks_in_the_grc_files_use_the_installed_definitions():
    """A GRC user opening the .grc must see every parameter: ids and names must match the yml."""
    import sys

    installed = Path(sys.prefix) / "share" / "gnuradio" / "grc" / "blocks"
    definitions = {}
    for yml in installed.glob("scos_*.block.yml"):
        doc = yaml.safe_load(yml.read_text())
        definitions[doc["id"]] = {p["id"] for p in doc["parameters"]}
    assert {"scos_radio_source", "scos_sim_source", "scos_power_stats", "scos_sigmf_sink"} <= set(definitions)
    for grc in FLOWGRAPHS.glob("*.grc"):
        for block in yaml.safe_load(grc.read_text())["blocks"]:
            if block["id"].startswith("scos_"):
                assert set(block["parameters"]) - COMMON_PARAMETERS == definitions[block["id"]], (grc.name, block["name"])


def test_catalogue_action_declares_every_runner_parameter():
    action = load_catalogue(DEFAULT_CATALOGUE)["acquire700c"]
    doc = yaml.safe_load((FLOWGRAPHS / action.flowgraph).read_text())
    parameters = {b["name"] for b in doc["blocks"] if b["id"] == "parameter"}
    assert {"radio_args", "frequency", "sample_rate", "fft_size", "num_ffts", "fft_window", "gain", "cal_gain_db",
            "output_dir", "basename", "metadata_json"} <= parameters
    assert json.loads(next(b for b in doc["blocks"] if b["name"] == "metadata_json")["parameters"]["value"]) == {}


def test_gnuradio_companion_loads_and_validates_acquire700c(monkeypatch):
    """What GRC does when a user opens the file: every block known, every parameter valid."""
    import sys

    from gnuradio import gr
    from gnuradio.grc.core.platform import Platform

    installed = Path(sys.prefix) / "share" / "gnuradio" / "grc" / "blocks"
    monkeypatch.setenv("GRC_BLOCKS_PATH", f"/usr/share/gnuradio/grc/blocks:{installed}")
    platform = Platform(version=gr.version(), prefs=None,
                        version_parts=(gr.major_version(), gr.api_version(), gr.minor_version()))
    platform.build_library()
    for block_id in ("scos_radio_source", "scos_sim_source", "scos_power_stats", "scos_sigmf_sink"):
        assert platform.blocks[block_id].category == ["scos"]
    flowgraph = platform.make_flow_graph(str(FLOWGRAPHS / "acquire700c.grc"))
    flowgraph.rewrite()
    flowgraph.validate()
    assert flowgraph.is_valid(), flowgraph.get_error_messages()
    assert {b.key for b in flowgraph.blocks} >= {"scos_radio_source", "scos_power_stats", "scos_sigmf_sink"}
