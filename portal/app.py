"""The application factory: wires extensions, blueprints and error handlers, nothing
more. Nothing happens at import time; gunicorn calls `portal.app:create_app()`."""

from __future__ import annotations

from datetime import timedelta

from flask import Flask

from kernel.runtime import Runtime
from kernel.settings import Settings, load_settings
from portal import admin, api, auth, home, jobs, purchasing, shell
from portal.shell import health


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
    shell.init_app(app, settings)
    for blueprint in (
        shell.blueprint,
        health.blueprint,
        auth.blueprint,
        home.blueprint,
        purchasing.blueprint,
        admin.blueprint,
        api.blueprint,
    ):
        app.register_blueprint(blueprint)
    return app


def _config(settings: Settings) -> dict:
    return {
        "SECRET_KEY": settings.secret_key,
        "SESSION_COOKIE_NAME": "traceport_session",
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": settings.is_production,
        # The cookie outlives the idle limit by nothing; the shell also checks the
        # last-seen time it signs into the session, so a kept cookie is no use later.
        "PERMANENT_SESSION_LIFETIME": timedelta(minutes=settings.session_idle_minutes),
        "SESSION_REFRESH_EACH_REQUEST": True,
        # The token lives as long as the session (which the idle timeout bounds); a fixed
        # hour would fail forms left open in a long working session.
        "WTF_CSRF_TIME_LIMIT": None,
        "BABEL_DEFAULT_LOCALE": settings.default_locale,
        "BABEL_DEFAULT_TIMEZONE": "UTC",
        "PREFERRED_URL_SCHEME": "https" if settings.is_production else "http",
        "MAX_CONTENT_LENGTH": 2 * 1024 * 1024,
    }
