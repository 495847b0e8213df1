"""Errors as pages for people and RFC 9457 problem details for the API.

Domain errors carry their HTTP status and a message key; both kinds of response
translate the message into the request's language. Under /api/ every error, including
a 404 for an unknown path, is application/problem+json.
"""

from __future__ import annotations

import logging

from flask import Flask, current_app, redirect, render_template, request, url_for
from flask_babel import gettext
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException, InternalServerError

from kernel.errors import N_, DomainError, Forbidden
from portal.shell import security_log
from portal.shell.i18n import error_text, field_errors
from portal.shell.lifecycle import discard_uow, request_id

log = logging.getLogger("portal.errors")

# (title, explanation) per status; the titles are also the problems' titles.
HTTP_TEXTS = {
    400: (N_("Bad request"), N_("The request could not be understood.")),
    401: (N_("Please sign in"), N_("Please sign in to continue.")),
    403: (N_("Access denied"), N_("You do not have permission to see this page.")),
    404: (N_("Page not found"), N_("There is no page at this address. Check the address, or go back to the start page.")),
    405: (N_("Not allowed"), N_("This address does not accept this kind of request.")),
    409: (N_("Conflict"), N_("This conflicts with the current state.")),
    413: (N_("Too large"), N_("What you sent is too large.")),
    422: (N_("Not valid"), N_("Some fields are not valid.")),
    429: (N_("Too many attempts"), N_("Too many attempts from your address. Wait a moment, then try again.")),
    500: (N_("Something went wrong"), N_("Something went wrong on our side. It has been logged; please try again later.")),
}
GENERIC = (N_("Error"), N_("The request could not be processed."))
# Where the page's words do not fit an API caller.
API_TEXTS = {404: N_("There is nothing at this address.")}
CSRF_TEXT = N_("This form has expired or did not come from this site. Reload the page and try again.")


def init_app(app: Flask) -> None:
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(Exception, _unexpected)


def wants_problem() -> bool:
    return request.path.startswith("/api/")


def title_for(status: int) -> str:
    return gettext(HTTP_TEXTS.get(status, GENERIC)[0])


def problem(status: int, *, code: str | None, detail: str, **extra):
    """An RFC 9457 problem details response."""
    body = {
        "type": f"urn:traceport:problem:{code}" if code else "about:blank",
        "title": title_for(status),
        "status": status,
        "detail": detail,
        "instance": request.path,
        "request_id": request_id(),
        **extra,
    }
    return current_app.response_class(current_app.json.dumps(body), status=status, mimetype="application/problem+json")


def error_page(status: int, message: str, *, errors: dict[str, str] | None = None):
    try:
        html = render_template("shell/error.html", status=status, title=title_for(status), message=message, errors=errors or {})
    except Exception:
        log.exception("error page failed to render")
        html = f"<!doctype html><title>{status}</title><p>{status}</p>"
    return html, status


def _domain_error(error: DomainError):
    if isinstance(error, Forbidden):
        security_log.permission_denied(permission=error.params.get("permission"))
    security_log.note_probe(error)
    errors = field_errors(error)
    if wants_problem():
        extra = {"errors": errors} if errors else {}
        return problem(error.status, code=error.code, detail=error_text(error), **extra)
    if error.status == 401:
        return redirect(url_for("auth.login"))
    if error.code == "tenant-required":
        return redirect(url_for("shell.tenants"))
    return error_page(error.status, error_text(error), errors=errors)


def _csrf_error(error: CSRFError):
    security_log.csrf_refused(error.description)
    if wants_problem():
        return problem(400, code="csrf-failed", detail=gettext(CSRF_TEXT))
    return error_page(400, gettext(CSRF_TEXT))


def _http_error(error: HTTPException):
    status = error.code or 500
    if status >= 500:
        discard_uow()  # Flask has logged the exception already (app.log_exception)
    elif status == 403:
        security_log.permission_denied()
    explanation = HTTP_TEXTS.get(status, GENERIC)[1]
    if wants_problem():
        response = problem(status, code=None, detail=gettext(API_TEXTS.get(status, explanation)))
    else:
        response = current_app.make_response(error_page(status, gettext(explanation)))
    allowed = getattr(error, "valid_methods", None)
    if allowed:
        response.headers["Allow"] = ", ".join(allowed)
    return response


def _unexpected(error: Exception):
    """An exception in a view: the same page as any 500, after logging it here (Flask
    logs only the exceptions that reach its own last-resort handler)."""
    log.exception("unhandled error", exc_info=error)
    return _http_error(InternalServerError(original_exception=error))
