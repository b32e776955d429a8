"""``kontora user ...``: adding users, passwords, copying rights, API keys, listing."""

from __future__ import annotations

import datetime
import io
import logging
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path

import pytest

import cli
from core.modules.manager import open_registry

KONTORA = Path(sys.executable).parent / "kontora"


@pytest.fixture
def url(databases, db_kind):
    return databases.url(db_kind)


@pytest.fixture
def config_file(tmp_path, url):
    path = tmp_path / "kontora.toml"
    path.write_text(
        f'[database]\nurl = "{url}"\n\n[addons]\npaths = []\n\n'
        f'[jobs]\nbackend = "immediate"\nsqlite_path = "{tmp_path / "jobs.sqlite3"}"\n\n'
        '[log]\nlevel = "WARNING"\n'
    )
    return path


@pytest.fixture
def kontora(capsys, monkeypatch, config_file):
    """``kontora(*args, stdin="")`` in this process: (exit code, stdout, stderr)."""

    def call(*args, stdin=""):
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        capsys.readouterr()
        with pytest.raises(SystemExit) as exited:
            cli.main(["--config", str(config_file), *map(str, args)])
        out, err = capsys.readouterr()
        return exited.value.code, out, err

    return call


@pytest.fixture
def registry(kontora, make_config, url):
    """The database initialised with ``base``; the registry to look at it from the test."""
    assert kontora("init", "--addons", "base")[0] == 0
    registry = open_registry(make_config(url=url, paths=[]))
    yield registry
    registry.db.close()


def one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr
    assert len(lines) == 1, stderr
    assert lines[0].startswith("Error: ")
    return lines[0]


def find_user(env, login):
    return env["res.users"].with_context(active_test=False).search([("login", "=", login)])


def group_xml_ids(env, login) -> set:
    data = env["ir.model.data"].search([("model", "=", "res.groups")])
    names = {row.res_id: f"{row.module}.{row.name}" for row in data}
    return {names.get(g.id, g.name) for g in find_user(env, login).groups_id}


def authenticates(registry, login, password) -> bool:
    with registry.transaction() as env:
        return env["res.users"].authenticate(login, password) is not None


def add(kontora, login, password, *args):
    return kontora("user", "add", login, *args, "--password-stdin", stdin=password + "\n")


def table(stdout: str) -> list[list[str]]:
    return [re.split(r"\s{2,}", line.strip()) for line in stdout.splitlines()]


# -- user add -------------------------------------------------------------------------------------------


def test_user_add_reads_the_password_from_stdin_and_gives_the_groups_named(kontora, registry):
    code, out, err = add(
        kontora,
        "alice",
        "alice-secret-1",
        "--name",
        "Alice Smith",
        "--email",
        "alice@example.com",
        "--group",
        "base.group_system",
        "--group",
        "Internal user",
    )
    assert (code, err) == (0, "")
    assert re.fullmatch(r"User alice created \(id \d+\)\n", out)
    code, _out, _err = add(kontora, "bob", "bob-secret-1")  # no group named: internal user
    assert code == 0
    code, _out, _err = add(
        kontora, "carol", "carol-secret-1", "--group", "Administration / Administrator"
    )
    assert code == 0

    with registry.transaction(write=False) as env:
        alice = find_user(env, "alice")
        assert (alice.name, alice.email, alice.active) == ("Alice Smith", "alice@example.com", True)
        assert group_xml_ids(env, "alice") == {"base.group_system", "base.group_user"}
        assert group_xml_ids(env, "bob") == {"base.group_user"}
        assert group_xml_ids(env, "carol") == {"base.group_system"}
        assert find_user(env, "bob").name == "bob"
        assert alice.has_group("base.group_system")
    assert authenticates(registry, "alice", "alice-secret-1")
    assert authenticates(registry, "bob", "bob-secret-1")


def test_user_add_refuses_bad_input_with_one_line_and_creates_nothing(kontora, registry):
    code, _out, err = add(kontora, "dave", "dave-secret-1", "--group", "base.group_nope")
    assert (code, one_error_line(err)) == (1, "Error: unknown group 'base.group_nope'")
    code, _out, err = add(kontora, "dave", "dave-secret-1", "--group", "Wizards")
    assert (code, one_error_line(err)) == (1, "Error: unknown group 'Wizards'")
    code, _out, err = add(kontora, "admin", "admin-secret-1")
    assert (code, one_error_line(err)) == (1, "Error: Another user already has this login.")
    code, _out, err = add(kontora, "dave", "short")
    assert (code, one_error_line(err)) == (1, "Error: A password has at least 8 characters")
    code, _out, err = kontora("user", "add", "dave", "--password-stdin", stdin="")
    assert (code, one_error_line(err)) == (1, "Error: no password on standard input")
    code, _out, err = kontora("user", "add", "dave")  # stdin is no terminal: nobody to ask
    assert code == 1
    assert "--password-stdin" in one_error_line(err)
    with registry.transaction(write=False) as env:
        assert not find_user(env, "dave")


# -- user list -------------------------------------------------------------------------------------------


