"""Decorators that model methods use to tell the ORM what they depend on or check."""


def depends(*paths):
    """Mark a compute method with the field paths its result depends on."""

    def decorate(method):
        method._depends = tuple(paths)
        return method

    return decorate


def constrains(*fnames):
    """Mark a method that checks the records after create and after writes to ``fnames``."""

    def decorate(method):
        method._constrains = tuple(fnames)
        return method

    return decorate


def model(method):
    """Mark a method that works on the model, not on particular records (for readers)."""
    method._api_model = True
    return method


def public(method):
    """Mark a method callable from the REST API besides the ``action_*`` ones."""
    method._api_public = True
    return method
