"""The ``kontora`` command line: set up a database, manage addons, serve, back up."""

from __future__ import annotations

import logging
import sys

import click
import peewee

from core.config import load_config
from core.exceptions import KontoraError
from core.modules.manager import AddonManager, Progress, open_registry


class ClickProgress(Progress):
    """Progress bars on stderr for long steps, when stderr is a terminal (errors stay one line)."""

    def __init__(self):
        self._bar = None

    def start(self, label, total):
        self.finish()
        if not sys.stderr.isatty():
            return
        self._bar = click.progressbar(
            length=max(total, 1), label=label, file=sys.stderr, show_pos=True
        )
        self._bar.__enter__()

    def advance(self, amount=1):
        if self._bar is not None:
            self._bar.update(amount)

    def finish(self):
        if self._bar is not None:
            self._bar.__exit__(None, None, None)
            self._bar = None

    def message(self, text):
        click.echo(text, err=True)


def _config(ctx):
    if "config" not in ctx.obj:
        ctx.obj["config"] = load_config(ctx.obj.get("config_path"))
        logging.basicConfig(
            level=ctx.obj["config"]["log.level"],
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
    return ctx.obj["config"]


def _manager(ctx) -> AddonManager:
    return AddonManager(_config(ctx), progress=ClickProgress())


def _names(values) -> list[str]:
    names = []
    for value in values:
        names.extend(part.strip() for part in value.split(",") if part.strip())
    return names


@click.group()
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="A TOML file overriding defaults.",
)
@click.pass_context
def cli(ctx, config_path):
    """Kontora: an ERP for sales, stock and invoicing, extended with addons."""
    ctx.ensure_object(dict)
    ctx.obj["config_path"] = config_path


@cli.command()
@click.option("--demo", is_flag=True, help="Load demo data as well.")
@click.option(
    "--addons", "addons", default="", help="Comma-separated addons (default: every addon found)."
)
@click.pass_context
def init(ctx, demo, addons):
    """Create the database and install addons into it."""
    manager = _manager(ctx)
    names = (
        _names([addons])
        if addons
        else [
            name
            for name, info in manager.addons.items()
            if not info.error and info.source == "folder"
        ]
    )
    plan = manager.plan_install(names)
    registry = manager.install(names, demo=demo)
    installed = ", ".join(a.name for a in plan) or "nothing new"
    click.echo(f"Database {manager.config.database_url} ready; installed: {installed}")
    password = _first_admin_password(registry, demo)
    if password:
        click.echo(
            f"Sign in as admin with password: {password}"
            + ("" if demo else "  (shown once; change it)")
        )
    return registry


def _first_admin_password(registry, demo):
    """Give the admin a password if it has none yet: 'admin' on demo databases, else random."""
    import secrets

    with registry.transaction(su=True) as env:
        admin = env.ref("base.user_admin", raise_if_not_found=False)
        if not admin or env["res.users.credential"].search_count([("user_id", "=", admin.id)]):
            return None
        password = "admin" if demo else secrets.token_urlsafe(12)
        admin.set_password(password, check_policy=not demo)
        if demo:
            demo_user = env.ref("base.user_demo", raise_if_not_found=False)
            if demo_user:
                demo_user.set_password("demo1234")
    return password


@cli.group()
def addons():
    """List, install, upgrade and uninstall addons."""


@addons.command("list")
@click.pass_context
def addons_list(ctx):
    """Addons on disk with their versions and state."""
    rows = _manager(ctx).listing()
    header = ("NAME", "VERSION", "INSTALLED", "STATE", "SUMMARY")
    table = [
        (r["name"], r["version"], r["installed_version"] or "-", r["state"], r["summary"])
        for r in rows
    ]
    widths = [max(len(str(row[i])) for row in [header, *table]) for i in range(4)]
    for row in [header, *table]:
        click.echo(
            "  ".join(str(v).ljust(w) for v, w in zip(row[:4], widths, strict=True))
            + "  "
            + str(row[4])
        )


def _confirm(text, yes):
    if yes:
        return
    if not sys.stdin.isatty():
        raise KontoraError(f"{text} — not confirmed; run again with --yes")
    if not click.confirm(text, default=False):
        raise KontoraError("cancelled")


