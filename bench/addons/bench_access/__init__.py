"""bench.lead gets a salesman; salesmen see only their own leads."""

from core import hookimpl

from . import models


@hookimpl
def register_models():
    return [models.BenchLeadOwner]
