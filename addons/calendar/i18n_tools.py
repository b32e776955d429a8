"""The addon's translations come from the core catalogs, which include every installed
addon's ``i18n/`` folder."""

from core import tr as translate

__all__ = ["translate"]