@addons.command("install")
@click.argument("names", nargs=-1, required=True)
@click.option("--demo", is_flag=True, help="Load demo data as well.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def addons_install(ctx, names, demo, yes):
    """Install addons and the addons they depend on."""
    manager = _manager(ctx)
    names = _names(names)
    plan = manager.plan_install(names)
    if not plan:
        click.echo("Already installed: " + ", ".join(names))
        return
    extra = [a.name for a in plan if a.name not in names]
    text = "Install " + ", ".join(a.name for a in plan)
    if extra:
        text += f" (needed: {', '.join(extra)})"
    _confirm(text + "?", yes or not extra)
    manager.install(names, demo=demo)
    click.echo("Installed: " + ", ".join(a.name for a in plan))


@addons.command("uninstall")
@click.argument("names", nargs=-1, required=True)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def addons_uninstall(ctx, names, yes):
    """Uninstall addons, and those depending on them, dropping their tables and data."""
    manager = _manager(ctx)
    names = _names(names)
    plan = manager.plan_uninstall(names)
    extra = [n for n in plan if n not in names]
    text = "Uninstall " + ", ".join(plan) + " and delete their data"
    if extra:
        text += f" ({', '.join(extra)} {'depends' if len(extra) == 1 else 'depend'} on {', '.join(names)})"
    _confirm(text + "?", yes)
    manager.uninstall(names)
    click.echo("Uninstalled: " + ", ".join(plan))


@addons.command("upgrade")
@click.argument("names", nargs=-1)
@click.option(
    "--all", "all_", is_flag=True, help="Upgrade every addon whose version on disk is newer."
)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def addons_upgrade(ctx, names, all_, yes):
    """Upgrade addons: schema, migration steps, data."""
    if not names and not all_:
        raise click.UsageError("name addons to upgrade, or use --all")
    manager = _manager(ctx)
    plan = manager.plan_upgrade(_names(names) or None)
    if not plan:
        click.echo("Everything is up to date.")
        return
    _confirm("Upgrade " + ", ".join(a.name for a in plan) + "?", yes or bool(names))
    manager.upgrade(_names(names) or None)
    click.echo("Upgraded: " + ", ".join(f"{a.name} {a.version}" for a in plan))


@cli.command()
@click.option("--host", default=None, help="Address to listen on (server.host).")
@click.option("--port", type=int, default=None, help="Port (server.port).")
@click.option("--workers", type=int, default=None, help="Worker processes (server.workers).")
@click.pass_context
def serve(ctx, host, port, workers):
    """Serve the web application with gunicorn."""
    from core.http.server import serve as run_server

    config = _config(ctx)
    overrides = {
        k: v
        for k, v in {"server.host": host, "server.port": port, "server.workers": workers}.items()
        if v
    }
    config = config.replace(**overrides) if overrides else config
    open_registry(config)
    pending = AddonManager(config).plan_upgrade()
    if pending:
        # The code expects their new tables and columns: serving would fail on every page.
        raise KontoraError(
            "addons newer on disk than in the database: "
            + ", ".join(f"{a.name} {a.version}" for a in pending)
            + "; run `kontora addons upgrade --all` first"
        )
    run_server(config)


@cli.command()
@click.pass_context
def worker(ctx):
    """Run the background job consumer (mail, periodic tasks)."""
    from core.modules.worker import run_worker

    run_worker(_config(ctx))


@cli.command()
@click.pass_context
def shell(ctx):
    """An interactive Python shell with `registry` and a superuser `env`."""
    import code

    registry = open_registry(_config(ctx))
    env = registry.env(su=True)
    banner = (
        "Kontora shell. `env['res.partner'].search([])`; `env.db.commit()` is not needed inside "
        "`with registry.transaction() as env:` blocks."
    )
    code.interact(banner=banner, local={"registry": registry, "env": env})


@cli.group()
def db():
    """Back up and restore the database."""


@db.command("backup")
@click.argument("file", type=click.Path(dir_okay=False))
@click.pass_context
def db_backup(ctx, file):
    """Write a consistent copy of the database to FILE (works while the server runs)."""
    from core.db.backup import backup

    backup(_config(ctx), file, progress=ClickProgress())
    click.echo(f"Backup written to {file}")


@db.command("restore")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@click.pass_context
def db_restore(ctx, file, yes):
    """Replace the database with the backup in FILE."""
    from core.db.backup import restore

    config = _config(ctx)
    _confirm(f"Replace {config.database_url} with {file}?", yes)
    restore(config, file, progress=ClickProgress())
    click.echo(f"Database restored from {file}")


# -- users ------------------------------------------------------------------------------------------


@cli.group()
def user():
    """Add users, set passwords, copy rights, manage API keys, end web sessions."""


def _users_env(ctx, write=True):
    """The command's one transaction, as the system: whoever runs the CLI administers the database."""
    return open_registry(_config(ctx)).transaction(su=True, write=write)


def _find_user(env, login):
    found = (
        env["res.users"].with_context(active_test=False).search([("login", "=", login)], limit=1)
    )
    if not found:
        raise KontoraError(f"no user with login {login!r}")
    return found


def _find_group(env, text):
    """A group by external id (``base.group_system``) or by name (``Administrator``)."""
    if "." in text and " " not in text:
        group = env.ref(text, raise_if_not_found=False)
        if group is not None and group._name == "res.groups":
            return group
    groups = env["res.groups"]
    found = groups.search([("name", "=", text)])
    if not found:
        found = groups.browse([g.id for g in groups.search([]) if g.display_name == text])
    if len(found) > 1:
        raise KontoraError(f"group name {text!r} is ambiguous: give its external id")
    if not found:
        raise KontoraError(f"unknown group {text!r}")
    return found


def _group_labels(env, groups) -> dict:
    """Group id → its external id where it has one, else its name."""
    data = env["ir.model.data"].search([("model", "=", "res.groups"), ("res_id", "in", groups.ids)])
    xml_ids = {row.res_id: f"{row.module}.{row.name}" for row in data}
    return {group.id: xml_ids.get(group.id, group.name) for group in groups}


def _read_password(from_stdin: bool) -> str:
    """The first line of standard input, or asked twice on a terminal."""
    if from_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        if not password:
            raise KontoraError("no password on standard input")
        return password
    if not sys.stdin.isatty():
        raise KontoraError(
            "standard input is not a terminal: give the password with --password-stdin"
        )
    return click.prompt("Password", hide_input=True, confirmation_prompt="Repeat the password")


_PASSWORD_STDIN = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input.",
)


