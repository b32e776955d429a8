"""The base addon: technical models every database has. Installed first, never removed."""

from core.base import (
    history,
    import_mapping,
    mail,
    models,
    security,
    sessions,
    views,
    web_models,
    webhook,
)
from core.base.webhook import record_created, record_deleted, record_written  # noqa: F401 (hooks)
from core.plugins import hookimpl


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

    return views.declarations()
