"""The shell: request lifecycle, identity, languages, security headers, errors, layout."""

from __future__ import annotations

from flask import Flask

from kernel.settings import Settings
from portal.shell import bearer, errors, i18n, identity, lifecycle, logs, security, security_log, signatures
from portal.shell.identity import api_identity, notify, permission_required
from portal.shell.lifecycle import request_uow
from portal.shell.views import blueprint

__all__ = ["api_identity", "blueprint", "init_app", "notify", "permission_required", "request_uow"]


def init_app(app: Flask, settings: Settings) -> None:
    logs.configure(settings.log_level)
    # after_request hooks run in reverse order of registration: the unit of work is
    # committed (lifecycle) before the headers are added (security), so a failing
    # commit still gets a response with every header.
    security.init_app(app, production=settings.is_production)
    lifecycle.init_app(app)
    # A bearer token on an API call decides the identity before the cookie is looked at.
    bearer.init_app(app)
    identity.init_app(app, settings.session_idle_minutes, settings.session_absolute_hours)
    security_log.init_app(app)  # after the identity: refuses another tenant's or supplier's ids
    i18n.init_app(app)
    signatures.init_app(app)
    errors.init_app(app)
