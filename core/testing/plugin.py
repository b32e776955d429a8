"""Kontora's pytest plugin, loaded through the ``pytest11`` entry point wherever kontora is
installed: databases of both kinds with addons installed from per-run templates, the web
client, a browser, an SMTP server. ``docs/writing-addons.md`` lists the fixtures.

Every fixture here can be overridden by a ``conftest.py`` fixture of the same name.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from types import MappingProxyType

import pytest

from core.config import load_config
from core.testing import turns
from core.testing.databases import DB_KINDS, Databases
from core.testing.smtp import SmtpServer
from core.testing.templates import AddonTemplates, TemplateAddonManager
from core.testing.web import make_app, serving, signed_in

CHROMIUM = os.environ.get("KONTORA_TEST_CHROMIUM", "/usr/bin/chromium")
REQUIRE_BROWSER = os.environ.get("KONTORA_TEST_REQUIRE_BROWSER") == "1"
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)
# Passwords are argon2id hashes; the library's default cost (64 MiB, 3 passes, 4 lanes) is
# for production. Tests hash the same way at the lowest cost, unless they set their own.
FAST_HASHING = MappingProxyType(
    {
        "security.argon2_time_cost": 1,
        "security.argon2_memory_kib": 8,
        "security.argon2_parallelism": 1,
    }
)


def pytest_addoption(parser):
    parser.addini(
        "kontora_addons_paths",
        "addons paths of make_config() (relative to the ini file's folder)",
        type="paths",
        default=[],
    )
    parser.addini(
        "kontora_screenshots",
        "folder where the page fixture saves a screenshot of each browser test (empty: none)",
        default="",
    )


def pytest_configure(config):
    config.addinivalue_line("markers", "postgres: needs PostgreSQL")
    config.addinivalue_line(
        "markers",
        "kontora_alone: runs while no other test of the run (nor a background database "
        "operation) writes to the database server (see core.testing.turns)",
    )
    if not hasattr(config, "workerinput"):  # the main process, not an xdist worker
        config._kontora_turns = turns.begin()
    # Test databases are thrown away: their commits need not wait for the disk. Every
    # libpq connection of the run (and of the commands it starts) reads PGOPTIONS.
    os.environ.setdefault("PGOPTIONS", "-c synchronous_commit=off")


def pytest_unconfigure(config):
    turns.end(getattr(config, "_kontora_turns", None))


# -- isolation ----------------------------------------------------------------------------------
# Translations need none: catalogs belong to registries (core.i18n), so a test never sees
# the addons of a registry another test built.


_SPLIT_TURN = pytest.StashKey[bool]()


def _turn(item):
    return turns.alone() if item.get_closest_marker("kontora_alone") else turns.shared()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item, nextitem):
    if nextitem is None:
        # The last test of this process: its teardown also ends the session's fixtures,
        # whose database pool needs the shared lock to drop its copies. Holding the turn
        # there (exclusively, for an ``alone`` test) would wait for itself: the turn covers
        # the test's setup and its call instead.
        item.stash[_SPLIT_TURN] = True
        return (yield)
    with _turn(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_setup(item):
    if not item.stash.get(_SPLIT_TURN, False):
        return (yield)
    with _turn(item):
        return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    if not item.stash.get(_SPLIT_TURN, False):
        return (yield)
    with _turn(item):
        return (yield)


# -- databases and configuration ----------------------------------------------------------------


@pytest.fixture(params=DB_KINDS)
def db_kind(request):
    """``sqlite`` or ``postgresql``: every test using a database runs on both
    (``KONTORA_TEST_DBS=sqlite`` narrows it)."""
    return request.param


@pytest.fixture
def databases(tmp_path, kontora_templates):
    """``databases.url(kind)``: a new empty database; PostgreSQL ones dropped afterwards."""
    dbs = Databases(tmp_path, kontora_templates.pool)
    yield dbs
    dbs.drop_all()


@pytest.fixture(scope="session")
def kontora_templates(tmp_path_factory):
    """The installed states built in this run (per xdist worker), copied for each test."""
    with AddonTemplates(tmp_path_factory.mktemp("templates")) as templates:
        yield templates


@pytest.fixture
def kontora_addons_paths(pytestconfig):
    """The addons paths ``make_config()`` uses by default: the ``kontora_addons_paths`` ini
    option; override this fixture in a conftest.py for other folders."""
    return list(pytestconfig.getini("kontora_addons_paths"))


@pytest.fixture
def make_config(databases, db_kind, tmp_path, kontora_addons_paths, kontora_templates):
    """``make_config(paths=[...], url=None, **overrides)``: a config on a new database of this
    run's kind; overrides as ``section__key=value``."""

    def factory(paths=None, url=None, **overrides):
        values = {
            "database.url": url or databases.url(db_kind),
            "addons.paths": [
                str(p) for p in (paths if paths is not None else kontora_addons_paths)
            ],
            "jobs.backend": "immediate",
            "jobs.sqlite_path": str(tmp_path / "jobs.sqlite3"),
            **FAST_HASHING,
        }
        values.update({k.replace("__", "."): v for k, v in overrides.items()})
        return load_config(environ={}, overrides=values)

    return factory


