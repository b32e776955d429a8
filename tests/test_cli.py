"""The ``kontora`` command line: exit codes, one-line errors, confirmations, backups."""

from __future__ import annotations

import io
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from lifecycle_support import (
    FIXTURE_ADDONS,
    MIGRATION_FAILS,
    MIGRATION_OK,
    bumped_fx_migrate,
    dump,
    rows,
    sqlite_path,
)

import cli
from core.modules.discovery import BASE_VERSION
from core.modules.manager import AddonManager

KONTORA = Path(sys.executable).parent / "kontora"


def write_config(path: Path, url: str, addons_paths=(FIXTURE_ADDONS,)) -> Path:
    paths = ", ".join(f'"{p}"' for p in addons_paths)
    path.write_text(
        f'[database]\nurl = "{url}"\n\n[addons]\npaths = [{paths}]\n\n'
        f'[jobs]\nbackend = "immediate"\nsqlite_path = "{path.parent / "jobs.sqlite3"}"\n\n'
        '[log]\nlevel = "WARNING"\n'
    )
    return path


def run(*args, cwd):
    """The installed console script in a subprocess, stdin not a terminal."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KONTORA_")}
    return subprocess.run(
        [str(KONTORA), *map(str, args)],
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def kontora(capsys, monkeypatch):
    """``kontora(*args)`` in this process, stdin not a terminal: (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(""))

    def call(*args):
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            cli.main([str(a) for a in args])
        out, err = capsys.readouterr()
        return exited.value.code, out, err

    return call


@pytest.fixture
def url(databases, db_kind):
    return databases.url(db_kind)


@pytest.fixture
def config_file(tmp_path, url):
    return write_config(tmp_path / "kontora.toml", url)


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


def installed(url) -> dict:
    return dict(
        rows(url, "SELECT name, latest_version FROM ir_module_module WHERE state = 'installed'")
    )


def listing(stdout: str) -> dict:
    lines = stdout.splitlines()
    assert re.split(r"\s{2,}", lines[0].strip()) == [
        "NAME",
        "VERSION",
        "INSTALLED",
        "STATE",
        "SUMMARY",
    ]
    result = {}
    for line in lines[1:]:
        name, version, installed_version, state, summary = re.split(
            r"\s{2,}", line.strip(), maxsplit=4
        )
        result[name] = (version, installed_version, state, summary)
    return result


# -- addons list / install / uninstall --------------------------------------------------------------


def test_init_then_list_shows_versions_state_and_summary(kontora, config_file, tmp_path, url):
    code, out, _err = kontora("--config", config_file, "init", "--addons", "fx_migrate")
    assert code == 0
    assert "installed: base, fx_migrate" in out

    newer = bumped_fx_migrate(tmp_path / "newer")
    newer_config = write_config(tmp_path / "newer.toml", url, [newer, FIXTURE_ADDONS])
    code, out, _err = kontora("--config", newer_config, "addons", "list")
    assert code == 0
    table = listing(out)
    assert table["fx_migrate"] == (
        "1.1",
        "1.0",
        "installed",
        "Test fixture: upgraded by the tests to 1.1 with a migration",
    )
    assert table["base"][1:3] == (BASE_VERSION, "installed")
    assert table["fx_extend"] == (
        "1.0",
        "-",
        "uninstalled",
        "Test fixture: extends fx.item, declares fx.tag",
    )
    assert table["fx_bad_manifest"][:3] == ("?", "-", "broken")
    assert "'version' must be a str" in table["fx_bad_manifest"][3]

    code, out, _err = kontora("--config", newer_config, "addons", "upgrade", "--all", "--yes")
    assert code == 0
    assert out.strip() == "Upgraded: fx_migrate 1.1"
    assert installed(url)["fx_migrate"] == "1.1"
    code, out, _err = kontora("--config", newer_config, "addons", "upgrade", "--all")
    assert (code, out.strip()) == (0, "Everything is up to date.")


def test_install_names_what_else_comes_along_and_asks(kontora, config_file, tmp_path, url):
    assert kontora("--config", config_file, "init", "--addons", "base")[0] == 0

    refused = run("--config", config_file, "addons", "install", "fx_extend", cwd=tmp_path)
    assert refused.returncode == 1
    line = one_error_line(refused.stderr)
    assert "Install fx_base, fx_extend (needed: fx_base)?" in line
    assert "--yes" in line
    assert installed(url) == {"base": BASE_VERSION}

    code, out, _err = kontora("--config", config_file, "addons", "install", "fx_extend", "--yes")
    assert code == 0
    assert out.strip() == "Installed: fx_base, fx_extend"
    assert installed(url) == {"base": BASE_VERSION, "fx_base": "1.0", "fx_extend": "1.0"}

    # Nothing else needed: no question.
    code, out, _err = kontora("--config", config_file, "addons", "install", "fx_extend_more")
    assert (code, out.strip()) == (0, "Installed: fx_extend_more")
    code, out, _err = kontora("--config", config_file, "addons", "install", "fx_extend_more")
    assert (code, out.strip()) == (0, "Already installed: fx_extend_more")


