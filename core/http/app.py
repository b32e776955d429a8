"""The web application: ``create_app(config)``; one request, one transaction."""

from __future__ import annotations

from pathlib import Path

from flask import Flask, g, request
from flask.sessions import SecureCookieSessionInterface
from werkzeug.middleware.proxy_fix import ProxyFix

from core.config import load_config
from core.exceptions import KontoraError
from core.i18n import activate, deactivate
from core.modules.loading import load_registry
from core.modules.manager import AddonManager
from core.orm.registry import Registry
from core.plugins import call_in_order
from core.request.identity import init_app as init_identity
from core.rest.routes import checks_own_version
from core.rest.routes import init_app as init_rest_api
from core.web.auth import init_app as init_web_auth
from core.web.imports import init_import
from core.web.pages import init_app as init_web_client
from core.web.printing import init_app as init_reports
from core.web.settings import init_app as init_web_settings

WEB_DIR = Path(__file__).resolve().parent.parent / "web"


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, the signing serializer built once per secret key
    instead of on every request (it holds no state between uses)."""

    def get_signing_serializer(self, app):
        key = (app.secret_key, tuple(app.config.get("SECRET_KEY_FALLBACKS") or ()))
        built = self.__dict__.get("_built")
        if built is None or built[0] != key:
            built = self._built = (key, super().get_signing_serializer(app))
        return built[1]


class RegistryHolder:
    """This process's registry, rebuilt when another process changes the installed addons."""

    def __init__(self, config):
        self.config = config
        self._registry = None

    def get(self, check=True) -> Registry:
        """The registry; ``check=False`` skips the version query for a request that reads
        the version in its own first query (REST reads with an API key: core.rest.routes)."""
        if self._registry is None:
            manager = AddonManager(self.config)
            if not manager.installed():
                raise KontoraError(
                    f"the database {self.config.database_url} is not initialised: run `kontora init`"
                )
            self._registry = load_registry(self.config, manager.db)
        elif check:
            self._registry.reload_if_changed()
        return self._registry


def create_app(config=None) -> Flask:
    """Build the Flask application for a configuration (the default one if none is given)."""
    config = config or load_config()
    app = Flask(
        __name__, template_folder=str(WEB_DIR / "templates"), static_folder=str(WEB_DIR / "static")
    )
    app.config["SECRET_KEY"] = config["server.secret_key"]
    app.config["SESSION_COOKIE_HTTPONLY"] = True
    app.config["SESSION_COOKIE_SAMESITE"] = "Lax"
    app.session_interface = SessionInterface()
    # Larger bodies are refused (413) before any form parsing; imports allow 64 MB files.
    app.config["MAX_CONTENT_LENGTH"] = 70 * 2**20
    app.extensions["kontora"] = holder = RegistryHolder(config)
    proxies = config.get("server.proxies", 0)
    if proxies:
        # The client's address and scheme as the trusted proxies saw them (and only those:
        # each proxy appends, the last ``proxies`` entries are theirs).
        app.wsgi_app = ProxyFix(
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies, x_port=proxies
        )

    @app.before_request
    def open_database():
        registry = holder.get(check=not checks_own_version(request))
        g.registry = registry
        # plain core.i18n.translate calls of this request use this app's registry
        g.kontora_catalogs = activate(registry)
        registry.db.connect(reuse_if_open=True)

    @app.teardown_request
    def release_database(_exc=None):
        # The worker thread keeps its connection for the next request: SQLite's pragmas and
        # PostgreSQL's handshake are not paid per request. Each request's transaction has
        # ended by now (the `with` blocks commit or roll back).
        g.pop("registry", None)
        token = g.pop("kontora_catalogs", None)
        if token is not None:
            deactivate(token)

    init_identity(app)
    init_web_auth(app)
    init_rest_api(app)
    init_reports(app)
    init_web_client(app)
    init_web_settings(app)
    init_import(app)

    @app.route("/healthz")
    def healthz():
        with g.registry.transaction(write=False) as env:
            env["ir.module.module"].search_count([])
        return {"status": "ok", "registry_version": g.registry.version}

    holder_registry = None
    try:
        holder_registry = holder.get()
    except KontoraError:
        holder_registry = None
    if holder_registry is not None:
        for _addon, blueprints in _routes(holder_registry):
            for blueprint in blueprints:
                app.register_blueprint(blueprint)
    return app


def _routes(registry):
    return call_in_order(registry.pm, "register_routes", registry.addon_names)
