"""Printable reports: jinja2 templates rendered to HTML, then to PDF with weasyprint.

An addon returns ``Report`` objects from the ``register_reports`` hook. A report is printed
for records of its model through the user's environment: the model right is checked (else
``AccessError``), the ids are looked up through the record rules (an id the user may not
see is a ``MissingError``, exactly like one that does not exist), and the template gets the
values ``read()`` returns for that user, so fields restricted to other groups never reach
it. Templates get plain data, never recordsets, so nothing in a template can read around
the checks. A report with ``model=None`` is generic: it is printed for any model, named
by the caller (base ships ``base.record_summary``, every field and value of a record).

Routes: ``GET /report/<name>/<ids>.pdf`` (web session; ``?model=`` for generic reports)
here, and ``GET /api/v1/report/<name>?ids=1,2`` in ``core/rest/routes.py``.
"""

from __future__ import annotations

import dataclasses
import datetime
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import jinja2
from flask import Response

from core.exceptions import MissingError, UserError
from core.plugins import call_in_order

MAX_RECORDS = 200
CORE_TEMPLATES = Path(__file__).resolve().parent / "templates"
_IDS = re.compile(r"^\s*\d{1,19}(\s*,\s*\d{1,19})*\s*$")


@dataclasses.dataclass(frozen=True)
class Report:
    """A printable report.

    :param name: technical name, ``addon.report`` (unique among installed addons).
    :param model: the model it prints, or None for a report any model can use.
    :param title: English title (translated through the catalogs); also the file name.
    :param template: jinja2 template name, looked up in the addons' ``templates/`` folders
        and core's (e.g. ``"reports/record_summary.html"``).
    :param values: optional ``fn(records) -> dict`` of extra template values; it gets the
        user's recordset, so what it reads is checked like any other read.
    """

    name: str
    model: str | None
    title: str
    template: str
    values: Callable | None = None


class ReportError(UserError):
    """A report request that cannot be served as asked (bad ids, unknown model)."""


# Base is always installed, so its generic report is part of every registry.
RECORD_SUMMARY = Report(
    name="base.record_summary",
    model=None,
    title="Record summary",
    template="reports/record_summary.html",
)


# -- the reports of a registry ------------------------------------------------------------------------
def reports_of(registry) -> dict[str, Report]:
    """``{name: Report}`` of the installed addons, collected once per registry build."""
    cache = registry.__dict__.setdefault("_kontora_reports", {})
    key = registry.version
    if key not in cache:
        found = {RECORD_SUMMARY.name: RECORD_SUMMARY}
        for addon, reports in call_in_order(registry.pm, "register_reports", registry.addon_names):
            for report in reports or ():
                if not isinstance(report, Report):
                    raise TypeError(
                        f"{addon}: register_reports must return core.reporting.reports.Report"
                    )
                found[report.name] = report
        cache.clear()
        cache[key] = found
    return cache[key]


def _template_env(registry) -> jinja2.Environment:
    cache = registry.__dict__.setdefault("_kontora_report_templates", {})
    key = tuple(registry.addon_names)
    if key not in cache:
        folders = [
            str(addon.path / "templates")
            for addon in reversed(registry.addons)
            if getattr(addon, "path", None) is not None and (addon.path / "templates").is_dir()
        ]
        cache.clear()
        cache[key] = jinja2.Environment(
            loader=jinja2.FileSystemLoader([*folders, str(CORE_TEMPLATES)]),
            autoescape=True,
            undefined=jinja2.StrictUndefined,
        )
    return cache[key]


# -- printing -------------------------------------------------------------------------------------------
def parse_ids(text) -> list[int]:
    """``"1,2,3"`` as ids; a clear error for anything else."""
    if not isinstance(text, str) or not _IDS.match(text):
        raise ReportError('ids must be record ids separated by commas, e.g. "1,2"')
    ids = list(dict.fromkeys(int(part) for part in text.split(",")))
    if len(ids) > MAX_RECORDS:
        raise ReportError(f"a report prints at most {MAX_RECORDS} records at once")
    if any(not 1 <= i <= 2**63 - 1 for i in ids):
        raise ReportError("record ids are whole numbers from 1")
    return ids


