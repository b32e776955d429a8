"""Contacts: companies and persons, their tags, tax ids and bank accounts."""

from core.plugins import hookimpl

from . import models


@hookimpl
def register_models():
    return models.MODELS
