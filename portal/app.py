"""The application factory: wires extensions, blueprints and error handlers, nothing
more. Nothing happens at import time; gunicorn calls `portal.app:create_app()`."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from documents.vault import Vault
from kernel.runtime import Runtime
from kernel.settings import Settings, load_settings
from portal import (
    account,
    admin,
    api,
    auth,
    coldchain,
    documents,
    home,
    inventory,
    items,
    jobs,
    purchasing,
    receiving,
    scoring,
    shell,
    shipping,
    suppliers,
    traceability,
)
from portal.shell import health, throttle


def create_app(settings: Settings | None = None, runtime: Runtime | None = None) -> Flask:
    if runtime is None:
        runtime = Runtime.start(settings or load_settings())
    settings = settings or runtime.settings
    if runtime.on_outbox is None:
        runtime.on_outbox = jobs.outbox_waker(runtime)

    app = Flask("portal")
    app.config.update(_config(settings))
    app.json.sort_keys = False  # keep the order the schemas give (problem details read better)
    app.extensions["traceport"] = runtime
    # Files (documents.vault): storage backend and master keys; a bad STORAGE_URL stops the start here.
    app.extensions["traceport_vault"] = Vault.from_settings(settings)
    shell.init_app(app, settings)
    for blueprint in (
        shell.blueprint,
        health.blueprint,
        auth.blueprint,
        account.blueprint,
        home.blueprint,
        purchasing.blueprint,
        shipping.blueprint,
        receiving.blueprint,
        inventory.blueprint,
        traceability.blueprint,
        coldchain.blueprint,
        items.blueprint,
        suppliers.blueprint,
        documents.blueprint,
        scoring.blueprint,
        admin.blueprint,
        api.blueprint,
    ):
        app.register_blueprint(blueprint)
    # After the blueprints: the per-address limit wraps the views marked for it.
    throttle.init_app(app, settings)
    return app


def _config(settings: Settings) -> dict:
    return {
        "SECRET_KEY": settings.secret_key,
        "SESSION_COOKIE_NAME": "traceport_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": settings.is_production,
        # The cookie lives as long as the absolute limit of a session; what decides is the
        # server-side row it names (auth.sessions: revoked, idle, expired), checked on
        # every request, so a kept or copied cookie is no use once the row has ended.
        "PERMANENT_SESSION_LIFETIME": timedelta(hours=settings.session_absolute_hours),
        "SESSION_REFRESH_EACH_REQUEST": True,
        # The token lives as long as the session (which the idle timeout bounds); a fixed
        # hour would fail forms left open in a long working session.
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": settings.default_locale,
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "PREFERRED_URL_SCHEME": "https" if settings.is_production else "http",
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    }
