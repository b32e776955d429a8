"""Activities and calendar: what to do about which record and when, and meetings."""

from core.plugins import hookimpl

from . import models


@hookimpl
def register_models():
    return models.MODELS
