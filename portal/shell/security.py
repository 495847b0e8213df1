"""Headers every response carries, and CSRF protection for every form and API write."""

from __future__ import annotations

from flask import Flask, Response
from flask_wtf import CSRFProtect

from portal.shell.bearer import is_bearer_request

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none';"
    " base-uri 'self'; form-action 'self'; object-src 'none'"
)
HEADERS = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}
# Only where the site is served over HTTPS: a development server on http must not be
# pinned to https in the browser for a year.
HSTS = "max-age=31536000; includeSubDomains"


class _CSRFProtect(CSRFProtect):
    """CSRF protects what the browser sends by itself - the session cookie. An API call
    with a bearer token is authenticated by that header alone (portal.shell.bearer)."""

    def protect(self, apply_exemptions=False):
        if is_bearer_request():
            return
        super().protect(apply_exemptions=apply_exemptions)


csrf = _CSRFProtect()


def init_app(app: Flask, *, production: bool) -> None:
    csrf.init_app(app)

    @app.after_request
    def _headers(response: Response) -> Response:
        for name, value in HEADERS.items():
            response.headers.setdefault(name, value)
        if production:
            response.headers.setdefault("Strict-Transport-Security", HSTS)
        return response
