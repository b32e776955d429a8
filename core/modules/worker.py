"""The job worker (``kontora worker``): a registry of the configured database consuming its
queue."""

from __future__ import annotations

import logging

from core.exceptions import KontoraError
from core.modules.manager import open_registry

_logger = logging.getLogger("core.jobs.worker")


def run_worker(config, **consumer_options):
    """``kontora worker``: load the registry and consume the queue until stopped (SIGINT or
    SIGTERM: finish running jobs, then exit; SIGHUP: restart)."""
    if config["jobs.backend"] == "immediate":
        raise KontoraError(
            "jobs.backend is 'immediate': jobs run where they are queued; set jobs.backend "
            "to sqlite or redis to use a worker"
        )
    registry = open_registry(config)
    queue = registry.jobs
    consumer = queue.consumer(**consumer_options)
    _logger.info(
        "worker for %s: %s queue %r, %d thread(s), jobs: %s",
        config.database_url,
        queue.backend,
        queue.huey.name,
        consumer.workers,
        ", ".join(sorted(queue.jobs)) or "none",
    )
    consumer.run()
