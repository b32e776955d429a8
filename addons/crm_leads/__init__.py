"""CRM leads: capture, assignment, conversion, the pipeline of deals, and its reports."""

from core.plugins import hookimpl

from . import capture, models


@hookimpl
def register_models():
    return models.MODELS


@hookimpl
def register_routes():
    return [capture.bp]


@hookimpl
def register_views():
    from . import views

    return views.declarations()


@hookimpl
def register_dashboard():
    from . import dashboard

    return dashboard.widgets()
