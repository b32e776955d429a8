"""Helpdesk: customers' tickets, worked through stages, with the time spent on each."""

import logging

from core import hookimpl

from . import models

_logger = logging.getLogger(__name__)


@hookimpl
def register_models():
    return [models.Stage, models.Tag, models.Ticket, models.TicketTimesheet]


@hookimpl
def record_created(model, records):
    # Every installed addon hears about every create: look at the model first.
    if model == "helpdesk.ticket":
        _logger.info("new helpdesk tickets: %s", ", ".join(records.mapped("number")))
