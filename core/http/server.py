"""The production server: gunicorn with the configured workers."""

from __future__ import annotations

import socket

import click
from gunicorn.app.base import BaseApplication

from core.exceptions import KontoraError
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
        # Said once the address is bound, not before (gunicorn retries a taken port 5 times).
        self.cfg.set("when_ready", lambda _arbiter: _say_serving(config))

    def load(self):
        return create_app(self.kontora_config)


def serve(config):
    check_address(config["server.host"], config["server.port"])
    KontoraServer(config).run()


def check_address(host, port):
    """A clear error, at once, when the address cannot be listened on (another server has
    the port, or the host is not this machine's)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise KontoraError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    family, kind, proto, _name, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            taken = exc.errno == 98  # EADDRINUSE
            raise KontoraError(
                f"port {port} on {host} is taken by another program; stop it or choose another "
                "port with --port (server.port)"
                if taken
                else f"cannot listen on {host}:{port}: {exc.strerror or exc}"
            ) from None


def _say_serving(config):
    host, port = config["server.host"], config["server.port"]
    click.echo(f"Kontora is serving http://{host}:{port}  (workers: {config['server.workers']})")
