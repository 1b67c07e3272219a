"""All configuration of scos-gr, read from environment variables in this one place.

Every setting has a documented default so that `scos-gr serve` with no environment runs the
embedded default: the simulated radio, SQLite in ./data, listening on 127.0.0.1:8000.
The README's configuration table mirrors ``VARIABLES`` below.
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Mapping, TypeVar

from scos_gr.errors import ConfigError

#: (variable, default, meaning) -- the single source for the README's configuration table.
VARIABLES: tuple[tuple[str, str, str], ...] = (
    ("SCOS_DATA_DIR", "./data", "recordings, SQLite database, flowgraph cache"),
    ("DATABASE_URL", "sqlite:///<SCOS_DATA_DIR>/scos.db", "peewee/playhouse.db_url URL; postgresql://user:pw@host/db for PostgreSQL"),
    ("SCOS_RADIO", "sim", "'sim[,option=value...]' for the simulated radio, else a gr-osmosdr device string (rtl=0, hackrf=0, uhd, file=...)"),
    ("SCOS_HOST", "127.0.0.1", "address the HTTP server binds"),
    ("SCOS_PORT", "8000", "port the HTTP server binds"),
    ("SCOS_ACTIONS", "flowgraphs/actions.yml (shipped)", "the action catalogue; its .grc files are looked up beside it"),
    ("SCOS_CALIBRATION_FILE", "(none)", "YAML calibration file (gain correction, noise figure over frequency)"),
    ("SCOS_TASK_TIMEOUT", "60", "seconds a task may run before it is stopped and recorded as failed"),
    ("SCOS_LOG_LEVEL", "INFO", "Python logging level"),
    ("SCOS_SENSOR_ID", "scos-gr", "sensor id written into every recording's sensor definition"),
    ("SCOS_MAX_DISK_USAGE", "85", "percent of the data filesystem recordings may fill; above it the oldest recordings are removed before each task (task rows stay)"),
)

#: the longest task timeout accepted (a day): anything longer is a typo, not a measurement
MAX_TASK_TIMEOUT_S = 86400.0
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
DATABASE_SCHEMES = ("sqlite:///", "postgresql://", "postgres://")


class SettingsError(ConfigError, ValueError):
    """An environment variable holds a value scos-gr cannot run with; the message names it."""


def shipped_catalogue() -> Path:
    """The action catalogue shipped with scos-gr (``flowgraphs/actions.yml``), found without
    importing the flowgraphs package (configuration depends on no room)."""
    import importlib.util

    spec = importlib.util.find_spec("scos_gr.flowgraphs")
    assert spec is not None and spec.submodule_search_locations
    return Path(list(spec.submodule_search_locations)[0]).resolve() / "actions.yml"


@dataclass(frozen=True)
class Settings:
    """The resolved configuration. Build it with :func:`load_settings`."""

    data_dir: Path
    database_url: str
    radio: str = "sim"
    host: str = "127.0.0.1"
    port: int = 8000
    calibration_file: Path | None = None
    actions_file: Path = field(default_factory=shipped_catalogue)
    task_timeout_s: float = 60.0
    log_level: str = "INFO"
    sensor_id: str = "scos-gr"
    max_disk_usage_percent: float = 85.0

    @property
    def acquisitions_dir(self) -> Path:
        """Where recordings live: ``{acquisitions_dir}/{entry}/{entry}_{task_id}.sigmf-*``."""
        return self.data_dir / "acquisitions"

    @property
    def flowgraph_cache_dir(self) -> Path:
        """Where ``grcc`` output is cached, keyed by each .grc file's content hash."""
        return self.data_dir / "flowgraph-cache"

    def with_overrides(self, **changes) -> "Settings":
        """A copy with some fields changed (command-line flags win over the environment)."""
        if "data_dir" in changes and "database_url" not in changes and self.database_url == default_database_url(self.data_dir):
            changes["database_url"] = default_database_url(Path(changes["data_dir"]))
        return replace(self, **changes)


def default_database_url(data_dir: Path) -> str:
    return f"sqlite:///{(Path(data_dir) / 'scos.db').resolve()}"


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``env`` (default: ``os.environ``), applying the defaults.

    Every value is checked here, at start-up, so that a typo stops the sensor with a sentence
    naming the variable (:class:`SettingsError`) instead of failing every task later, or killing
    a thread hours into an unattended run.
    """
    env = os.environ if env is None else env
    data_dir = Path(_text(env, "SCOS_DATA_DIR", "./data")).resolve()
    calibration = env.get("SCOS_CALIBRATION_FILE")
    return Settings(
        data_dir=data_dir,
        database_url=_database_url(env.get("DATABASE_URL") or default_database_url(data_dir)),
        radio=_text(env, "SCOS_RADIO", "sim"),
        host=_text(env, "SCOS_HOST", "127.0.0.1"),
        port=_number(env, "SCOS_PORT", "8000", int, 1, 65535, "a TCP port number"),
        calibration_file=Path(calibration).resolve() if calibration else None,
        actions_file=Path(env["SCOS_ACTIONS"]).resolve() if env.get("SCOS_ACTIONS") else shipped_catalogue(),
        task_timeout_s=_number(env, "SCOS_TASK_TIMEOUT", "60", float, 0.0, MAX_TASK_TIMEOUT_S, "a number of seconds",
                               low_open=True),
        log_level=_choice(env, "SCOS_LOG_LEVEL", "INFO", LOG_LEVELS),
        sensor_id=_text(env, "SCOS_SENSOR_ID", "scos-gr"),
        max_disk_usage_percent=_number(env, "SCOS_MAX_DISK_USAGE", "85", float, 0.0, 100.0, "a percentage",
                                       low_open=True),
    )


Number = TypeVar("Number", int, float)


def _text(env: Mapping[str, str], name: str, default: str) -> str:
    value = env.get(name, default)
    if not value.strip():
        raise SettingsError(f"{name} is empty; unset it for the default ({default})")
    return value


def _number(env: Mapping[str, str], name: str, default: str, kind: Callable[[str], Number], low: float, high: float,
            what: str, low_open: bool = False) -> Number:
    """``env[name]`` as ``kind`` within ``low..high`` (``low`` itself excluded when ``low_open``)."""
    raw = env.get(name, default)
    bound = f"greater than {low:g}" if low_open else f"at least {low:g}"
    problem = f"{name}={raw!r}: must be {what}, {bound} and at most {high:g}"
    try:
        value = kind(raw.strip())
    except ValueError:
        raise SettingsError(problem) from None
    if not math.isfinite(value) or value > high or value < low or (low_open and value == low):
        raise SettingsError(problem)
    return value


def _choice(env: Mapping[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = env.get(name, default).strip().upper()
    if value not in choices:
        raise SettingsError(f"{name}={env.get(name)!r}: must be one of {', '.join(choices)}")
    return value


def _database_url(url: str) -> str:
    if not url.startswith(DATABASE_SCHEMES):
        raise SettingsError(f"DATABASE_URL={url!r}: must be sqlite:///<path> or postgresql://user:password@host/db")
    return url

