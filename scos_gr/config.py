"""All configuration of scos-gr, read from environment variables in this one place.

Every setting has a documented default so that `scos-gr serve` with no environment runs the
embedded default: the simulated radio, SQLite in ./data, listening on 127.0.0.1:8000.
The README's configuration table mirrors ``VARIABLES`` below.

What a file holds is read when first needed (:attr:`Settings.sensor_definition`) and checked as
a whole at start-up by :func:`check_startup`, so a typo in the sensor definition stops
`scos-gr serve` with a sentence naming the file and the key, not a field missing from months of
recordings.
"""
from __future__ import annotations

import ipaddress
import math
import os
import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Callable, Mapping, TypeVar

from scos_gr.errors import ConfigError
from scos_gr.sensor_definition import SensorDefinition, default_sensor_definition, load_sensor_definition

#: the sensor id when neither SCOS_SENSOR_ID nor a sensor definition names one
DEFAULT_SENSOR_ID = "scos-gr"
#: ntia-core:classification when SCOS_CLASSIFICATION is not set
DEFAULT_CLASSIFICATION = "UNCLASSIFIED"

#: (variable, default, meaning) -- the single source for the README's configuration table.
VARIABLES: tuple[tuple[str, str, str], ...] = (
    ("SCOS_DATA_DIR", "./data", "recordings, SQLite database, flowgraph cache"),
    ("DATABASE_URL", "sqlite:///<SCOS_DATA_DIR>/scos.db", "peewee/playhouse.db_url URL; postgresql://user:pw@host/db for PostgreSQL"),
    ("SCOS_RADIO", "sim", "'sim[,option=value...]' for the simulated radio, else a gr-osmosdr device string (rtl=0, hackrf=0, uhd, file=...)"),
    ("SCOS_HOST", "127.0.0.1", "address the HTTP server binds"),
    ("SCOS_PORT", "8000", "port the HTTP server binds"),
    ("SCOS_ACTIONS", "flowgraphs/actions.yml (shipped)", "the action catalogue; its .grc files are looked up beside it"),
    ("SCOS_CALIBRATION_FILE", "(none)", "YAML calibration file (gain correction, noise figure over frequency)"),
    ("SCOS_CALIBRATION_MAX_AGE", "(none)", "seconds after which the calibration in use (the calibrate action's, else SCOS_CALIBRATION_FILE's calibration_datetime) shows as a `calibration` fault in /api/v1/status; unset: no age is required"),
    ("SCOS_TASK_TIMEOUT", "60", "seconds a task may run before it is stopped and recorded as failed"),
    ("SCOS_LOG_LEVEL", "INFO", "Python logging level"),
    ("SCOS_SENSOR_ID", "scos-gr", "the sensor's id (sensor_spec.id) when there is no sensor definition file; with one, the file's sensor_spec.id is the id, and SCOS_SENSOR_ID, if set, must equal it"),
    ("SCOS_SENSOR_DEFINITION", "(none)", "YAML or JSON sensor definition (sensor_spec, antenna, signal_analyzer, preselector, computer_spec, mobile, environment, location; deploy/sensor_definition.example.yml documents every key), checked at start-up and copied into every recording with its sensor_sha512"),
    ("SCOS_CLASSIFICATION", "UNCLASSIFIED", "classification marking written into every recording (ntia-core:classification)"),
    ("SCOS_TRUSTED_PROXY", "(none)", "IP address of the reverse proxy (nginx) whose X-Forwarded-Proto/Host/For and client-certificate headers are believed; `serve --trusted-proxy` wins"),
    ("SCOS_PUBLIC_URL", "http://<SCOS_HOST>:<SCOS_PORT>", "the sensor's URL as clients reach it (e.g. https://sensor1.example.org behind the proxy): the links inside callbacks"),
    ("SCOS_CALLBACK_TOKEN", "(none)", "sent as `Authorization: Token <value>` with every callback"),
    ("SCOS_CALLBACK_RETRY_FOR", "86400", "seconds a failed callback delivery is retried (growing delays, at most 10 min apart) before it is marked failed"),
    ("SCOS_METRICS_TOKEN", "(none)", "a token that may read GET /metrics only (for Prometheus); an admin's token always may"),
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
    sensor_id: str = DEFAULT_SENSOR_ID
    #: whether SCOS_SENSOR_ID was set (then a sensor definition's id must equal it)
    sensor_id_given: bool = field(default=False, compare=False)
    sensor_definition_file: Path | None = None
    classification: str = DEFAULT_CLASSIFICATION
    trusted_proxy: str | None = None
    public_url: str = ""
    callback_token: str | None = None
    callback_retry_s: float = 86400.0
    metrics_token: str | None = None
    max_disk_usage_percent: float = 85.0
    calibration_max_age_s: float | None = None

    @cached_property
    def sensor_definition(self) -> SensorDefinition:
        """The sensor definition: the file's (validated, read once), else only ``sensor_id``.

        With a file, its ``sensor_spec.id`` is the sensor's id everywhere; a SCOS_SENSOR_ID that
        names another is refused (two places disagreeing on one fact), with both values named.
        Raises :class:`~scos_gr.sensor_definition.SensorDefinitionError` (a ConfigError).
        """
        if self.sensor_definition_file is None:
            return default_sensor_definition(self.sensor_id)
        definition = load_sensor_definition(self.sensor_definition_file)
        if self.sensor_id_given and self.sensor_id != definition.sensor_id:
            raise ConfigError(
                f"SCOS_SENSOR_ID is {self.sensor_id!r} but {self.sensor_definition_file}: sensor_spec.id is "
                f"{definition.sensor_id!r}; the definition names the sensor: unset SCOS_SENSOR_ID or make them equal")
        return definition

    @property
    def acquisitions_dir(self) -> Path:
        """Where recordings live: ``{acquisitions_dir}/{entry}/{entry}_{task_id}.sigmf-*``."""
        return self.data_dir / "acquisitions"

    @property
    def onboard_calibration_file(self) -> Path:
        """Where the calibrate action stores the sensor's calibration (it wins over
        ``calibration_file`` for the frequencies it covers: ``scos_gr.calibration``)."""
        return self.data_dir / "onboard-calibration.yml"

    @property
    def flowgraph_cache_dir(self) -> Path:
        """Where compiled flowgraphs are cached, keyed by each .grc file's content (and what else changes them)."""
        return self.data_dir / "flowgraph-cache"

    @property
    def api_base_url(self) -> str:
        """The sensor's base URL for links made outside a request (callbacks): ``SCOS_PUBLIC_URL``,
        else the address the server binds."""
        return self.public_url.rstrip("/") or f"http://{self.host}:{self.port}"

    def with_overrides(self, **changes) -> "Settings":
        """A copy with some fields changed (command-line flags win over the environment)."""
        if "sensor_id" in changes:
            changes.setdefault("sensor_id_given", True)
        if "data_dir" in changes and "database_url" not in changes and self.database_url == default_database_url(self.data_dir):
            changes["database_url"] = default_database_url(Path(changes["data_dir"]))
        return replace(self, **changes)


def default_database_url(data_dir: Path) -> str:
    return f"sqlite:///{(Path(data_dir) / 'scos.db').resolve()}"


def check_startup(settings: Settings) -> SensorDefinition:
    """What `scos-gr serve` and `scos-gr scheduler` check before they start: the sensor
    definition (file and key named), its id against SCOS_SENSOR_ID, the classification marking.
    Raises ConfigError; returns the definition."""
    marking = settings.classification
    if not marking.strip():
        raise ConfigError("SCOS_CLASSIFICATION is empty: leave it unset for UNCLASSIFIED, or give the marking")
    if not marking.isprintable():
        raise ConfigError(f"SCOS_CLASSIFICATION {marking!r}: a marking is one line of printable text")
    return settings.sensor_definition


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Read the settings from ``env`` (default: ``os.environ``), applying the defaults.

    Every value is checked here, at start-up, so that a typo stops the sensor with a sentence
    naming the variable (:class:`SettingsError`) instead of failing every task later, or killing
    a thread hours into an unattended run.
    """
    env = os.environ if env is None else env
    data_dir = Path(_text(env, "SCOS_DATA_DIR", "./data")).resolve()
    calibration = env.get("SCOS_CALIBRATION_FILE")
    definition = env.get("SCOS_SENSOR_DEFINITION")
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
        sensor_id=_text(env, "SCOS_SENSOR_ID", DEFAULT_SENSOR_ID),
        sensor_id_given="SCOS_SENSOR_ID" in env,
        sensor_definition_file=Path(definition).resolve() if definition else None,
        classification=env.get("SCOS_CLASSIFICATION", DEFAULT_CLASSIFICATION),
        trusted_proxy=trusted_proxy_address(env.get("SCOS_TRUSTED_PROXY") or None, "SCOS_TRUSTED_PROXY"),
        public_url=_public_url(env.get("SCOS_PUBLIC_URL", "")),
        callback_token=env.get("SCOS_CALLBACK_TOKEN") or None,
        callback_retry_s=_number(env, "SCOS_CALLBACK_RETRY_FOR", "86400", float, 0.0, 10 * 365 * 86400.0,
                                 "a number of seconds", low_open=True),
        metrics_token=env.get("SCOS_METRICS_TOKEN") or None,
        max_disk_usage_percent=_number(env, "SCOS_MAX_DISK_USAGE", "85", float, 0.0, 100.0, "a percentage",
                                       low_open=True),
        calibration_max_age_s=_number(env, "SCOS_CALIBRATION_MAX_AGE", "", float, 0.0, 100 * 365 * 86400.0,
                                      "a number of seconds", low_open=True)
        if env.get("SCOS_CALIBRATION_MAX_AGE", "").strip() else None,
    )


def trusted_proxy_address(value: str | None, where: str) -> str | None:
    """The proxy's IP address as the server sees the peer (``REMOTE_ADDR``), or None; a host
    name or a network is refused, because the check is an exact match on the connection's peer."""
    if value is None:
        return None
    try:
        return str(ipaddress.ip_address(value.strip()))
    except ValueError:
        raise ConfigError(f"{where}: {value!r} is not an IP address (the proxy's address as the "
                          "sensor sees its connections, e.g. 127.0.0.1)") from None


def _public_url(value: str) -> str:
    value = value.strip()
    if value and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", value):
        raise ConfigError(f"SCOS_PUBLIC_URL: {value!r} is not an http(s) URL without query (e.g. https://sensor1.example.org)")
    return value.rstrip("/")


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