def test_uninstall_names_dependents_and_asks(kontora, config_file, tmp_path, url):
    assert kontora("--config", config_file, "init", "--addons", "fx_extend")[0] == 0
    before = dump(url)

    refused = run("--config", config_file, "addons", "uninstall", "fx_base", cwd=tmp_path)
    assert refused.returncode == 1
    line = one_error_line(refused.stderr)
    assert (
        "Uninstall fx_extend, fx_base and delete their data (fx_extend depends on fx_base)?" in line
    )
    assert dump(url) == before

    code, out, _err = kontora("--config", config_file, "addons", "uninstall", "fx_base", "--yes")
    assert (code, out.strip()) == (0, "Uninstalled: fx_extend, fx_base")
    assert installed(url) == {"base": BASE_VERSION}
    assert not [t for t in dump(url) if t.startswith("fx_")]

    code, _out, err = kontora("--config", config_file, "addons", "uninstall", "base", "--yes")
    assert code == 1
    assert one_error_line(err) == "Error: addon 'base' cannot be uninstalled"


def test_addon_commands_are_found_with_the_config_given(config_file, make_config, tmp_path, url):
    AddonManager(make_config(url=url)).install(["fx_base"])
    result = run("--config", config_file, "fx-hello", cwd=tmp_path)
    assert (result.returncode, result.stdout.strip()) == (0, "hello from fx_base")
    assert not (tmp_path / "var").exists()  # the default database was never touched


# -- errors: exit 1, one line, nothing written -------------------------------------------------------


def test_failing_migration_exits_1_with_its_message_and_changes_nothing(
    kontora, config_file, tmp_path, url
):
    assert kontora("--config", config_file, "init", "--addons", "fx_migrate")[0] == 0
    before = dump(url)
    failing = bumped_fx_migrate(tmp_path / "failing", MIGRATION_FAILS)
    failing_config = write_config(tmp_path / "failing.toml", url, [failing, FIXTURE_ADDONS])

    result = run("--config", failing_config, "addons", "upgrade", "fx_migrate", cwd=tmp_path)
    assert result.returncode == 1
    line = one_error_line(result.stderr)
    assert line.startswith("Error: addon 'fx_migrate' (")
    assert str(failing / "fx_migrate" / "migrations" / "1.1.py") in line
    assert line.endswith(
        "migration to 1.1 failed: ValueError: thing codes cannot be converted: 'A' and 'K' are taken"
    )
    assert dump(url) == before

    good = bumped_fx_migrate(tmp_path / "good", MIGRATION_OK)
    good_config = write_config(tmp_path / "good.toml", url, [good, FIXTURE_ADDONS])
    code, out, _err = kontora("--config", good_config, "addons", "upgrade", "fx_migrate")
    assert (code, out.strip()) == (0, "Upgraded: fx_migrate 1.1")


BROKEN = {
    "fx_missing_dep": "depends on 'fx_nowhere', which is not found in the addons paths",
    "fx_cycle_a": "dependency cycle fx_cycle_a -> fx_cycle_b -> fx_cycle_a",
    "fx_bad_manifest": "'version' must be a str, got float",
}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_addon_exits_1_names_it_and_creates_nothing(config_file, tmp_path, url, name):
    result = run("--config", config_file, "init", "--addons", f"fx_base,{name}", cwd=tmp_path)
    assert result.returncode == 1
    manifest = FIXTURE_ADDONS / name / "manifest.toml"
    assert one_error_line(result.stderr) == f"Error: addon '{name}' ({manifest}): {BROKEN[name]}"
    path = sqlite_path(url)
    if path is not None:
        assert not path.exists()
    else:
        assert dump(url) == {}


@pytest.mark.parametrize("name", sorted(BROKEN))
def test_broken_addon_leaves_existing_database_unchanged(kontora, config_file, url, name):
    assert kontora("--config", config_file, "init", "--addons", "fx_base")[0] == 0
    before = dump(url)
    code, _out, err = kontora(
        "--config", config_file, "addons", "install", name, "fx_extend", "--yes"
    )
    assert code == 1
    assert f"addon '{name}' ({FIXTURE_ADDONS / name / 'manifest.toml'})" in one_error_line(err)
    assert dump(url) == before