def test_user_list_shows_login_name_groups_and_active(kontora, registry):
    add(kontora, "alice", "alice-secret-1", "--name", "Alice Smith", "--group", "base.group_system")
    add(kontora, "bob", "bob-secret-1", "--name", "Bob Jones")
    with registry.transaction() as env:
        find_user(env, "bob").write({"active": False})

    code, out, _err = kontora("user", "list")
    assert code == 0
    assert table(out) == [
        ["LOGIN", "NAME", "GROUPS", "ACTIVE"],
        ["admin", "Administrator", "base.group_system", "yes"],
        ["alice", "Alice Smith", "base.group_system", "yes"],
        ["bob", "Bob Jones", "base.group_user", "no"],
    ]


# -- user passwd -----------------------------------------------------------------------------------------


def test_passwd_from_stdin_replaces_the_password(kontora, registry):
    add(kontora, "alice", "alice-secret-1")
    code, out, _err = kontora("user", "passwd", "alice", "--password-stdin", stdin="second-1\n")
    assert (code, out) == (0, "Password of alice changed\n")
    assert not authenticates(registry, "alice", "alice-secret-1")
    assert authenticates(registry, "alice", "second-1")

    code, _out, err = kontora("user", "passwd", "nobody", "--password-stdin", stdin="x-1234567\n")
    assert (code, one_error_line(err)) == (1, "Error: no user with login 'nobody'")
    code, _out, err = kontora("user", "passwd", "alice", "--password-stdin", stdin="short\n")
    assert (code, one_error_line(err)) == (1, "Error: A password has at least 8 characters")
    assert authenticates(registry, "alice", "second-1")


