"""Activities and calendar: what to do about which record and when, meetings, a daily digest."""

from core.plugins import hookimpl

from . import digest, models


@hookimpl
def register_models():
    return [*models.MODELS, digest.Company, digest.Users]


@hookimpl
def register_jobs():
    return digest.JOBS