@user.command("add")
@click.argument("login")
@click.option("--name", help="Full name (default: the login).")
@click.option("--email", help="E-mail address.")
@click.option("--lang", type=click.Choice(["en", "ru"]), help="Language of the interface.")
@click.option(
    "--group",
    "groups",
    multiple=True,
    metavar="XMLID|NAME",
    help="A group by external id or name; repeat for more (default: base.group_user).",
)
@_PASSWORD_STDIN
@click.pass_context
def user_add(ctx, login, name, email, lang, groups, password_stdin):
    """Create a user who signs in with LOGIN and a password (asked twice on a terminal)."""
    if not login.strip():
        raise KontoraError("a login cannot be empty")
    password = _read_password(password_stdin)
    with _users_env(ctx) as env:
        wanted = groups or ["base.group_user"]
        group_ids = list(dict.fromkeys(_find_group(env, g).id for g in wanted))
        values = {
            "login": login,
            "name": name or login,
            "email": email,
            "groups_id": [(6, 0, group_ids)],
            "company_id": env["res.company"].search([], limit=1).id or None,
        }
        if lang:
            values["lang"] = lang
        new_user = env["res.users"].create(values)
        new_user.set_password(password)
        user_id = new_user.id
    click.echo(f"User {login} created (id {user_id})")


@user.command("passwd")
@click.argument("login")
@_PASSWORD_STDIN
@click.pass_context
def user_passwd(ctx, login, password_stdin):
    """Set the password of LOGIN (asked twice on a terminal)."""
    if not password_stdin and sys.stdin.isatty():
        with _users_env(ctx, write=False) as env:
            _find_user(env, login)  # before asking, not after
    password = _read_password(password_stdin)
    with _users_env(ctx) as env:
        _find_user(env, login).set_password(password)
    click.echo(f"Password of {login} changed")


