"""Testing Kontora and its addons: a pytest plugin and the helpers behind it.

The plugin (``core.testing.plugin``) is registered through the ``pytest11`` entry point, so
any project with kontora installed gets its fixtures without importing anything:
``install``, ``registry``, ``env``, ``make_config``, ``db_kind`` (every test on SQLite and
PostgreSQL), ``web_app``, ``web_client``, ``sign_in``, ``browser``, ``page``,
``signed_in_page``, ``live_server``, ``smtp_server``. ``docs/writing-addons.md`` describes
them. Installed states are built once per run and copied for each test
(``core.testing.templates``).
"""

from core.db import trigram
from core.http.app import create_app
from core.i18n import load_catalog
from core.modules.loading import load_registry
from core.modules.manager import AddonManager
from core.testing.databases import Databases, pg_available, pg_connect
from core.testing.i18n import missing_translations
from core.testing.smtp import Inbox, SmtpServer
from core.testing.templates import AddonTemplates, TemplateAddonManager
from core.testing.web import free_port, make_app, serving, signed_in

__all__ = [
    "AddonManager",
    "create_app",
    "load_catalog",
    "load_registry",
    "AddonTemplates",
    "Databases",
    "Inbox",
    "SmtpServer",
    "TemplateAddonManager",
    "free_port",
    "make_app",
    "missing_translations",
    "pg_available",
    "pg_connect",
    "serving",
    "signed_in",
    "trigram",
]