@pytest.fixture
def config(make_config):
    """A config on a new database of this run's kind, with the default addons paths."""
    return make_config()


@pytest.fixture
def manager(config):
    """An ``AddonManager`` on ``config``; its first install copies a template."""
    mgr = TemplateAddonManager(config)
    yield mgr
    if not mgr.db.is_closed():
        mgr.db.close()


@pytest.fixture
def install(manager):
    """``install("my_addon", ..., demo=False)``: install addons, return the registry."""

    def do(*names, demo=False):
        return manager.install(list(names), demo=demo)

    return do


@pytest.fixture
def registry(install):
    """A registry with only ``base`` installed."""
    return install()


@pytest.fixture
def env(registry):
    """A superuser environment on the registry (each ORM call commits on its own)."""
    return registry.env(su=True)


@pytest.fixture
def make_user():
    """``make_user(env, login, ["my_addon.group_x"], **values)``: a user in those groups."""

    def make(env, login, group_xml_ids, **values):
        groups = [env.ref(x).id for x in group_xml_ids]
        vals = {"name": login.title(), "login": login, "groups_id": [(6, 0, groups)]}
        return env["res.users"].create({**vals, **values})

    return make


# -- the web client -----------------------------------------------------------------------------


@pytest.fixture
def web_app(registry):
    """The Flask application on the ``registry`` fixture's database (testing mode)."""
    return make_app(registry.config)


@pytest.fixture
def web_client(web_app):
    """A Flask test client of ``web_app``, signed in as nobody."""
    return web_app.test_client()


@pytest.fixture
def sign_in(web_app):
    """``sign_in(login, password, app=web_app)``: a test client signed in as ``login``
    (``client.token`` is its CSRF token)."""

    def do(login, password, app=None):
        return signed_in(app or web_app, login, password)

    return do


@pytest.fixture
def live_server():
    """``live_server(app)``: serve ``app`` on a free loopback port; returns the base URL."""
    with _ServerStack() as servers:
        yield servers.serve


class _ServerStack:
    def __init__(self):
        self.contexts = []

    def serve(self, app) -> str:
        context = serving(app)
        self.contexts.append(context)
        return context.__enter__()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        while self.contexts:
            self.contexts.pop().__exit__(None, None, None)


# -- a browser ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (``/usr/bin/chromium``, or ``KONTORA_TEST_CHROMIUM``) driven by
    playwright, once per test module (playwright's event loop lives no longer than the
    tests that use it); tests using it are skipped when either is missing, unless
    ``KONTORA_TEST_REQUIRE_BROWSER=1``, where that is an error."""
    if not Path(CHROMIUM).exists():
        if REQUIRE_BROWSER:
            pytest.fail(f"{CHROMIUM} is missing but KONTORA_TEST_REQUIRE_BROWSER=1")
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium")
    try:
        from playwright import sync_api
    except ImportError:
        if REQUIRE_BROWSER:
            raise
        pytest.skip("playwright is not installed")
    with sync_api.sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=list(CHROMIUM_ARGS)
        )
        yield instance
        instance.close()


@pytest.fixture
def page(browser, request, pytestconfig):
    """A new browser tab (its own cookies), 1280×900; a screenshot of it is saved at the end
    under the ``kontora_screenshots`` ini folder, if set."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    yield tab
    folder = pytestconfig.getini("kontora_screenshots")
    if folder:
        shots = Path(pytestconfig.rootpath, folder)
        shots.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w-]+", "_", request.node.name)
        tab.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    context.close()


@pytest.fixture
def signed_in_page(page, live_server):
    """``signed_in_page(app_or_url, login, password)``: the ``page`` tab signed in as
    ``login`` on the home page of ``app`` (served by ``live_server``) or of a base URL."""

    def do(app_or_url, login, password):
        base = app_or_url if isinstance(app_or_url, str) else live_server(app_or_url)
        page.goto(f"{base}/web/login")
        page.fill("input[name=login]", login)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{base}/")
        page.base_url = base
        return page

    return do


# -- mail ---------------------------------------------------------------------------------------


@pytest.fixture
def smtp_server():
    """An SMTP server on a free loopback port keeping what it receives: ``.host``, ``.port``,
    ``.received`` (envelopes), ``.messages`` (parsed), ``.by_recipient()``."""
    server = SmtpServer()
    yield server.start()
    server.stop()
