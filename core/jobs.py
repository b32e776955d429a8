"""Background jobs and periodic tasks (huey): SQLite queue by default, Redis in production."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

from .exceptions import KontoraError

_logger = logging.getLogger(__name__)


@dataclass
class Job:
    """A job an addon provides: ``fn(env, **payload)`` runs in its own transaction."""

    name: str
    fn: Callable
    retries: int = 0
    retry_delay: int = 10
    periodic: Any = None  # a huey crontab for periodic tasks


class JobQueue:
    """Registered jobs of a registry and the queue they go through."""

    def __init__(self, registry, jobs):
        self.registry = registry
        self.jobs = {job.name: job for job in jobs}

    @classmethod
    def for_registry(cls, registry):
        jobs = []
        for _addon, provided in _collect(registry):
            jobs.extend(provided)
        return cls(registry, jobs)

    def enqueue(self, name, **payload):
        if name not in self.jobs:
            raise KontoraError(f"unknown job {name!r}")
        return self.run_now(name, **payload)

    def run_now(self, name, **payload):
        job = self.jobs[name]
        with self.registry.transaction() as env:
            return job.fn(env, **payload)


def _collect(registry):
    from .plugins import call_in_order

    return call_in_order(registry.pm, "register_jobs", registry.addon_names)
