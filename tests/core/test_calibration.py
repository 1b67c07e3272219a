"""Calibration file parsing and interpolation (the flowgraph-level +3 dB test lives with the blocks)."""
from __future__ import annotations

import pytest

from scos_gr.calibration import UNCALIBRATED, CalibrationError, load_calibration, parse_calibration

TABLE = {
    "calibration_datetime": "2026-11-01T00:00:00Z",
    "points": [
        {"frequency": 800e6, "gain_db": 2.0, "noise_figure_db": 6.0},
        {"frequency": 700e6, "gain_db": 4.0, "noise_figure_db": 5.0},
    ],
}


def test_interpolates_linearly_between_points_and_holds_outside():
    cal = parse_calibration(TABLE)
    mid = cal.at(751e6)
    assert mid["gain_db"] == pytest.approx(4.0 - 2.0 * 0.51)
    assert mid["noise_figure_db"] == pytest.approx(5.0 + 0.51)
    assert mid["gain_correction_db"] == pytest.approx(-mid["gain_db"])
    assert cal.at(100e6)["gain_db"] == 4.0  # below the table: nearest point, no extrapolation
    assert cal.at(6e9)["gain_db"] == 2.0
    assert cal.at(None)["gain_db"] == 4.0


def test_uncalibrated_corrects_nothing():
    assert UNCALIBRATED.at(751e6)["gain_correction_db"] == 0.0
    assert load_calibration(None) is UNCALIBRATED


@pytest.mark.parametrize("document, field", [
    ({}, "points"),
    ({"points": []}, "points"),
    ({"points": [{"gain_db": 1}]}, "points[0].frequency"),
    ({"points": [{"frequency": 1e9}]}, "points[0].gain_db"),
    ({"points": [{"frequency": "abc", "gain_db": 1}]}, "points[0].frequency"),
    ({"points": [{"frequency": 1e9, "gain_db": 1, "gain": 2}]}, "unknown keys"),
    ({"points": [{"frequency": 1e9, "gain_db": 1}, {"frequency": 1e9, "gain_db": 2}]}, "two points"),
])
def test_errors_name_the_field(document, field):
    with pytest.raises(CalibrationError, match=field.replace("[", r"\[").replace("]", r"\]")):
        parse_calibration(document, source="cal.yml")


def test_file_is_reread_when_it_changes(tmp_path):
    path = tmp_path / "cal.yml"
    path.write_text("points:\n  - {frequency: 7.0e+8, gain_db: 1.0}\n")
    assert load_calibration(path).at(7e8)["gain_db"] == 1.0
    path.write_text("points:\n  - {frequency: 7.0e+8, gain_db: 3.5}\n# longer\n")
    assert load_calibration(path).at(7e8)["gain_db"] == 3.5


def test_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CalibrationError, match="cannot read calibration file"):
        load_calibration(tmp_path / "nope.yml")