def test_passwd_through_the_console_script_reads_a_pipe(config_file, kontora, registry, tmp_path):
    add(kontora, "alice", "alice-secret-1")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KONTORA_")}
    result = subprocess.run(
        [str(KONTORA), "--config", str(config_file), "user", "passwd", "alice", "--password-stdin"],
        input="piped-secret-1\n",
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert (result.returncode, result.stdout, result.stderr) == (
        0,
        "Password of alice changed\n",
        "",
    )
    assert authenticates(registry, "alice", "piped-secret-1")


def _talk(fd, answers, timeout=60) -> str:
    """Answer prompts on a pseudo-terminal: each (prompt, reply) in turn, then read to the end."""
    output = b""
    pending = list(answers)
    while True:
        ready, _w, _x = select.select([fd], [], [], timeout)
        if not ready:
            raise AssertionError(f"no output from the command; so far: {output!r}")
        try:
            chunk = os.read(fd, 1024)
        except OSError:  # the other end closed (Linux: EIO)
            return output.decode(errors="replace")
        if not chunk:
            return output.decode(errors="replace")
        output += chunk
        while pending and output.rstrip().endswith(pending[0][0].encode()):
            os.write(fd, pending.pop(0)[1].encode() + b"\n")
            output += b"\n"


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_passwd_asks_twice_on_a_terminal(config_file, kontora, registry, tmp_path):
    add(kontora, "alice", "alice-secret-1")
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KONTORA_")}
    args = [str(KONTORA), "--config", str(config_file), "user", "passwd", "alice"]
    pid, fd = pty.fork()
    if pid == 0:  # the child: the command, on the terminal
        os.chdir(tmp_path)
        os.execve(args[0], args, environ)
    try:
        output = _talk(
            fd,
            [
                ("Password:", "typed-secret-1"),
                ("Repeat the password:", "typed-secret-2"),  # a typo: asked again
                ("Password:", "typed-secret-1"),
                ("Repeat the password:", "typed-secret-1"),
            ],
        )
    finally:
        os.close(fd)
        _pid, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, output
    assert "do not match" in output
    assert "Password of alice changed" in output
    assert "typed-secret" not in output  # nothing echoed
    assert authenticates(registry, "alice", "typed-secret-1")


# -- user copy-rights -----------------------------------------------------------------------------------------


def test_copy_rights_gives_the_target_exactly_the_source_groups(kontora, registry):
    with registry.transaction() as env:
        env["res.groups"].create({"name": "Sales"})
    add(kontora, "alice", "alice-secret-1", "--group", "base.group_user", "--group", "Sales")
    add(kontora, "bob", "bob-secret-1", "--group", "base.group_system")

    code, out, _err = kontora("user", "copy-rights", "alice", "bob")
    assert (code, out) == (0, "bob now has the rights of alice: Sales, base.group_user\n")
    with registry.transaction(write=False) as env:
        alice, bob = find_user(env, "alice"), find_user(env, "bob")
        assert set(bob.groups_id.ids) == set(alice.groups_id.ids)
        assert group_xml_ids(env, "bob") == {"base.group_user", "Sales"}
        assert not bob.has_group("base.group_system")
        assert bob.company_id == alice.company_id

    code, _out, err = kontora("user", "copy-rights", "alice", "nobody")
    assert (code, one_error_line(err)) == (1, "Error: no user with login 'nobody'")
    code, _out, err = kontora("user", "copy-rights", "alice", "alice")
    assert (code, one_error_line(err)) == (1, "Error: FROM and TO are the same user")


# -- user api-key ---------------------------------------------------------------------------------------------


def api_key_user(registry, secret):
    with registry.transaction(write=False) as env:
        return env["res.users"].api_key_user(secret)


def test_api_key_is_printed_once_and_works_until_revoked(kontora, registry):
    add(kontora, "alice", "alice-secret-1")
    add(kontora, "bob", "bob-secret-1")
    code, out, err = kontora("user", "api-key", "alice", "--name", "ci")
    assert code == 0
    secret = out.strip()
    assert out == secret + "\n"
    assert secret.startswith("kt_")
    key_id = int(re.search(r"API key (\d+) for alice", err).group(1))
    with registry.transaction(write=False) as env:
        alice_id = find_user(env, "alice").id
    assert api_key_user(registry, secret) == alice_id

    code, out, _err = kontora("user", "api-key", "alice", "--list")
    assert code == 0
    assert table(out)[1][:2] == [str(key_id), "ci"]
    assert secret not in out

    code, _out, err = kontora("user", "api-key", "bob", "--revoke", key_id)
    assert (code, one_error_line(err)) == (1, "Error: No such API key for this user")
    assert api_key_user(registry, secret) == alice_id

    code, out, _err = kontora("user", "api-key", "alice", "--revoke", key_id)
    assert (code, out) == (0, f"API key {key_id} of alice revoked\n")
    assert api_key_user(registry, secret) is None


def test_api_key_stops_working_when_it_expires(kontora, registry):
    add(kontora, "alice", "alice-secret-1")
    tomorrow = datetime.date.today() + datetime.timedelta(days=1)
    code, out, err = kontora("user", "api-key", "alice", "--expires", tomorrow.isoformat())
    assert code == 0
    assert f"until {tomorrow.isoformat()}" in err
    secret = out.strip()
    assert api_key_user(registry, secret) is not None

    # Move the expiry into the past rather than waiting for it.
    table_ = registry.tables["res.users.apikey"]
    with registry.transaction():
        table_.update(expires_at=datetime.datetime(2000, 1, 1)).execute()
    assert api_key_user(registry, secret) is None

    code, _out, err = kontora("user", "api-key", "alice", "--expires", "2001-02-03")
    assert (code, one_error_line(err)) == (1, "Error: the expiry date 2001-02-03 is in the past")


def test_api_key_refused_for_unknown_or_archived_users(kontora, registry):
    code, _out, err = kontora("user", "api-key", "nobody")
    assert (code, one_error_line(err)) == (1, "Error: no user with login 'nobody'")
    add(kontora, "alice", "alice-secret-1")
    code, out, _err = kontora("user", "api-key", "alice")
    secret = out.strip()
    with registry.transaction() as env:
        find_user(env, "alice").write({"active": False})
    assert api_key_user(registry, secret) is None
    code, _out, err = kontora("user", "api-key", "alice")
    assert (code, one_error_line(err)) == (1, "Error: user 'alice' is archived")


# -- secrets stay secret ------------------------------------------------------------------------------------


def test_logout_ends_every_web_session_of_the_user(kontora, registry, make_config, url):
    from core.http.app import create_app

    assert add(kontora, "alice", "alice-secret-1")[0] == 0
    assert add(kontora, "bob", "bob-secret-1")[0] == 0
    app = create_app(make_config(url=url, paths=[]))

    def browser(login, password):
        client = app.test_client()
        with client.session_transaction() as session:
            session["csrf_token"] = "t"
        data = {"login": login, "password": password, "csrf_token": "t"}
        assert client.post("/web/login", data=data).status_code == 302
        return client

    alice = [browser("alice", "alice-secret-1") for _ in range(2)]
    bob = browser("bob", "bob-secret-1")
    assert all(c.get("/").status_code == 200 for c in [*alice, bob])

    assert kontora("user", "logout", "alice") == (0, "Ended 2 web sessions of alice\n", "")
    assert [c.get("/").status_code for c in alice] == [302, 302]
    assert [c.get("/api/v1/res.users").status_code for c in alice] == [401, 401]
    assert bob.get("/").status_code == 200
    assert kontora("user", "logout", "alice") == (0, "Ended 0 web sessions of alice\n", "")
    assert kontora("user", "logout", "bob")[1] == "Ended 1 web session of bob\n"

    code, _out, err = kontora("user", "logout", "nobody")
    assert (code, one_error_line(err)) == (1, "Error: no user with login 'nobody'")
    code, _out, err = kontora("user", "logout")
    assert code == 2 and "Missing argument 'LOGIN'" in err


def test_user_commands_never_show_password_hashes_even_when_logging_sql(kontora, registry, caplog):
    caplog.set_level(logging.DEBUG)
    outputs = [add(kontora, "alice", "alice-secret-1")]
    outputs.append(kontora("user", "passwd", "alice", "--password-stdin", stdin="second-1\n"))
    outputs.append(kontora("user", "list"))
    assert "res_users_credential" in caplog.text
    for _code, out, err in outputs:
        assert "$argon2" not in out + err
    assert "$argon2" not in caplog.text
    assert "<password hash>" in caplog.text
