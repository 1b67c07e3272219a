"""The sensor's settings: SCOS_SENSOR_DEFINITION, SCOS_SENSOR_ID and SCOS_CLASSIFICATION, read in
scos_gr.config and checked at start-up."""
from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from scos_gr.config import VARIABLES, check_startup, load_settings
from scos_gr.errors import ConfigError
from scos_gr.sensor_definition import SensorDefinitionError

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "sensor_definition.example.yml"


def test_without_a_file_the_sensor_is_its_id():
    definition = check_startup(load_settings({"SCOS_SENSOR_ID": "roof-9"}))
    assert definition.document == {"sensor_spec": {"id": "roof-9"}} and definition.location is None
    assert load_settings({}).sensor_definition.sensor_id == "scos-gr"
    assert load_settings({}).classification == "UNCLASSIFIED"


def test_with_a_file_its_id_names_the_sensor_and_scos_sensor_id_must_agree(tmp_path):
    settings = load_settings({"SCOS_SENSOR_DEFINITION": str(EXAMPLE)})
    assert settings.sensor_definition_file == EXAMPLE and settings.sensor_definition.sensor_id == "scos-gr-example-1"
    agreeing = load_settings({"SCOS_SENSOR_DEFINITION": str(EXAMPLE), "SCOS_SENSOR_ID": "scos-gr-example-1"})
    assert check_startup(agreeing).sha512 == settings.sensor_definition.sha512
    other = load_settings({"SCOS_SENSOR_DEFINITION": str(EXAMPLE), "SCOS_SENSOR_ID": "scos-gr"})  # even the default
    with pytest.raises(ConfigError, match=r"SCOS_SENSOR_ID is 'scos-gr' but .*sensor_definition.example.yml: "
                                          r"sensor_spec.id is 'scos-gr-example-1'"):
        check_startup(other)


def test_a_bad_definition_is_refused_naming_the_file_and_the_key(tmp_path):
    bad = tmp_path / "sensor.yml"
    bad.write_text("sensor_spec: {id: s}\nlocation: {latitude: 40.0}\n")
    with pytest.raises(SensorDefinitionError, match=r"sensor.yml: location.longitude: required"):
        check_startup(load_settings({"SCOS_SENSOR_DEFINITION": str(bad)}))


def test_the_definition_is_read_once_and_travels_with_the_settings(tmp_path):
    path = tmp_path / "sensor.yml"
    path.write_text("sensor_spec: {id: first}\n")
    settings = load_settings({"SCOS_SENSOR_DEFINITION": str(path)})
    assert check_startup(settings).sensor_id == "first"
    path.write_text("sensor_spec: {id: second}\n")  # edited while running: a restart takes it
    assert settings.sensor_definition.sensor_id == "first"
    assert pickle.loads(pickle.dumps(settings)).sensor_definition.sensor_id == "first"  # to the worker process


@pytest.mark.parametrize("marking, reason", [("", "is empty"), ("SECRET\nNOFORN", "one line of printable text")])
def test_a_classification_marking_must_be_one_line_of_text(marking, reason):
    with pytest.raises(ConfigError, match=f"SCOS_CLASSIFICATION.*{reason}"):
        check_startup(load_settings({"SCOS_CLASSIFICATION": marking}))
    assert check_startup(load_settings({"SCOS_CLASSIFICATION": "CUI//SP-CTI"}))


def test_the_new_variables_are_documented_in_the_table():
    names = [name for name, _, _ in VARIABLES]
    assert {"SCOS_SENSOR_DEFINITION", "SCOS_CLASSIFICATION"} <= set(names)
    defaults = {name: default for name, default, _ in VARIABLES}
    assert defaults["SCOS_CLASSIFICATION"] == "UNCLASSIFIED" and defaults["SCOS_SENSOR_DEFINITION"] == "(none)"
