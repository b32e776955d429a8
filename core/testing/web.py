"""The web client in tests: a Flask test client signed in as a user, a live server."""

from __future__ import annotations

import socket
import threading
from contextlib import contextmanager

from core.http.app import create_app


def make_app(config):
    """The application for ``config``, in Flask's testing mode."""
    app = create_app(config)
    app.config["TESTING"] = True
    return app


def signed_in(app, login, password):
    """A test client of ``app`` signed in as ``login``; ``client.token`` is its CSRF token."""
    client = app.test_client()
    with client.session_transaction() as session:
        session["csrf_token"] = "t"
    response = client.post(
        "/web/login", data={"login": login, "password": password, "csrf_token": "t"}
    )
    assert response.status_code == 302, f"{login} could not sign in"
    with client.session_transaction() as session:
        client.token = session["csrf_token"]
    return client


def free_port() -> int:
    """A TCP port nobody listens on at the moment, on loopback."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serving(app):
    """``with serving(app) as base_url``: ``app`` on a free loopback port, in a thread."""
    from werkzeug.serving import make_server

    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)