@user.command("copy-rights")
@click.argument("source_login", metavar="FROM")
@click.argument("target_login", metavar="TO")
@click.pass_context
def user_copy_rights(ctx, source_login, target_login):
    """Give user TO exactly the groups (and company) of user FROM."""
    with _users_env(ctx) as env:
        source, target = _find_user(env, source_login), _find_user(env, target_login)
        if source.id == target.id:
            raise KontoraError("FROM and TO are the same user")
        source.copy_rights_to(target)
        labels = _group_labels(env, target.groups_id)
    groups = ", ".join(sorted(labels.values())) or "no groups"
    click.echo(f"{target_login} now has the rights of {source_login}: {groups}")


@user.command("api-key")
@click.argument("login")
@click.option("--name", help="What the key is for (default: 'API key').")
@click.option(
    "--expires",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    metavar="YYYY-MM-DD",
    help="The last day (UTC) the key works; default: it does not expire.",
)
@click.option("--revoke", "revoke_id", type=int, metavar="ID", help="Revoke the key ID instead.")
@click.option("--list", "list_keys", is_flag=True, help="List the user's keys instead.")
@click.pass_context
def user_api_key(ctx, login, name, expires, revoke_id, list_keys):
    """Create an API key for LOGIN and print it (it is shown only now), or revoke or list keys."""
    import datetime

    from core.orm.support import utcnow

    if (revoke_id is not None or list_keys) and (name or expires):
        raise click.UsageError("--name and --expires are for creating a key")
    if revoke_id is not None and list_keys:
        raise click.UsageError("--revoke and --list cannot be combined")
    with _users_env(ctx, write=not list_keys) as env:
        owner = _find_user(env, login)
        if list_keys:
            keys = env["res.users.apikey"].with_context(active_test=False)
            rows = [
                (
                    str(k.id),
                    k.name,
                    f"kt_{k.prefix}_…",
                    f"{k.expires_at:%Y-%m-%d %H:%M} UTC" if k.expires_at else "-",
                    f"{k.last_used:%Y-%m-%d %H:%M} UTC" if k.last_used else "-",
                    "yes" if k.active else "revoked",
                )
                for k in keys.search([("user_id", "=", owner.id)])
            ]
        elif revoke_id is not None:
            owner.api_key_revoke(revoke_id)
        else:
            if not owner.active:
                raise KontoraError(f"user {login!r} is archived")
            expires_at = expires + datetime.timedelta(days=1) if expires else None
            if expires_at is not None and expires_at <= utcnow():
                raise KontoraError(f"the expiry date {expires:%Y-%m-%d} is in the past")
            secret = owner.api_key_create(name or "API key", expires_at)
            key = env["res.users.apikey"].search([("prefix", "=", secret.split("_")[1])], limit=1)
            key_id = key.id
    if list_keys:
        _echo_table(("ID", "NAME", "KEY", "EXPIRES", "LAST USED", "ACTIVE"), rows)
    elif revoke_id is not None:
        click.echo(f"API key {revoke_id} of {login} revoked")
    else:
        until = f"until {expires:%Y-%m-%d} (UTC)" if expires else "without expiry"
        click.echo(f"API key {key_id} for {login}, valid {until}; it is shown only now:", err=True)
        click.echo(secret)


@user.command("logout")
@click.argument("login")
@click.pass_context
def user_logout(ctx, login):
    """End every web session of LOGIN: the user must sign in again everywhere."""
    with _users_env(ctx) as env:
        count = _find_user(env, login).end_sessions()
    click.echo(f"Ended {count} web session{'' if count == 1 else 's'} of {login}")


@user.command("list")
@click.pass_context
def user_list(ctx):
    """Users with their groups and whether they are active (may sign in)."""
    with _users_env(ctx, write=False) as env:
        root = env.ref("base.user_root", raise_if_not_found=False)
        users = (
            env["res.users"]
            .with_context(active_test=False)
            .search([("id", "!=", root.id if root else 0)], order="login")
        )
        labels = _group_labels(env, env["res.groups"].search([]))
        rows = [
            (
                u.login,
                u.name,
                ",".join(sorted(labels[g.id] for g in u.groups_id)) or "-",
                "yes" if u.active else "no",
            )
            for u in users
        ]
    _echo_table(("LOGIN", "NAME", "GROUPS", "ACTIVE"), rows)


# -- webhooks ----------------------------------------------------------------------------------------


@cli.group()
def webhooks():
    """Outgoing webhooks: queue lost deliveries again, prune the delivery log."""


def _deliveries(count: int) -> str:
    return f"{count} webhook {'delivery' if count == 1 else 'deliveries'}"


