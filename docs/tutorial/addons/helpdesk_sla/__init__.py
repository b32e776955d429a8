"""Helpdesk SLA: deadlines on helpdesk tickets; an example of extending another addon."""

from core import hookimpl

from . import models


@hookimpl
def register_models():
    return [models.Ticket]
