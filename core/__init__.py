"""Kontora core: the framework every addon builds on; it knows no business area."""

__version__ = "0.1.0"
