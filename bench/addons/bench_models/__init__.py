"""Benchmark-only addon: a partner and a lead with the field kinds the ORM hot paths see."""

from core import hookimpl

from . import models


@hookimpl
def register_models():
    return list(models.MODELS)
