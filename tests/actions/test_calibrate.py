"""calibrate: the real flowgraph (its .grc compiled by GRC) measures the simulated receiver by the
Y-factor method with its noise diode; the result is stored as the sensor's calibration, and a later
recording is corrected by it and says so."""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import yaml

from scos_gr.calibration import UNCALIBRATED, load_calibration, load_sensor_calibration
from scos_gr.flowgraphs.catalogue import DEFAULT_CATALOGUE, load_catalogue
from scos_gr.flowgraphs.runner import RadioFailure, run_action
from scos_gr.sigmf_out.context import ScheduleInfo, TaskContext
from scos_gr.sigmf_out.spectra import read_detector_spectra
from tests.sigmf_out.ntia_v2 import problems

CATALOGUE = load_catalogue(DEFAULT_CATALOGUE)


def calibrate(tmp_path, radio: str, frequencies, target: Path | None, **parameters):
    action = replace(CATALOGUE["calibrate"], parameters={**CATALOGUE["calibrate"].parameters, **parameters})
    return run_action(action, radio=radio, output_dir=tmp_path / "out", basename="cal_1",
                      context=TaskContext(task_id=1, schedule=ScheduleInfo(name="cal")), cache_dir=tmp_path / "cache",
                      catalogue_frequencies=frequencies, calibration_file=target, timeout_s=120)


@pytest.mark.parametrize("gain_db, nf_db, enr_db", [(10.0, 5.0, 15.0), (30.0, 2.5, 20.0), (-6.0, 11.0, 15.0),
                                                    (0.0, None, 15.0)])
def test_the_measured_gain_and_noise_figure_are_the_receivers_within_0_3_db(tmp_path, gain_db, nf_db, enr_db):
    radio = f"sim,gain_db={gain_db:g},enr_db={enr_db:g}" + (f",nf_db={nf_db:g}" if nf_db is not None else "")
    target = tmp_path / "data" / "onboard-calibration.yml"
    before = dt.datetime.now(dt.timezone.utc)
    result = calibrate(tmp_path, radio, [739e6, 751e6, 763e6], target)
    assert result.recordings == []  # it records nothing: it stores the calibration
    stored = load_calibration(target)
    assert [p.frequency for p in stored.points] == [739e6, 751e6, 763e6]
    for point in stored.points:
        assert point.gain_db == pytest.approx(gain_db, abs=0.3)
        assert point.noise_figure_db == pytest.approx(nf_db or 0.0, abs=0.3)
    assert stored.reference == "noise source output" and stored.temperature_c == pytest.approx(16.85)
    taken = dt.datetime.fromisoformat(stored.calibration_datetime.replace("Z", "+00:00"))
    assert before <= taken <= dt.datetime.now(dt.timezone.utc)
    [measured] = result.measurements.values()
    assert measured["stored in"] == str(target) and "gain" in measured["751 MHz"]
    assert "751 MHz" in result.log and "noise figure" in result.log  # the task's detail says what was measured
    assert not [p for p in target.parent.iterdir() if p.name != target.name]  # atomic: no temporary file left


def test_without_a_calibration_file_it_measures_and_stores_nothing(tmp_path):
    result = calibrate(tmp_path, "sim,gain_db=3", [751e6], None)
    [measured] = result.measurements.values()
    assert "stored in" not in measured and "gain 3.0" in measured["751 MHz"]


def test_the_catalogue_frequencies_are_every_frequency_its_actions_measure_at():
    from scos_gr.flowgraphs.catalogue import check_catalogue

    catalogue = check_catalogue(DEFAULT_CATALOGUE, Path("/tmp/scos-gr-test-cache"))
    assert catalogue.measurement_frequencies() == [739e6, 751e6, 752e6, 763e6]  # the survey's band centre: 752 MHz


def test_a_later_recording_is_corrected_by_the_stored_calibration_and_says_so(tmp_path):
    radio = "sim,gain_db=10,nf_db=5"  # the receiver lifts the -40 dBm tone to -30 dBm at the samples
    onboard = tmp_path / "data" / "onboard-calibration.yml"
    calibrate(tmp_path, radio, [751e6], onboard)
    calibration = load_sensor_calibration(None, onboard)
    result = run_action(CATALOGUE["acquire700c"], radio=radio, output_dir=tmp_path / "out", basename="acq_1",
                        calibration=calibration, context=TaskContext(task_id=2, schedule=ScheduleInfo(name="acq")),
                        cache_dir=tmp_path / "cache")
    [recording] = result.recordings
    applied = recording.metadata["captures"][0]["ntia-sensor:sensor_calibration"]
    stored = load_calibration(onboard).points[0]
    assert applied["gain"] == stored.gain_db and applied["noise_figure"] == stored.noise_figure_db
    assert applied["reference"] == "noise source output" and applied["temperature"] == pytest.approx(16.85)
    assert applied["datetime"].startswith(load_calibration(onboard).calibration_datetime[:19])
    assert problems(recording.metadata, recording.data_bytes) == []
    spectra = read_detector_spectra(recording.meta_path)
    mean = spectra.spectra["mean"].astype(np.float64)
    peak = int(np.argmax(mean))
    tone = 10 * math.log10(np.sum(10 ** (mean[peak - 5:peak + 6] / 10)))
    assert tone == pytest.approx(-40.0, abs=0.3)  # at the reference point again, not -30


def test_a_radio_without_a_noise_diode_fails_and_the_old_calibration_stays(tmp_path):
    onboard = tmp_path / "onboard-calibration.yml"
    onboard.write_text("calibration_datetime: '2026-01-01T00:00:00Z'\npoints:\n  - {frequency: 7.51e+8, gain_db: 1.0}\n")
    before = onboard.read_text()
    with pytest.raises(RadioFailure, match="noise diode"):
        calibrate(tmp_path, "rtl=0", [751e6], onboard)
    assert onboard.read_text() == before


def test_the_calibrate_action_is_for_admins_and_records_nothing():
    action = CATALOGUE["calibrate"]
    assert action.admin_only and not action.records
    assert load_sensor_calibration(None, None) is UNCALIBRATED


def test_the_stored_file_is_what_the_calibration_file_format_reads(tmp_path):
    onboard = tmp_path / "data" / "onboard-calibration.yml"
    calibrate(tmp_path, "sim,gain_db=7,nf_db=3", [751e6, 763e6], onboard)
    document = yaml.safe_load(onboard.read_text())
    assert set(document) == {"calibration_datetime", "reference", "points", "temperature_c"}
    assert [set(p) for p in document["points"]] == [{"frequency", "gain_db", "noise_figure_db"}] * 2
