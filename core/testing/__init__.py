"""Testing Kontora and its addons: a pytest plugin and the helpers behind it.

The plugin (``core.testing.plugin``) is registered through the ``pytest11`` entry point, so
any project with kontora installed gets its fixtures without importing anything:
``install``, ``registry``, ``env``, ``make_config``, ``db_kind`` (every test on SQLite and
PostgreSQL), ``web_app``, ``web_client``, ``sign_in``, ``browser``, ``page``,
``signed_in_page``, ``live_server``, ``smtp_server``. ``docs/writing-addons.md`` describes
them. Installed states are built once per run and copied for each test
(``core.testing.templates``).
"""

from .databases import Databases, pg_available, pg_connect
from .i18n import missing_translations
from .smtp import Inbox, SmtpServer
from .templates import AddonTemplates, TemplateAddonManager
from .web import free_port, make_app, serving, signed_in

__all__ = [
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
]
