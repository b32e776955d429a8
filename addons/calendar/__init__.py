"""Activities and calendar: what to do about which record and when, meetings, a daily digest."""

from core import hookimpl

from . import digest, models


@hookimpl
def register_models():
    return [*models.MODELS, digest.Company, digest.Users]


@hookimpl
def register_jobs():
    return digest.JOBS


@hookimpl
def register_views():
    # Imported here: the view classes belong to the web client, which the models do not need.
    from . import views

    return views.declarations()


@hookimpl
def register_dashboard():
    from . import views

    return views.widgets()
