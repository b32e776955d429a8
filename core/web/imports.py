"""Import and export pages of the web client: upload, mapping, dry run, errors; downloads.

``GET /web/<model>/import`` shows the upload form; ``POST`` with a file keeps the file (an
``ir.attachment`` only the uploader's requests open) and shows the preview with a field
chosen for each column; ``POST`` with ``file_id`` and the mapping runs a dry run or the
import and shows every row error (row, column, message). ``POST /web/<model>/export``
downloads the selected ids or the records matching a domain as CSV or XLSX; without
``fields`` it first shows the choice of fields. Each request is one transaction as the
signed-in user, so the same access rights apply as everywhere else.
"""

from __future__ import annotations

import datetime
import json

from flask import Blueprint, Response, g, render_template, request

from core.exceptions import AccessError, UserError
from core.io import export_xlsx, importer
from core.io.import_columns import importable_fields
from core.io.import_values import MAX_FILE_BYTES, ImportFileError
from core.request.identity import current_lang, gettext
from core.web.pages import PageError, _common, page

bp = Blueprint("web_import", __name__)

FILE_MODEL = "base_import"  # res_model of the uploaded files kept between the steps
KEEP_FILES = datetime.timedelta(days=1)
MAX_ERRORS_SHOWN = 500
MAX_EXPORT_IDS = 100_000


def init_import(app):
    """Register the import and export pages on ``app``."""
    app.register_blueprint(bp)


def _model(env, model_name):
    registry = g.registry
    if model_name not in registry.models or registry.models[model_name]._abstract:
        raise PageError(404, gettext("No such model: %(model)s", model=model_name))
    model = env[model_name]
    model.check_access("read")
    return model


def _title(env, model):
    return gettext("Import: %(model)s", model=env.translate(model._description or model._name))


def _page(env, model, template, status=200, **context):
    context.setdefault("title", _title(env, model))
    body = render_template(template, model_name=model._name, **context, **_common(env))
    return body, status


# -- import ---------------------------------------------------------------------------------------


@bp.route("/web/<model_name>/import", methods=["GET", "POST"])
@page(write=True)
def import_page(env, model_name):
    env = env.with_context(lang=current_lang())  # messages and labels in the user's language
    model = _model(env, model_name)
    if request.method == "GET":
        return _page(env, model, "web/import.html")
    if request.content_length and request.content_length > MAX_FILE_BYTES + 65536:
        message = gettext("The file is larger than %(limit)s MB.", limit=MAX_FILE_BYTES >> 20)
        return _page(env, model, "web/import.html", 413, error=message)
    upload = request.files.get("file")
    try:
        if upload is not None and upload.filename:
            return _upload(env, model, upload)
        if request.form.get("file_id"):
            return _run(env, model)
    except ImportFileError as exc:
        return _page(env, model, "web/import.html", 400, error=exc.translated(env.translate))
    return _page(env, model, "web/import.html", 400, error=gettext("Choose a CSV or XLSX file."))


def _upload(env, model, upload):
    content = upload.read(MAX_FILE_BYTES + 1)
    if len(content) > MAX_FILE_BYTES:
        raise ImportFileError("The file is larger than %(limit)s MB.", limit=MAX_FILE_BYTES >> 20)
    filename = _clean_name(upload.filename) or "import.csv"
    saved = env["base_import.mapping"].saved(env.uid, model._name)
    shown = importer.preview(env, model._name, content, filename, saved=saved)
    files = env["ir.attachment"].sudo()
    files.search(
        [
            ("res_model", "=", FILE_MODEL),
            ("res_id", "=", env.uid),
            (
                "create_date",
                "<",
                datetime.datetime.now(datetime.UTC).replace(tzinfo=None) - KEEP_FILES,
            ),
        ]
    ).unlink()
    kept = files.create(
        {
            "name": filename,
            "res_model": FILE_MODEL,
            "res_field": model._name,
            "res_id": env.uid,
            "datas": content,
            "file_size": len(content),
            "mimetype": _clean_name(upload.mimetype or ""),
        }
    )
    return _preview_page(env, model, kept, shown)


def _clean_name(name) -> str:
    """A file name as the browser sent it, without folders, control characters or surrogates."""
    name = str(name or "").replace("\\", "/").rsplit("/", 1)[-1]
    return "".join(c for c in name if c.isprintable() and not "\ud800" <= c <= "\udfff")[-200:]


