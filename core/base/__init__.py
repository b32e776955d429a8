"""The base addon: technical models every database has. Installed first, never removed."""

from core.plugins import hookimpl

from . import models


@hookimpl
def register_models():
    return list(models.MODELS)
