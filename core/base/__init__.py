"""The base addon: technical models every database has. Installed first, never removed."""

from core.plugins import hookimpl

from . import mail, models, security


@hookimpl
def register_models():
    return [*models.MODELS, *security.MODELS, *mail.MODELS]


@hookimpl
def register_jobs():
    return list(mail.JOBS)
