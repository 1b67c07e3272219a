"""The onboard calibration (what the calibrate action stores): written atomically, winning over
SCOS_CALIBRATION_FILE where it covers, and its age turned into a /status fault."""
from __future__ import annotations

import os

import pytest

from scos_gr.calibration import (
    UNCALIBRATED, CalibrationError, CalibrationPoint, LayeredCalibration, calibration_fault, load_calibration,
    load_sensor_calibration, write_calibration,
)
from scos_gr.config import load_settings
from scos_gr.errors import ConfigError

FILE = """\
calibration_datetime: "2026-11-01T00:00:00Z"
reference: "antenna terminal"
points:
  - {frequency: 7.0e+8, gain_db: 4.0, noise_figure_db: 5.0}
  - {frequency: 8.0e+8, gain_db: 2.0, noise_figure_db: 6.0}
"""
NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z
ISO_NOW = "2027-01-15T08:00:00Z"


def onboard(tmp_path, when: str = ISO_NOW, frequencies=(739e6, 763e6)):
    return write_calibration(tmp_path / "data" / "onboard-calibration.yml",
                             [CalibrationPoint(f, 10.0 + k, 5.0) for k, f in enumerate(frequencies)],
                             calibration_datetime=when, reference="noise source output", temperature_c=16.85)


def test_written_atomically_read_back_with_its_temperature(tmp_path):
    path = onboard(tmp_path)
    cal = load_calibration(path)
    assert cal.at(751e6) == {"gain_db": 10.5, "gain_correction_db": -10.5, "noise_figure_db": 5.0,
                             "reference": "noise source output", "calibration_datetime": ISO_NOW,
                             "source": str(path.resolve()), "temperature_c": 16.85, "frequency": 751e6}
    assert sorted(p.name for p in path.parent.iterdir()) == ["onboard-calibration.yml"]
    first_inode = path.stat().st_ino
    onboard(tmp_path, frequencies=(751e6,))  # rewritten: a new file renamed over the old one
    assert path.stat().st_ino != first_inode and load_calibration(path).at(751e6)["gain_db"] == 10.0


def test_a_table_that_cannot_be_read_back_is_never_written(tmp_path):
    target = tmp_path / "onboard.yml"
    with pytest.raises(CalibrationError, match="two points"):
        write_calibration(target, [CalibrationPoint(7e8, 1.0, None), CalibrationPoint(7e8, 2.0, None)],
                          calibration_datetime=ISO_NOW, reference="x")
    assert not target.exists() and not list(tmp_path.iterdir())


def test_the_onboard_calibration_wins_where_it_covers_the_file_elsewhere(tmp_path):
    (tmp_path / "cal.yml").write_text(FILE)
    layered = load_sensor_calibration(tmp_path / "cal.yml", onboard(tmp_path))
    assert isinstance(layered, LayeredCalibration)
    assert layered.at(751e6)["gain_db"] == 10.5 and layered.at(751e6)["reference"] == "noise source output"
    assert layered.at(739e6)["gain_db"] == 10.0 and layered.at(763e6)["gain_db"] == 11.0  # the ends are covered
    assert layered.at(790e6)["gain_db"] == pytest.approx(2.2) and layered.at(790e6)["reference"] == "antenna terminal"
    assert layered.at(None)["gain_db"] == 10.0
    described = layered.describe()
    assert described["covers"] == [739e6, 763e6] and described["outside"]["reference"] == "antenna terminal"
    # without a file the onboard table holds everywhere (nearest point outside); without it, the file's
    assert load_sensor_calibration(None, tmp_path / "data" / "onboard-calibration.yml").at(790e6)["gain_db"] == 11.0
    assert load_sensor_calibration(tmp_path / "cal.yml", tmp_path / "nothing.yml").at(751e6)["gain_db"] == \
        pytest.approx(2.98)
    assert load_sensor_calibration(None, tmp_path / "nothing.yml") is UNCALIBRATED


def test_no_age_required_no_fault(tmp_path):
    assert calibration_fault(None, tmp_path / "none.yml", None, NOW) is None


def test_a_calibration_older_than_the_maximum_age_is_a_fault_since_it_turned_old(tmp_path):
    path = onboard(tmp_path, when="2027-01-14T08:00:00Z")  # a day old
    assert calibration_fault(None, path, 2 * 86400, NOW) is None
    fault = calibration_fault(None, path, 3600, NOW)
    assert fault.kind == "calibration" and fault.since == NOW - 86400 + 3600
    assert "24.0 hours old" in fault.detail and "older than SCOS_CALIBRATION_MAX_AGE (3600 s)" in fault.detail
    assert "run the calibrate action" in fault.detail and str(path.resolve()) in fault.detail


def test_no_calibration_or_one_without_a_time_is_a_fault_when_an_age_is_required(tmp_path):
    fault = calibration_fault(None, tmp_path / "none.yml", 3600, NOW)
    assert fault.kind == "calibration" and "no calibration" in fault.detail and fault.since == NOW
    assert calibration_fault(None, tmp_path / "none.yml", 3600, NOW + 60).since == NOW  # steady while it lasts
    onboard(tmp_path)
    assert calibration_fault(None, tmp_path / "data" / "onboard-calibration.yml", 3600, NOW + 120) is None
    assert calibration_fault(None, tmp_path / "none.yml", 3600, NOW + 180).since == NOW + 180  # back: a new since
    (tmp_path / "cal.yml").write_text("points:\n  - {frequency: 7.0e+8, gain_db: 4.0}\n")
    fault = calibration_fault(tmp_path / "cal.yml", tmp_path / "none.yml", 3600, NOW)
    assert "says no calibration_datetime" in fault.detail
    (tmp_path / "bad.yml").write_text("points: 3\n")
    assert "cannot be read" in calibration_fault(tmp_path / "bad.yml", None, 3600, NOW).detail


def test_the_file_alone_is_judged_by_its_own_time(tmp_path):
    (tmp_path / "cal.yml").write_text(FILE)  # measured 2026-11-01: months before NOW
    fault = calibration_fault(tmp_path / "cal.yml", tmp_path / "none.yml", 30 * 86400, NOW)
    assert "days old" in fault.detail and "cal.yml" in fault.detail


def test_the_maximum_age_setting_is_validated(tmp_path):
    base = {"SCOS_DATA_DIR": str(tmp_path)}
    assert load_settings(base).calibration_max_age_s is None
    assert load_settings({**base, "SCOS_CALIBRATION_MAX_AGE": "86400"}).calibration_max_age_s == 86400.0
    for bad in ("a day", "-5", "0", "inf"):
        with pytest.raises(ConfigError, match="SCOS_CALIBRATION_MAX_AGE"):
            load_settings({**base, "SCOS_CALIBRATION_MAX_AGE": bad})
    assert load_settings(base).onboard_calibration_file == (tmp_path / "onboard-calibration.yml").resolve()


def test_an_operator_can_remove_the_onboard_calibration(tmp_path):
    (tmp_path / "cal.yml").write_text(FILE)
    path = onboard(tmp_path)
    os.unlink(path)
    assert load_sensor_calibration(tmp_path / "cal.yml", path).at(751e6)["reference"] == "antenna terminal"
