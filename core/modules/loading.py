"""A registry with its services: the data loader, the job queue and the views, which live in
layers above the ORM, attached when the registry is built and again when it rebuilds."""

from __future__ import annotations

from core.db.connection import database_from_url
from core.jobs.queue import JobQueue
from core.modules.data import DataLoader
from core.modules.discovery import discover, resolve
from core.orm.registry import Registry, read_installed_state
from core.orm.views import build_views


class RegistryServices:
    """What ``Registry(services=...)`` calls: ``attach`` after each build, ``rebuild`` when
    another process changed the installed addons. Holds no state of its own."""

    def attach(self, registry: Registry) -> None:
        registry.data = DataLoader(registry)
        registry.jobs = JobQueue.for_registry(registry)
        registry.views = build_views(registry)

    def rebuild(self, registry: Registry) -> Registry:
        if registry.config is not None:
            return load_registry(registry.config, registry.db)
        installed, version, custom = read_installed_state(registry.db)
        order = resolve(registry.all_addons, installed or ["base"])
        return Registry(registry.db, None, order, registry.all_addons, version, custom, self)


SERVICES = RegistryServices()


def load_registry(config, db=None) -> Registry:
    """The registry of the addons installed in the configured database (``base`` alone on
    an empty one), with its services."""
    db = db or database_from_url(config.database_url, config["database.busy_timeout_ms"])
    all_addons = discover(config.addons_paths)
    installed, version, custom = read_installed_state(db)
    order = resolve(all_addons, installed or ["base"])
    return Registry(db, config, order, all_addons, version, custom, SERVICES)