def test_unknown_addon_and_not_initialised_database(kontora, config_file, url):
    code, _out, err = kontora("--config", config_file, "addons", "install", "fx_nothing", "--yes")
    assert code == 1
    assert one_error_line(err) == "Error: addon 'fx_nothing' is not found in the addons paths"
    code, _out, err = kontora("--config", config_file, "addons", "upgrade", "fx_base")
    assert code == 1
    assert one_error_line(err) == "Error: addon 'fx_base' is not installed"
    path = sqlite_path(url)
    if path is not None:
        assert not path.exists()


def test_unreachable_database_is_one_line(tmp_path):
    config_file = write_config(tmp_path / "k.toml", "postgresql://kontora@127.0.0.1:1/kontora")
    result = run("--config", config_file, "addons", "list", cwd=tmp_path)
    assert result.returncode == 1
    line = one_error_line(result.stderr)
    assert line.startswith("Error: database: ")
    assert "127.0.0.1" in line


@pytest.mark.parametrize(
    "args",
    [
        ["addons", "upgrade"],  # neither names nor --all
        ["addons", "install"],  # no names
        ["no-such-command"],
        ["addons", "list", "--bogus-option"],
    ],
)
def test_usage_errors_exit_2(tmp_path, args):
    config_file = write_config(tmp_path / "k.toml", f"sqlite:///{tmp_path / 'db.sqlite3'}")
    result = run("--config", config_file, *args, cwd=tmp_path)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "Usage: kontora" in result.stderr
    assert not (tmp_path / "db.sqlite3").exists()


# -- backup and restore --------------------------------------------------------------------------------


def test_backup_and_restore_round_trip(kontora, config_file, make_config, tmp_path, url):
    assert kontora("--config", config_file, "init", "--addons", "fx_base")[0] == 0
    with AddonManager(make_config(url=url)).install([]).transaction() as env:
        env.ref("fx_base.item_hammer").name = "Hammer (before backup)"
    at_backup = dump(url)
    backup = tmp_path / "backups" / "kontora.backup"

    code, out, _err = kontora("--config", config_file, "db", "backup", backup)
    assert (code, out.strip()) == (0, f"Backup written to {backup}")
    assert backup.stat().st_size > 0

    # Work goes on after the backup: data changes, an addon is installed.
    registry = AddonManager(make_config(url=url)).install(["fx_extend"])
    with registry.transaction() as env:
        env.ref("fx_base.item_hammer").name = "Hammer (after backup)"
        env.ref("fx_base.item_kept").unlink()
        env["fx.item"].create({"name": "created after the backup"})
    registry.db.close()
    assert dump(url) != at_backup

    code, _out, err = kontora("--config", config_file, "db", "restore", backup)
    assert code == 1  # not confirmed: stdin is not a terminal here
    assert "--yes" in one_error_line(err)

    code, out, err = kontora("--config", config_file, "db", "restore", backup, "--yes")
    assert (code, out.strip(), err) == (0, f"Database restored from {backup}", "")
    assert dump(url) == at_backup
    assert installed(url) == {"base": BASE_VERSION, "fx_base": "1.0"}

    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("hello")
    damaged = tmp_path / "damaged.backup"
    damaged.write_bytes(backup.read_bytes()[:2000])
    for bad in (not_a_backup, damaged):
        code, _out, err = kontora("--config", config_file, "db", "restore", bad, "--yes")
        assert code == 1
        assert str(bad) in one_error_line(err)
        assert dump(url) == at_backup


def test_serve_refuses_a_database_whose_addons_need_an_upgrade(kontora, config_file, tmp_path, url):
    code, _out, _err = kontora("--config", config_file, "init", "--addons", "fx_migrate")
    assert code == 0
    newer = bumped_fx_migrate(tmp_path / "newer")
    newer_config = write_config(tmp_path / "newer.toml", url, [newer, FIXTURE_ADDONS])
    code, _out, err = kontora("--config", newer_config, "serve", "--port", "1")
    assert code == 1
    assert one_error_line(err) == (
        "Error: addons newer on disk than in the database: fx_migrate 1.1; "
        "run `kontora addons upgrade --all` first"
    )
    code, out, _err = kontora("--config", newer_config, "addons", "upgrade", "--all", "--yes")
    assert code == 0 and "Upgraded: fx_migrate 1.1" in out
    code, out, _err = kontora("--config", newer_config, "addons", "upgrade", "--all", "--yes")
    assert code == 0 and "Everything is up to date." in out


def test_serve_says_at_once_that_the_port_is_taken(kontora, config_file):
    assert kontora("--config", config_file, "init", "--addons", "base")[0] == 0
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        started = time.monotonic()
        code, out, err = kontora("--config", config_file, "serve", "--port", port)
        assert time.monotonic() - started < 10  # no retries of the bind
    assert code == 1 and "serving" not in out
    assert one_error_line(err) == (
        f"Error: port {port} on 127.0.0.1 is taken by another program; stop it or choose "
        "another port with --port (server.port)"
    )
