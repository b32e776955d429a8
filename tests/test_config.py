"""Configuration: defaults, then a --config file, then KONTORA_* variables; clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.config import load_config
from core.exceptions import ConfigError

KONTORA = Path(sys.executable).parent / "kontora"


def toml(tmp_path, text, name="kontora.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_defaults_are_documented_values():
    config = load_config(environ={})
    assert config.database_url == "sqlite:///var/kontora.sqlite3"
    assert config["server.port"] == 8069
    assert config["log.level"] == "INFO"
    assert config.addons_paths == [Path("addons")]
    assert config.sources["server.port"] == "config/default.toml"


def test_file_overrides_defaults_and_environment_overrides_file(tmp_path):
    path = toml(
        tmp_path,
        '[server]\nport = 9000\nworkers = 4\n\n[database]\nurl = "sqlite:///file.sqlite3"\n',
    )
    config = load_config(path, environ={})
    assert config["server.port"] == 9000
    assert config["server.workers"] == 4
    assert config.database_url == "sqlite:///file.sqlite3"
    assert config["server.host"] == "127.0.0.1"  # untouched keys keep their defaults
    assert config.sources["server.port"] == str(path)

    environ = {
        "KONTORA_SERVER_PORT": "9100",
        "KONTORA_LOG_LEVEL": "debug",
        "KONTORA_ADDONS_PATHS": os.pathsep.join(["addons", "/opt/more"]),
    }
    config = load_config(path, environ=environ)
    assert config["server.port"] == 9100
    assert config["server.workers"] == 4  # from the file
    assert config["log.level"] == "DEBUG"
    assert config.addons_paths == [Path("addons"), Path("/opt/more")]
    assert config.sources["server.port"] == "KONTORA_SERVER_PORT"


def test_kontora_config_variable_names_the_file(tmp_path):
    path = toml(tmp_path, "[server]\nport = 9300\n")
    assert load_config(environ={"KONTORA_CONFIG": str(path)})["server.port"] == 9300


BAD_FILE_VALUES = [
    ("[server]\nport = 'x'\n", "server.port", "expected a port number from 1 to 65535, got 'x'"),
    ("[server]\nport = 0\n", "server.port", "expected a port number from 1 to 65535, got 0"),
    ("[server]\nworkers = true\n", "server.workers", "got True"),
    ("[server]\nsecret_key = ''\n", "server.secret_key", "got an empty value"),
    ("[server]\ndefault_lang = 'de'\n", "server.default_lang", "expected one of: en, ru, got 'de'"),
    ("[log]\nlevel = 'LOUD'\n", "log.level", "expected one of: DEBUG"),
    ("[database]\nurl = 'mysql://x/y'\n", "database.url", "sqlite:/// or postgresql://"),
    ("[addons]\npaths = 'addons'\n", "addons.paths", "expected a list of folder paths"),
    ("[jobs]\nbackend = 'celery'\n", "jobs.backend", "one of: sqlite, redis, immediate"),
]


@pytest.mark.parametrize(("text", "key", "expected"), BAD_FILE_VALUES)
def test_bad_value_in_file_names_key_and_file(tmp_path, text, key, expected):
    path = toml(tmp_path, text)
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={})
    message = str(caught.value)
    assert message.startswith(f"{key} (from {path}): ")
    assert expected in message
    assert "\n" not in message


@pytest.mark.parametrize(
    ("variable", "value", "key"),
    [
        ("KONTORA_SERVER_PORT", "eighty", "server.port"),
        ("KONTORA_DATABASE_BUSY_TIMEOUT_MS", "-1", "database.busy_timeout_ms"),
        ("KONTORA_DATABASE_URL", "oracle://db", "database.url"),
        ("KONTORA_MAIL_SMTP_SECURITY", "tls1.0", "mail.smtp_security"),
    ],
)
def test_bad_environment_value_names_key_and_variable(tmp_path, variable, value, key):
    path = toml(tmp_path, "[server]\nport = 9000\n")
    with pytest.raises(ConfigError) as caught:
        load_config(path, environ={variable: value})
    assert str(caught.value).startswith(f"{key} (from {variable}): expected ")
    assert str(caught.value).endswith(
        f"got {value!r}" if not value.startswith("-") else f"got {value}"
    )


def test_file_errors_name_the_file(tmp_path):
    unknown = toml(tmp_path, "[server]\nprot = 9000\n", "unknown.toml")
    with pytest.raises(ConfigError, match=r"unknown\.toml: unknown key 'server\.prot'"):
        load_config(unknown, environ={})
    flat = toml(tmp_path, "port = 9000\n", "flat.toml")
    with pytest.raises(ConfigError, match=r"flat\.toml: 'port' must be a \[section\] table"):
        load_config(flat, environ={})
    broken = toml(tmp_path, "[server\nport = 1\n", "broken.toml")
    with pytest.raises(ConfigError, match=r"broken\.toml: not valid TOML"):
        load_config(broken, environ={})
    with pytest.raises(ConfigError, match="config file not found: .*missing.toml"):
        load_config(tmp_path / "missing.toml", environ={})


def test_replace_validates_as_well():
    config = load_config(environ={})
    assert config.replace(server__port=8080)["server.port"] == 8080
    with pytest.raises(ConfigError, match=r"server\.port \(from override\)"):
        config.replace(server__port=70000)


def _run(args, tmp_path, extra_env=None):
    env = {k: v for k, v in os.environ.items() if not k.startswith("KONTORA_")}
    env.update(extra_env or {})
    return subprocess.run(
        [str(KONTORA), *args],
        cwd=tmp_path,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_cli_reports_a_bad_value_in_one_line(tmp_path):
    path = toml(tmp_path, "[server]\nworkers = 0\n")
    result = _run(["--config", str(path), "addons", "list"], tmp_path)
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.strip() == (
        f"Error: server.workers (from {path}): expected a number of workers from 1 to 64, got 0"
    )

    result = _run(["addons", "list"], tmp_path, {"KONTORA_LOG_LEVEL": "chatty"})
    assert result.returncode == 1
    assert result.stderr.strip().splitlines() == [
        "Error: log.level (from KONTORA_LOG_LEVEL): expected one of: DEBUG, INFO, WARNING, "
        "ERROR, CRITICAL, got 'chatty'"
    ]
    assert not (tmp_path / "var").exists()
