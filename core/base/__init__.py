"""The base addon: technical models every database has. Installed first, never removed."""

from core.plugins import hookimpl

from . import history, import_mapping, mail, models, security, sessions, web_models, webhook
from .webhook import record_created, record_deleted, record_written  # noqa: F401 (hooks)


@hookimpl
def register_models():
    return [
        *models.MODELS,
        *security.MODELS,
        *sessions.MODELS,
        *mail.MODELS,
        *history.MODELS,
        *webhook.MODELS,
        *web_models.MODELS,
        *import_mapping.MODELS,
    ]


@hookimpl
def register_jobs():
    return [*mail.JOBS, *webhook.JOBS, *sessions.JOBS]


@hookimpl
def register_views():
    from . import views

    return views.declarations()
