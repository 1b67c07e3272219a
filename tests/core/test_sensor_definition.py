"""The sensor definition file: validation with errors naming file and key, the hash, the example."""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
import yaml

from scos_gr.errors import ConfigError
from scos_gr.sensor_definition import (
    SENSOR_KEYS,
    Location,
    SensorDefinitionError,
    default_sensor_definition,
    key_paths,
    load_sensor_definition,
    parse_sensor_definition,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "sensor_definition.example.yml"

MINIMAL = "sensor_spec:\n  id: s1\n"


def write(tmp_path: Path, text: str, name: str = "sensor.yml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- the shipped example ----------------------------------------------------------------------

def test_the_shipped_example_loads_and_says_where_the_sensor_is():
    definition = load_sensor_definition(EXAMPLE)
    assert definition.sensor_id == "scos-gr-example-1"
    assert definition.mobile is False
    assert definition.location == Location(latitude=39.99473, longitude=-105.26208, altitude=1655.0,
                                           description="Boulder, Colorado (example)")
    assert definition.source == str(EXAMPLE)


def _paths_in(document, prefix=""):
    for key, value in document.items():
        path = f"{prefix}{key}"
        yield path
        if isinstance(value, dict):
            yield from _paths_in(value, f"{path}.")
        elif isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                yield from _paths_in(item, f"{path}[].")


def test_the_shipped_example_documents_every_key_the_loader_knows():
    """A key added to the loader but not to the example fails here (the example is the manual)."""
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    written = set(_paths_in(document))
    missing = [path for path in key_paths() if path not in written]
    assert missing == []
    text = EXAMPLE.read_text(encoding="utf-8")
    for path in key_paths():  # every key's line carries a comment, or the section above it does
        assert path.split(".")[-1].replace("[]", "") + ":" in text


def test_key_paths_cover_the_ntia_sensor_object_and_location():
    paths = set(key_paths())
    assert set(SENSOR_KEYS) == {"sensor_spec", "antenna", "preselector", "signal_analyzer", "computer_spec",
                                "mobile", "environment"}
    assert {"location.latitude", "location.longitude", "location.altitude", "sensor_spec.id",
            "preselector.rf_paths[].filter_id", "antenna.antenna_spec.id", "signal_analyzer.a2d_bits"} <= paths


# --- sensor_sha512 ----------------------------------------------------------------------------

def test_sha512_is_of_the_canonical_json_so_yaml_and_json_files_agree(tmp_path):
    document = yaml.safe_load(EXAMPLE.read_text(encoding="utf-8"))
    from_yaml = load_sensor_definition(EXAMPLE)
    # the same definition, keys in another order, as JSON
    reordered = dict(reversed(list(document.items())))
    from_json = load_sensor_definition(write(tmp_path, json.dumps(reordered, indent=4), "sensor.json"))
    canonical = json.dumps(document, sort_keys=True).encode("utf-8")
    assert from_yaml.sha512 == hashlib.sha512(canonical).hexdigest()
    assert from_json.sha512 == from_yaml.sha512
    assert len(from_yaml.sha512) == 128 and int(from_yaml.sha512, 16) >= 0


def test_sha512_changes_with_any_value_and_not_with_comments(tmp_path):
    base = load_sensor_definition(write(tmp_path, MINIMAL + "mobile: false\n")).sha512
    commented = load_sensor_definition(write(tmp_path, "# a comment\n" + MINIMAL + "mobile: false   # fixed\n")).sha512
    moved = load_sensor_definition(write(tmp_path, MINIMAL + "mobile: true\n")).sha512
    assert commented == base
    assert moved != base


def test_a_file_may_not_set_its_own_hash(tmp_path):
    with pytest.raises(SensorDefinitionError, match=r"sensor\.yml: sensor_sha512: scos-gr computes"):
        load_sensor_definition(write(tmp_path, MINIMAL + "sensor_sha512: abc\n"))


# --- what the definition exposes ---------------------------------------------------------------

def test_sensor_object_leaves_location_out_and_capabilities_keep_it(tmp_path):
    definition = load_sensor_definition(EXAMPLE)
    sensor = definition.sensor()
    assert "location" not in sensor and "sensor_sha512" not in sensor
    assert sensor["antenna"]["antenna_spec"]["id"] == "ANT-0042"
    served = definition.capabilities()
    assert served["mobility"] is False
    assert served["sensor_definition"]["location"]["latitude"] == 39.99473
    assert served["sensor_definition"]["sensor_sha512"] == definition.sha512
    sensor["antenna"]["gain"] = 99.0  # a caller's change must not leak into the definition
    served["sensor_definition"]["sensor_spec"]["id"] = "changed"
    assert definition.sensor()["antenna"]["gain"] == 2.0
    assert definition.sensor_id == "scos-gr-example-1"


def test_mobile_sensor_and_location_without_altitude(tmp_path):
    definition = load_sensor_definition(write(tmp_path, MINIMAL + "mobile: true\nlocation: {latitude: -33.9, longitude: 18.4}\n"))
    assert definition.mobile is True
    assert definition.location == Location(latitude=-33.9, longitude=18.4)
    assert definition.capabilities()["mobility"] is True


def test_default_definition_is_the_sensor_id_only():
    definition = default_sensor_definition("roof-7")
    assert definition.sensor() == {"sensor_spec": {"id": "roof-7"}}
    assert definition.location is None and definition.mobile is False
    assert definition.sha512 == parse_sensor_definition({"sensor_spec": {"id": "roof-7"}}).sha512
    assert "default" in definition.source
    with pytest.raises(SensorDefinitionError, match="SCOS_SENSOR_ID"):
        default_sensor_definition("  ")


def test_yaml_dates_stay_text_so_the_recording_gets_what_was_written(tmp_path):
    definition = load_sensor_definition(write(tmp_path, "sensor_spec:\n  id: s1\n  version: 2024-01-31\n"))
    assert definition.sensor()["sensor_spec"]["version"] == "2024-01-31"


# --- errors name the file and the key ----------------------------------------------------------

@pytest.mark.parametrize("text, message", [
    ("antenna:\n  antenna_spec: {id: a}\n", r"sensor_spec: required"),
    ("sensor_spec: {model: m}\n", r"sensor_spec\.id: required"),
    ("sensor_spec: {id: ''}\n", r"sensor_spec\.id: must not be empty"),
    ("sensor_spec: {id: 7}\n", r"sensor_spec\.id: expected a string, got 7"),
    (MINIMAL + "sensor_type: x\n", r"sensor_type: unknown key; the top level may hold sensor_spec, antenna"),
    (MINIMAL + "antenna:\n  antenna_spec: {id: a}\n  gain_dbi: 3\n", r"antenna\.gain_dbi: unknown key; antenna may hold"),
    (MINIMAL + "antenna:\n  gain: 3\n", r"antenna\.antenna_spec: required"),
    (MINIMAL + "antenna:\n", r"antenna: empty"),
    (MINIMAL + "mobile: 'no'\n", r"mobile: expected true or false, got 'no'"),
    (MINIMAL + "mobile: 1\n", r"mobile: expected true or false"),
    (MINIMAL + "signal_analyzer: {a2d_bits: 8.5}\n", r"signal_analyzer\.a2d_bits: expected an integer"),
    (MINIMAL + "signal_analyzer: {a2d_bits: true}\n", r"signal_analyzer\.a2d_bits: expected an integer"),
    (MINIMAL + "signal_analyzer: {noise_figure: true}\n", r"signal_analyzer\.noise_figure: expected a number"),
    (MINIMAL + "signal_analyzer: {noise_figure: '4 dB'}\n", r"signal_analyzer\.noise_figure: expected a number"),
    (MINIMAL + "signal_analyzer: {max_power: .nan}\n", r"signal_analyzer\.max_power: expected a finite number"),
    (MINIMAL + "signal_analyzer: {frequency_low: 2.0e+9, frequency_high: 1.0e+9}\n",
     r"signal_analyzer\.frequency_low: 2000000000\.0 Hz is above signal_analyzer\.frequency_high"),
    (MINIMAL + "antenna:\n  antenna_spec: {id: a}\n  horizontal_gain_pattern: [1.0, x]\n",
     r"antenna\.horizontal_gain_pattern\[1\]: expected a number"),
    (MINIMAL + "antenna:\n  antenna_spec: {id: a}\n  horizontal_gain_pattern: 1.0\n",
     r"antenna\.horizontal_gain_pattern: expected a list of numbers"),
    (MINIMAL + "preselector:\n  filters: {filter_spec: {id: f}}\n", r"preselector\.filters: expected a list of mappings"),
    (MINIMAL + "preselector:\n  filters:\n    - {frequency_low_passband: 9.0e+8, frequency_high_passband: 8.0e+8}\n",
     r"preselector\.filters\[0\]\.frequency_low_passband: 900000000\.0 Hz is above"),
    (MINIMAL + "preselector:\n  amplifiers:\n    - amplifier_spec: {model: x}\n",
     r"preselector\.amplifiers\[0\]\.amplifier_spec\.id: required"),
    (MINIMAL + "preselector:\n  rf_paths:\n    - {filter_id: f}\n", r"preselector\.rf_paths\[0\]\.id: required"),
    (MINIMAL + "preselector:\n  filters: [{filter_spec: {id: f1}}]\n  rf_paths:\n    - {id: p, filter_id: f2}\n",
     r"preselector\.rf_paths\[0\]\.filter_id: 'f2' is not the filter_spec\.id of any of preselector\.filters \(ids: 'f1'\)"),
    (MINIMAL + "preselector:\n  rf_paths:\n    - {id: p, amplifier_id: lna}\n",
     r"rf_paths\[0\]\.amplifier_id: 'lna' is not the amplifier_spec\.id .*\(ids: none\)"),
    (MINIMAL + "preselector:\n  rf_paths: [{id: p}, {id: p}]\n", r"rf_paths\[1\]\.id: 'p' is used by two RF paths"),
    (MINIMAL + "environment: {temperature: warm}\n", r"environment\.temperature: expected a number"),
    (MINIMAL + "location: {latitude: 91, longitude: 0}\n", r"location\.latitude: 91 is not within -90\.\.90"),
    (MINIMAL + "location: {latitude: 0, longitude: 181}\n", r"location\.longitude: 181 is not within -180\.\.180"),
    (MINIMAL + "location: {latitude: 10}\n", r"location\.longitude: required"),
    (MINIMAL + "location: {x: 1, y: 2, latitude: 1, longitude: 2}\n", r"location\.x: unknown key; location may hold latitude"),
    ("- sensor_spec: {id: s1}\n", r"expected a mapping of sensor_spec, antenna, .* got a list"),
    ("", r"the file is empty"),
    ("sensor_spec:\n  id: a\nsensor_spec:\n  id: b\n", r"line 3: key 'sensor_spec' appears twice"),
    ("sensor_spec: {id: a\n", r"not valid YAML: .*\(line \d+, column \d+\)"),
    (MINIMAL + "1: x\n", r"1: keys must be names"),
])
def test_errors_name_the_file_and_the_key(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(SensorDefinitionError, match=message) as caught:
        load_sensor_definition(path)
    assert str(caught.value).startswith(f"{path}: ")


@pytest.mark.parametrize("text, message", [
    ('{"sensor_spec": {"id": "a"}, "sensor_spec": {"id": "b"}}', r"key 'sensor_spec' appears twice"),
    ('{"sensor_spec": {"id": "a"},}', r"not valid JSON: .*\(line 1, column \d+\)"),
    ('{"sensor_spec": {"id": "a"}, "antenna": {"antenna_spec": {"id": "x"}, "gain": NaN}}', r"NaN is not a number JSON allows"),
    ('{"sensor_spec": {"id": "a"}, "mobile": "false"}', r"mobile: expected true or false, got 'false'"),
])
def test_json_files_are_read_as_json(tmp_path, text, message):
    path = write(tmp_path, text, "sensor.json")
    with pytest.raises(SensorDefinitionError, match=message) as caught:
        load_sensor_definition(path)
    assert str(caught.value).startswith(f"{path}: ")


def test_unreadable_files_are_config_errors(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.yml: cannot read the sensor definition file"):
        load_sensor_definition(tmp_path / "nope.yml")
    latin1 = tmp_path / "latin1.yml"
    latin1.write_bytes("sensor_spec: {id: caf\xe9}\n".encode("latin-1"))
    with pytest.raises(SensorDefinitionError, match=r"latin1\.yml: not UTF-8 text"):
        load_sensor_definition(latin1)
    assert issubclass(SensorDefinitionError, ConfigError)
