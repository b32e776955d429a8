"""The production server: gunicorn with the configured workers."""

from __future__ import annotations

import click
from gunicorn.app.base import BaseApplication

from core.http.app import create_app


class KontoraServer(BaseApplication):
    """Gunicorn application that builds the Flask app in each worker (after fork)."""

    def __init__(self, config):
        self.kontora_config = config
        super().__init__()

    def load_config(self):
        config = self.kontora_config
        self.cfg.set("bind", f"{config['server.host']}:{config['server.port']}")
        self.cfg.set("workers", config["server.workers"])
        self.cfg.set("loglevel", config["log.level"].lower())
        self.cfg.set("accesslog", "-")
        self.cfg.set("timeout", 120)

    def load(self):
        return create_app(self.kontora_config)


def serve(config):
    host, port = config["server.host"], config["server.port"]
    click.echo(f"Kontora is serving http://{host}:{port}  (workers: {config['server.workers']})")
    KontoraServer(config).run()