def _kept_file(env, model):
    """The uploaded file named by ``file_id``, if this user uploaded it for this model."""
    try:
        file_id = int(request.form.get("file_id", ""))
    except ValueError:
        file_id = 0
    found = (
        env["ir.attachment"]
        .sudo()
        .search(
            [
                ("id", "=", file_id),
                ("res_model", "=", FILE_MODEL),
                ("res_field", "=", model._name),
                ("res_id", "=", env.uid),
            ],
            limit=1,
        )
    )
    if not found:
        raise ImportFileError("The uploaded file is no longer available: upload it again.")
    return found


def _chosen_mapping(headers) -> list:
    return [request.form.get(f"map_{i}") or None for i in range(len(headers))]


def _run(env, model):
    kept = _kept_file(env, model)
    content = bytes(kept.datas or b"")
    shown = importer.preview(env, model._name, content, kept.name)
    mapping = _chosen_mapping(shown["headers"])
    shown["mapping"] = mapping
    env["base_import.mapping"].remember(env.uid, model._name, shown["headers"], mapping)
    dry_run = request.form.get("action") != "import"
    skip = request.form.get("skip_errors") == "1"
    try:
        result = importer.import_file(
            env, model._name, content, kept.name, mapping=mapping, dry_run=dry_run, skip_errors=skip
        )
    except ImportFileError as exc:
        return _preview_page(
            env, model, kept, shown, error=exc.translated(env.translate), status=400
        )
    except AccessError as exc:
        return _preview_page(env, model, kept, shown, error=str(exc), status=403)
    if result.committed:
        kept.unlink()
        return _page(env, model, "web/import_done.html", result=result, skip=skip)
    status = 200 if dry_run and not result.errors else 422
    return _preview_page(env, model, kept, shown, result=result, skip=skip, status=status)


def _preview_page(env, model, kept, shown, result=None, error=None, skip=False, status=200):
    errors = result.errors[:MAX_ERRORS_SHOWN] if result else []
    return _page(
        env,
        model,
        "web/import_preview.html",
        status,
        file=kept,
        preview=shown,
        result=result,
        errors=errors,
        error=error,
        skip=skip,
    )


# -- export ---------------------------------------------------------------------------------------


@bp.route("/web/<model_name>/export", methods=["POST"])
@page(write=True)  # records without an external id get one, so that the file re-imports
def export(env, model_name):
    env = env.with_context(lang=current_lang())
    model = _model(env, model_name)
    form = request.form
    ids = _ids(form.get("ids", ""))
    domain_text = form.get("domain", "")
    fmt = form.get("format", "csv")
    fields = [p.strip() for v in form.getlist("fields") for p in v.split(",") if p.strip()]
    if not fields:
        return _export_page(env, model, ids, domain_text, fmt)
    domain = None
    if ids is None:
        try:
            domain = json.loads(domain_text) if domain_text.strip() else []
        except ValueError:
            raise PageError(400, gettext("The domain is not valid JSON.")) from None
        if not isinstance(domain, list) or not _storable(domain):
            raise PageError(400, gettext("The domain must be a list of conditions."))
    if fmt not in export_xlsx.FORMATS:
        raise PageError(400, gettext("Choose the CSV or XLSX format."))
    try:
        content, mimetype, filename = export_xlsx.export_records(
            env, model_name, fields, ids=ids, domain=domain, fmt=fmt
        )
    except AccessError:
        raise
    except UserError as exc:
        raise PageError(400, env.translate(str(exc))) from None
    response = Response(content, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _storable(value) -> bool:
    """Whether a JSON value holds only what the databases accept as query parameters."""
    if isinstance(value, str):
        return "\x00" not in value and not any("\ud800" <= c <= "\udfff" for c in value)
    if isinstance(value, bool) or value is None or isinstance(value, float):
        return True
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    if isinstance(value, list):
        return all(_storable(v) for v in value)
    return False


def _ids(text):
    """The selected ids (``"1,2,3"``), or None when none are given (export by domain)."""
    parts = [p.strip() for p in str(text).split(",") if p.strip()]
    if not parts:
        return None
    if len(parts) > MAX_EXPORT_IDS or not all(
        p.isascii() and p.isdigit() and len(p) < 19 for p in parts
    ):
        raise PageError(400, gettext("The selected ids must be whole numbers."))
    return [int(p) for p in parts]


def _export_page(env, model, ids, domain_text, fmt):
    tr = env.translate
    options = [("id", tr("External ID"))]
    for name, fld in importable_fields(model).items():
        options.append((name, tr(fld.string)))
    return _page(
        env,
        model,
        "web/import_export.html",
        ids=",".join(str(i) for i in ids or ()),
        domain=domain_text,
        fmt=fmt,
        options=options,
        title=gettext("Export: %(model)s", model=tr(model._description or model._name)),
    )
