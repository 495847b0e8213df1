"""Per-address throttling of the sign-in and token endpoints (Flask-Limiter).

A view marked `@login_throttle` (sign-in, second factor, password reset request,
invitation acceptance, the OAuth2 token endpoint) accepts at most
settings.login_rate_limit POSTs per client address; past it the answer is 429 - a
translated page, or problem details under /api/ - with Retry-After, and a
"rate_limited" security event. The account lockout (auth.lockout) is the per-account
half of the same defence.

The limiter is made per app in `create_app` (each test app starts with empty counters;
settings decide the limit and the storage: memory:// per process, redis://... shared
by every worker). The marker is a plain attribute, so views can be marked at import
time, before any app exists:

    @blueprint.post("/login/verify")
    @login_throttle
    def verify(): ...
"""

from __future__ import annotations

import math
import time

from flask import Flask, current_app, request
from flask_babel import gettext
from flask_limiter import Limiter, RateLimitExceeded
from flask_limiter.util import get_remote_address
from limits import parse

from kernel.errors import N_
from kernel.settings import Settings

MARK = "_traceport_login_throttle"
TEXT = N_("Too many attempts from your address. Wait %(seconds)d seconds, then try again.")
# Under attack every refused request would be a row: note at most this many per address,
# endpoint and kind.
EVENT_SAMPLE = parse("5/minute")


def login_throttle(view):
    """Mark a view for the per-address sign-in limit (its POSTs only)."""
    setattr(view, MARK, True)
    return view


def init_app(app: Flask, settings: Settings) -> Limiter:
    """After the blueprints are registered: a limiter for this app, applied to every view
    marked with `login_throttle`."""
    limiter = Limiter(
        key_func=get_remote_address,
        storage_uri=settings.ratelimit_storage_uri,
        strategy="fixed-window",
        headers_enabled=False,  # Retry-After is set on the 429 below; no counts for scripts to tune against
    )
    limiter.init_app(app)
    app.extensions["traceport_limiter"] = limiter
    for endpoint, view in list(app.view_functions.items()):
        if getattr(view, MARK, False):
            app.view_functions[endpoint] = limiter.limit(settings.login_rate_limit, methods=["POST"])(view)
    app.register_error_handler(RateLimitExceeded, _too_many)
    return limiter


def throttled_endpoints(app: Flask) -> set[str]:
    return {endpoint for endpoint, view in app.view_functions.items() if getattr(view, MARK, False)}


def sampled(kind: str) -> bool:
    """Whether to record this occurrence of an event that an attacker can repeat at will
    (a few per minute, address and endpoint are kept; the rest would say nothing new)."""
    limiter = current_app.extensions.get("traceport_limiter")
    if limiter is None:
        return True
    return limiter.limiter.hit(EVENT_SAMPLE, "security-event", kind, request.endpoint or "-", get_remote_address() or "-")


def _retry_after(limiter: Limiter | None) -> int:
    current = limiter.current_limit if limiter is not None else None
    if current is None:
        return 60
    return max(1, math.ceil(current.reset_at - time.time()))


def _too_many(error: RateLimitExceeded):
    from portal.shell.errors import error_page, problem, wants_problem
    from portal.shell.security_log import record_now

    limiter = current_app.extensions.get("traceport_limiter")
    seconds = _retry_after(limiter)
    if sampled("rate_limited"):
        email = request.form.get("email") if request.mimetype != "application/json" else None
        record_now(
            kind="rate_limited",
            severity="warning",
            email=(email or "").strip()[:254] or None,
            detail={"endpoint": request.endpoint, "path": request.path, "limit": str(error.limit.limit)},
        )
    message = gettext(TEXT, seconds=seconds)
    if wants_problem():
        response = problem(429, code="too-many-requests", detail=message)
    else:
        response = current_app.make_response(error_page(429, message))
    response.headers["Retry-After"] = str(seconds)
    return response
