"""Errors a user can act on; the CLI and the web layer turn them into one clear line."""


class KontoraError(Exception):
    """Base of every error that is the user's or the data's fault, not a bug."""


class ConfigError(KontoraError):
    """A configuration key has a bad value."""


class AddonError(KontoraError):
    """An addon cannot be discovered, ordered, installed, upgraded or removed."""


class UserError(KontoraError):
    """A business rule refused the action (Odoo's UserError)."""


class ValidationError(UserError):
    """A constraint on the data failed; ``field`` names the field when there is one."""

    def __init__(self, message, field=None, model=None):
        super().__init__(message)
        self.field = field
        self.model = model


class AccessError(UserError):
    """The current user may not do this."""


class MissingError(UserError):
    """A record does not exist (any more)."""


class ConflictError(UserError):
    """Someone else changed the record since it was read."""


class DomainError(UserError):
    """A search domain is malformed or names unknown fields or operators."""
