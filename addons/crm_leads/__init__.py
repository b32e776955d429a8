"""CRM leads: capture, assignment, conversion, the pipeline of deals, and its reports."""

from core.plugins import hookimpl

from . import capture, models


@hookimpl
def register_models():
    return models.MODELS


@hookimpl
def register_routes():
    return [capture.bp]
