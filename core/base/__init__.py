"""The base addon: technical models every database has. Installed first, never removed."""

from core.plugins import hookimpl

from . import history, mail, models, security


@hookimpl
def register_models():
    return [*models.MODELS, *security.MODELS, *mail.MODELS, *history.MODELS]


@hookimpl
def register_jobs():
    return list(mail.JOBS)