def find_report(env, name, model_name=None) -> tuple[Report, str]:
    """The report and the model it prints; ``MissingError`` for an unknown one."""
    report = reports_of(env.registry).get(name) if isinstance(name, str) else None
    if report is None:
        raise MissingError(f"No report {name!r}")
    if report.model is None:
        if not model_name:
            raise ReportError(f"{name} prints any model: name it with model=")
        target = model_name
    else:
        if model_name and model_name != report.model:
            raise ReportError(f"{name} prints {report.model} records, not {model_name}")
        target = report.model
    cls = env.registry.models.get(target)
    if cls is None or cls._abstract:
        raise MissingError(f"No model {target!r}")
    return report, target


def render_html(env, report: Report, model_name: str, ids) -> str:
    """The report's HTML for these records, as the environment's user may see them."""
    model = env[model_name]
    model.check_access("read")
    found = model.with_context(active_test=False).search([("id", "in", list(ids))])
    if len(found) != len(ids):
        raise MissingError(
            f"{model_name}: some of the records do not exist or are not visible to you"
        )
    records = model.browse([i for i in ids])  # the order asked for
    rows = records.read()
    meta = records.fields_get()
    lang = env.lang
    values = {
        "report": report,
        "title": env.translate(report.title),
        "model": model_name,
        "model_label": env.translate(type(model)._description or model_name),
        "docs": rows,
        "fields": _field_list(meta, rows),
        "fmt": lambda value, field=None: format_value(env, value, meta.get(field)),
        "_": env.translate,
        "lang": lang,
        "printed_at": datetime.datetime.now(datetime.UTC).replace(tzinfo=None, microsecond=0),
    }
    if report.values is not None:
        values.update(report.values(records) or {})
    template = _template_env(env.registry).get_template(report.template)
    return template.render(**values)


def render_pdf(env, report: Report, model_name: str, ids) -> bytes:
    """The report as PDF bytes (weasyprint); nothing is fetched from the network."""
    import weasyprint  # heavy to load (pango, fonts): only when a PDF is made

    html = render_html(env, report, model_name, ids)
    return weasyprint.HTML(string=html, url_fetcher=_no_fetch, base_url=None).write_pdf()


def _no_fetch(url, *args, **kwargs):
    raise ValueError(f"reports do not load external resources ({url})")


def _field_list(meta: dict, rows) -> list[tuple[str, str]]:
    """(name, label) of the fields shown by a generic report: what read() returned."""
    names = list(rows[0]) if rows else list(meta)
    skip = {"id", "display_name"}
    return [(n, meta[n].get("string") or n) for n in names if n in meta and n not in skip]


def format_value(env, value, meta=None) -> str:
    """A value as text for a report: names for relations, Yes/No, dates, money."""
    if value is None or value == [] or value == ():
        return ""
    kind = (meta or {}).get("type")
    if isinstance(value, bool):
        return env.translate("Yes") if value else env.translate("No")
    if kind == "many2one" and isinstance(value, list | tuple) and len(value) == 2:
        return str(value[1] or "")
    if kind in ("one2many", "many2many") and isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    if kind == "selection" and meta and meta.get("selection"):
        labels = dict((key, label) for key, label in meta["selection"])
        return env.translate(str(labels.get(value, value)))
    if kind == "binary":
        return env.translate("(file)")
    if isinstance(value, datetime.datetime):
        return f"{value:%Y-%m-%d %H:%M} UTC"
    if isinstance(value, datetime.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:f}"
    if isinstance(value, dict | list):
        import json

        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def pdf_response(pdf: bytes, report: Report, model_name: str) -> Response:
    response = Response(pdf, mimetype="application/pdf")
    filename = re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{report.name}-{model_name}") + ".pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response