@webhooks.command("requeue")
@click.pass_context
def webhooks_requeue(ctx):
    """Queue again the pending deliveries whose job was lost (overdue by over 15 minutes)."""
    from core.base.webhook import requeue_lost

    config = _config(ctx)
    count = requeue_lost(open_registry(config))
    text = f"Re-queued {_deliveries(count)}"
    if count and config["jobs.backend"] != "immediate":
        text += "; `kontora worker` sends them"
    click.echo(text)


def _days(value) -> int | None:
    """``--days``: a whole number of days from 1; a bad one is a one-line user error."""
    from core.base.webhook import MAX_KEEP_DAYS

    if value is None:
        return None
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= MAX_KEEP_DAYS:
        raise KontoraError(
            f"--days: expected a whole number of days from 1 to {MAX_KEEP_DAYS}, got {value!r}"
        )
    return int(text)


@webhooks.command("prune")
@click.option(
    "--days",
    metavar="N",
    help="Delete sent and failed deliveries older than N days (default: webhooks.keep_days).",
)
@click.pass_context
def webhooks_prune(ctx, days):
    """Delete sent and failed deliveries older than N days; pending ones are kept."""
    from core.base.webhook import keep_days, prune_deliveries

    days = _days(days)
    config = _config(ctx)
    if days is None:
        days = keep_days(config)
        if days == 0:
            click.echo("webhooks.keep_days is 0: the delivery log is kept; nothing removed")
            return
    removed = prune_deliveries(open_registry(config), days)
    click.echo(f"Removed {_deliveries(removed)} sent or failed more than {days} days ago")


def _echo_table(header, rows):
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header) - 1)]
    for row in [header, *rows]:
        cells = [str(v).ljust(w) for v, w in zip(row[:-1], widths, strict=True)]
        click.echo("  ".join([*cells, str(row[-1])]).rstrip())


def _config_path_in(argv) -> str | None:
    """The ``--config FILE`` given before the command, if any."""
    for index, arg in enumerate(argv):
        if arg == "--config" and index + 1 < len(argv):
            return argv[index + 1]
        if arg.startswith("--config="):
            return arg.split("=", 1)[1]
        if not arg.startswith("-"):
            break
    return None


def _command_in(argv) -> str | None:
    """The first argument that is not a root option (``--config FILE`` skipped)."""
    index = 0
    while index < len(argv):
        arg = argv[index]
        if arg == "--config":
            index += 2
            continue
        if arg.startswith("-"):
            if arg in ("--help", "-h"):
                return arg
            index += 1
            continue
        return arg
    return None


def _add_addon_commands(argv):
    """Commands of installed addons (``register_commands``), when a database is there."""
    try:
        config = load_config(_config_path_in(argv))
        manager = AddonManager(config)
        if not manager.installed():
            return
        from core.modules.loading import load_registry

        registry = load_registry(config, manager.db)
        registry.pm.hook.register_commands(cli=cli)
    except Exception:  # a broken database must not break `kontora --help` or `kontora init`
        logging.getLogger(__name__).debug("addon commands not loaded", exc_info=True)


def main(argv=None):
    """Entry point: user errors print one line and exit 1; usage errors exit 2."""
    if argv is None:
        command = _command_in(sys.argv[1:])
        if command is not None and command not in cli.commands and command not in ("--help", "-h"):
            _add_addon_commands(sys.argv[1:])
    try:
        cli.main(args=argv, prog_name="kontora", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(1)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except KontoraError as exc:
        click.echo("Error: " + " ".join(str(exc).split()), err=True)  # always one line
        sys.exit(1)
    except peewee.OperationalError as exc:  # cannot connect, database locked, ...
        logging.getLogger("kontora").debug("database error", exc_info=True)
        click.echo(f"Error: database: {' '.join(str(exc).split())}", err=True)
        sys.exit(1)
    except Exception as exc:
        logging.getLogger("kontora").debug("unexpected error", exc_info=True)
        text = " ".join(str(exc).split())  # one line, whatever the library put in its message
        click.echo(
            f"Error: unexpected {type(exc).__name__}: {text} (set KONTORA_LOG_LEVEL=DEBUG for details)",
            err=True,
        )
        sys.exit(1)
    sys.exit(0)


if __name__ == "__main__":
    main()
