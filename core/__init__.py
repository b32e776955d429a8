"""Kontora core: the framework every addon builds on; it knows no business area.

This module is the public API for addons: ``from core import Model, fields, api, hookimpl,
UserError, ...``. Addons import nothing else from ``core`` except ``core.testing`` in their
tests (``tests/test_layers.py`` checks it). The names load lazily, so importing ``core`` or
one of its layers does not pull in the whole framework; ``docs/writing-addons.md`` says what
each one is for.
"""

from __future__ import annotations

import importlib
from types import MappingProxyType
from typing import TYPE_CHECKING

__version__ = "0.1.0"

# name → (module, attribute); attribute None: the module itself.
_PUBLIC: MappingProxyType[str, tuple[str, str | None]] = MappingProxyType(
    {
        # models
        "Model": ("core.orm.models", "Model"),
        "fields": ("core.orm.fields", None),
        "api": ("core.orm.api", None),
        "SUPERUSER_ID": ("core.orm.env", "SUPERUSER_ID"),
        "utcnow": ("core.orm.support", "utcnow"),
        "normalize_domain": ("core.orm.domain", "normalize"),
        "is_postgres": ("core.db.connection", "is_postgres"),
        # errors
        "KontoraError": ("core.exceptions", "KontoraError"),
        "UserError": ("core.exceptions", "UserError"),
        "ValidationError": ("core.exceptions", "ValidationError"),
        "AccessError": ("core.exceptions", "AccessError"),
        "MissingError": ("core.exceptions", "MissingError"),
        "ConflictError": ("core.exceptions", "ConflictError"),
        "DomainError": ("core.exceptions", "DomainError"),
        # hooks
        "hookimpl": ("core.plugins", "hookimpl"),
        # views, dashboard widgets, charts, printable reports
        "views": ("core.orm.views", None),
        "charts": ("core.reporting.charts", None),
        "Report": ("core.reporting.reports", "Report"),
        # money, numbers, dates, translations
        "round_money": ("core.money", "round_money"),
        "allocate": ("core.money", "allocate"),
        "to_decimal": ("core.money", "to_decimal"),
        "format_money": ("core.formatting", "format_money"),
        "format_number": ("core.formatting", "format_number"),
        "format_date": ("core.formatting", "format_date"),
        "format_datetime": ("core.formatting", "format_datetime"),
        "tr": ("core.i18n", "tr"),
        # background jobs
        "Job": ("core.jobs.queue", "Job"),
        "JobFailed": ("core.jobs.queue", "JobFailed"),
        "crontab": ("core.jobs.queue", "crontab"),
        # web routes of addons (``register_routes``)
        "login_required": ("core.request.identity", "login_required"),
        "session_uid": ("core.request.identity", "session_uid"),
        "current_lang": ("core.request.identity", "current_lang"),
        "gettext": ("core.request.identity", "gettext"),
        "csrf_exempt": ("core.request.identity", "csrf_exempt"),
        # command-line commands of addons (``register_commands``) and scripts
        "load_config": ("core.config", "load_config"),
        "open_registry": ("core.modules.manager", "open_registry"),
        # import and export
        "import_file": ("core.io.importer", "import_file"),
        "export_rows": ("core.io.export", "export_rows"),
    }
)

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    try:
        module_name, attribute = _PUBLIC[name]
    except KeyError:
        raise AttributeError(f"module 'core' has no attribute {name!r}") from None
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value  # the next look-up is a plain attribute
    return value


def __dir__():
    return sorted({*globals(), *_PUBLIC})


if TYPE_CHECKING:  # what the names are, for editors and type checkers
    from core import money as _money
    from core.config import load_config
    from core.db.connection import is_postgres
    from core.exceptions import (
        AccessError,
        ConflictError,
        DomainError,
        KontoraError,
        MissingError,
        UserError,
        ValidationError,
    )
    from core.formatting import format_date, format_datetime, format_money, format_number
    from core.i18n import tr
    from core.io.export import export_rows
    from core.io.importer import import_file
    from core.jobs.queue import Job, JobFailed, crontab
    from core.modules.manager import open_registry
    from core.orm import api, fields, views
    from core.orm.domain import normalize as normalize_domain
    from core.orm.env import SUPERUSER_ID
    from core.orm.models import Model
    from core.orm.support import utcnow
    from core.plugins import hookimpl
    from core.reporting import charts
    from core.reporting.reports import Report
    from core.request.identity import (
        csrf_exempt,
        current_lang,
        gettext,
        login_required,
        session_uid,
    )

    allocate, round_money, to_decimal = _money.allocate, _money.round_money, _money.to_decimal
