"""Configuration: config/default.toml, then an optional file, then KONTORA_* variables."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

from core.exceptions import ConfigError

DEFAULT_FILE = Path(__file__).resolve().parent.parent / "config" / "default.toml"
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


@dataclass(frozen=True)
class Key:
    """One configuration key: its type and what a valid value looks like."""

    kind: str  # str, int, list, choice, url
    expect: str
    choices: tuple = ()
    minimum: int | None = None
    maximum: int | None = None


SCHEMA: MappingProxyType[str, Key] = MappingProxyType(
    {
        "database.url": Key("url", "a URL starting with sqlite:/// or postgresql://"),
        "database.busy_timeout_ms": Key("int", "a whole number of milliseconds >= 0", minimum=0),
        "addons.paths": Key("list", "a list of folder paths"),
        "server.host": Key("str", "a host name or IP address"),
        "server.port": Key("int", "a port number from 1 to 65535", minimum=1, maximum=65535),
        "server.workers": Key("int", "a number of workers from 1 to 64", minimum=1, maximum=64),
        "server.secret_key": Key("str", "a non-empty secret string"),
        "server.default_lang": Key("choice", "one of: en, ru", choices=("en", "ru")),
        "server.proxies": Key(
            "int", "a number of reverse proxies from 0 to 10 (0: none)", minimum=0, maximum=10
        ),
        "server.session_idle_days": Key(
            "int", "a number of days from 1 to 3650", minimum=1, maximum=3650
        ),
        "log.level": Key("choice", "one of: " + ", ".join(LEVELS), choices=LEVELS),
        "mail.smtp_host": Key("str", "a host name"),
        "mail.smtp_port": Key("int", "a port number from 1 to 65535", minimum=1, maximum=65535),
        "mail.smtp_user": Key("str", "a user name or empty"),
        "mail.smtp_password": Key("str", "a password or empty"),
        "mail.smtp_security": Key(
            "choice", "one of: none, starttls, ssl", choices=("none", "starttls", "ssl")
        ),
        "mail.smtp_timeout": Key("int", "seconds from 1 to 600", minimum=1, maximum=600),
        "mail.default_from": Key("str", "an e-mail address"),
        "mail.max_attempts": Key(
            "int", "a number of attempts from 1 to 100", minimum=1, maximum=100
        ),
        "jobs.backend": Key(
            "choice", "one of: sqlite, redis, immediate", choices=("sqlite", "redis", "immediate")
        ),
        "jobs.sqlite_path": Key("str", "a file path"),
        "jobs.redis_url": Key("str", "a redis:// URL"),
        "jobs.workers": Key(
            "int", "a number of worker threads from 1 to 64", minimum=1, maximum=64
        ),
        "api.count_limit": Key("int", "a whole number >= 0 (0: exact counts)", minimum=0),
        "api.rate_limit": Key("int", "a whole number of requests >= 0 (0: no limit)", minimum=0),
        "api.rate_window_seconds": Key("int", "seconds from 1 to 86400", minimum=1, maximum=86400),
        "api.rate_limit_store": Key(
            "choice", "one of: process, redis", choices=("process", "redis")
        ),
        "api.response_cache": Key("int", "a number of list pages >= 0 (0: off)", minimum=0),
        "security.argon2_time_cost": Key("int", "passes from 1 to 100", minimum=1, maximum=100),
        "security.argon2_memory_kib": Key(
            "int", "KiB from 8 to 4194304 (4 GiB)", minimum=8, maximum=4194304
        ),
        "security.argon2_parallelism": Key("int", "lanes from 1 to 64", minimum=1, maximum=64),
        "webhooks.keep_days": Key(
            "int", "a number of days from 0 to 36500 (0: keep forever)", minimum=0, maximum=36500
        ),
    }
)
OPTIONAL_EMPTY = frozenset({"mail.smtp_user", "mail.smtp_password"})


class Config:
    """Validated settings, read as ``config["server.port"]`` or ``config.get(...)``."""

    def __init__(self, values: dict, sources: dict | None = None):
        self._values = dict(values)
        self.sources = dict(sources or {})

    def __getitem__(self, key):
        return self._values[key]

    def get(self, key, default=None):
        return self._values.get(key, default)

    def as_dict(self):
        return dict(self._values)

    def replace(self, **overrides):
        """A copy with some keys changed (``database__url=...`` or a dict of dotted keys)."""
        values, sources = dict(self._values), dict(self.sources)
        for key, value in overrides.items():
            values[key.replace("__", ".")] = value
            sources[key.replace("__", ".")] = "override"
        return Config(_validate(values, sources), sources)

    @property
    def database_url(self) -> str:
        return self._values["database.url"]

    @property
    def addons_paths(self) -> list[Path]:
        return [Path(p) for p in self._values["addons.paths"]]


def _flatten(data: dict, source: str) -> dict:
    flat = {}
    for section, table in data.items():
        if not isinstance(table, dict):
            raise ConfigError(f"{source}: '{section}' must be a [section] table")
        for key, value in table.items():
            dotted = f"{section}.{key}"
            if dotted not in SCHEMA:
                raise ConfigError(f"{source}: unknown key '{dotted}'")
            flat[dotted] = value
    return flat


def _read_toml(path: Path) -> dict:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ConfigError(f"config file not found: {path}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None


def _from_environ(environ) -> tuple[dict, dict]:
    values, sources = {}, {}
    for dotted in SCHEMA:
        name = "KONTORA_" + dotted.replace(".", "_").upper()
        if name in environ:
            raw = environ[name]
            kind = SCHEMA[dotted].kind
            values[dotted] = [p for p in raw.split(os.pathsep) if p] if kind == "list" else raw
            sources[dotted] = name
    return values, sources


def _coerce(dotted: str, value, source: str):
    key = SCHEMA[dotted]
    where = f"{dotted} (from {source})"
    if key.kind == "int":
        if isinstance(value, bool):
            raise ConfigError(f"{where}: expected {key.expect}, got {value!r}")
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected {key.expect}, got {value!r}") from None
        if (key.minimum is not None and number < key.minimum) or (
            key.maximum is not None and number > key.maximum
        ):
            raise ConfigError(f"{where}: expected {key.expect}, got {number}")
        return number
    if key.kind == "list":
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError(f"{where}: expected {key.expect}, got {value!r}")
        return value
    if not isinstance(value, str):
        raise ConfigError(f"{where}: expected {key.expect}, got {value!r}")
    if key.kind == "choice":
        normalized = value.upper() if dotted == "log.level" else value.lower()
        if normalized not in key.choices:
            raise ConfigError(f"{where}: expected {key.expect}, got {value!r}")
        return normalized
    if key.kind == "url" and not value.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise ConfigError(f"{where}: expected {key.expect}, got {value!r}")
    if not value and dotted not in OPTIONAL_EMPTY and key.kind == "str":
        raise ConfigError(f"{where}: expected {key.expect}, got an empty value")
    return value


def _validate(values: dict, sources: dict) -> dict:
    return {k: _coerce(k, v, sources.get(k, "config/default.toml")) for k, v in values.items()}


def load_config(path: str | Path | None = None, environ=None, overrides: dict | None = None):
    """Read defaults, then ``path``, then ``KONTORA_*`` variables, then ``overrides``."""
    environ = os.environ if environ is None else environ
    values = _flatten(_read_toml(DEFAULT_FILE), str(DEFAULT_FILE))
    sources = dict.fromkeys(values, "config/default.toml")
    if path is None and environ.get("KONTORA_CONFIG"):
        path = environ["KONTORA_CONFIG"]
    if path:
        file_values = _flatten(_read_toml(Path(path)), str(path))
        values.update(file_values)
        sources.update(dict.fromkeys(file_values, str(path)))
    env_values, env_sources = _from_environ(environ)
    values.update(env_values)
    sources.update(env_sources)
    for key, value in (overrides or {}).items():
        values[key] = value
        sources[key] = "override"
    return Config(_validate(values, sources), sources)
