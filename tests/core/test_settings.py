"""Every setting is checked at start-up: a value the sensor cannot run with stops it at once with a
sentence naming the variable (exit 2), never a traceback, a dead scheduler thread hours later, or
every task failing."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scos_gr.config import VARIABLES, SettingsError, load_settings

SCOS_GR = Path(sys.executable).with_name("scos-gr")

BAD = [
    ("SCOS_TASK_TIMEOUT", "inf"), ("SCOS_TASK_TIMEOUT", "nan"), ("SCOS_TASK_TIMEOUT", "-1"),
    ("SCOS_TASK_TIMEOUT", "0"), ("SCOS_TASK_TIMEOUT", "abc"), ("SCOS_TASK_TIMEOUT", "1e9"),
    ("SCOS_PORT", "abc"), ("SCOS_PORT", "0"), ("SCOS_PORT", "65536"), ("SCOS_PORT", "80.5"),
    ("SCOS_MAX_DISK_USAGE", "0"), ("SCOS_MAX_DISK_USAGE", "101"), ("SCOS_MAX_DISK_USAGE", "full"),
    ("SCOS_MAX_DISK_USAGE", "nan"), ("SCOS_LOG_LEVEL", "loud"), ("DATABASE_URL", "mysql://db/x"),
    ("SCOS_HOST", ""), ("SCOS_RADIO", " "), ("SCOS_DATA_DIR", ""), ("SCOS_SENSOR_ID", ""),
]


@pytest.mark.parametrize("name, value", BAD)
def test_a_value_the_sensor_cannot_run_with_is_refused_naming_the_variable(tmp_path, name, value):
    env = {"SCOS_DATA_DIR": str(tmp_path / "data"), name: value}
    with pytest.raises(SettingsError) as raised:
        load_settings(env)
    assert str(raised.value).startswith(name), raised.value


@pytest.mark.parametrize("name, value, field, expected", [
    ("SCOS_TASK_TIMEOUT", "0.5", "task_timeout_s", 0.5), ("SCOS_TASK_TIMEOUT", " 90 ", "task_timeout_s", 90.0),
    ("SCOS_PORT", "65535", "port", 65535), ("SCOS_MAX_DISK_USAGE", "100", "max_disk_usage_percent", 100.0),
    ("SCOS_MAX_DISK_USAGE", "42.5", "max_disk_usage_percent", 42.5), ("SCOS_LOG_LEVEL", "debug", "log_level", "DEBUG"),
    ("DATABASE_URL", "postgresql://u@h/db", "database_url", "postgresql://u@h/db"),
])
def test_good_values_are_read(tmp_path, name, value, field, expected):
    settings = load_settings({"SCOS_DATA_DIR": str(tmp_path / "data"), name: value})
    assert getattr(settings, field) == expected


def test_every_default_is_accepted_and_the_retention_limit_is_85_percent(tmp_path):
    settings = load_settings({"SCOS_DATA_DIR": str(tmp_path / "data")})
    assert settings.max_disk_usage_percent == 85.0
    assert ("SCOS_MAX_DISK_USAGE", "85") in [(name, default) for name, default, _ in VARIABLES]


@pytest.mark.parametrize("command", [["serve"], ["scheduler"], ["createuser", "bob"]])
@pytest.mark.parametrize("value", ["inf", "nan", "-1", "0", "abc"])
def test_the_commands_exit_2_with_one_line_naming_the_variable(tmp_path, command, value):
    env = {**os.environ, "SCOS_DATA_DIR": str(tmp_path / "data"), "SCOS_TASK_TIMEOUT": value}
    env.pop("DATABASE_URL", None)
    done = subprocess.run([str(SCOS_GR), *command], capture_output=True, text=True, env=env, timeout=60)
    assert done.returncode == 2, done
    assert done.stderr == f"error: SCOS_TASK_TIMEOUT={value!r}: must be a number of seconds, greater than 0 and at " \
                          "most 86400\n"
    assert not (tmp_path / "data").exists()  # stopped before touching anything
