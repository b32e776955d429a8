"""The CRM's models: configuration, leads and deals, and the stage history."""

from . import config, history, lead

MODELS = [*config.MODELS, lead.Lead, *history.MODELS]
