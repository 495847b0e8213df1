"""One unit of work per request.

It is opened lazily, on the first `request_uow()` (static files, health checks and
anonymous pages that touch no data never open one). The signed-in user's tenant and
actor are put in its context as the identity is loaded. At the end of the request it
commits when the response is a success (< 400) and rolls back otherwise; teardown
closes it whatever happened.
"""

from __future__ import annotations

import logging
import re
import time
import uuid

from flask import Flask, Response, current_app, g, request
from flask_login import current_user

from kernel.runtime import Runtime
from kernel.uow import Origin, UnitOfWork

log = logging.getLogger("portal.request")

# A caller's request id is kept only if it is short and plain: it goes into logs and
# the audit trail.
REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")


def runtime() -> Runtime:
    return current_app.extensions["traceport"]


def request_uow() -> UnitOfWork:
    """The request's unit of work, with the signed-in user's tenant and actor in context."""
    current_user._get_current_object()  # loading the identity sets the context
    return open_uow()


def open_uow() -> UnitOfWork:
    """The unit of work as it is, without loading the identity (the loader uses this)."""
    uow = g.get("_uow")
    if uow is None:
        uow = runtime().uow(request_id=request_id())
        uow.origin = Origin(ip=request.remote_addr, user_agent=(request.user_agent.string or "")[:300] or None)
        uow.__enter__()
        g._uow = uow
    return uow


def request_id() -> str:
    if "request_id" not in g:
        supplied = request.headers.get("X-Request-ID", "")
        g.request_id = supplied if REQUEST_ID.fullmatch(supplied) else uuid.uuid4().hex
    return g.request_id


def discard_uow() -> None:
    """Roll back now and let nothing else use this request's unit of work (after an
    unexpected error the session may be unusable)."""
    g._uow_broken = True
    uow = g.get("_uow")
    if uow is not None and not g.get("_uow_done"):
        g._uow_done = True
        uow.rollback()


def keep_changes() -> None:
    """Commit this request's changes although the response will be an error: a refused
    sign-in must still count the failure and leave its security event. Only for views
    whose transaction holds nothing but that record."""
    g._uow_keep = True


def record_refusal(**event) -> None:
    """Roll back whatever this request changed, then record a security event in a fresh
    transaction of the same unit of work and commit it (access refused by a permission
    or by isolation, a bad CSRF token): the refusal changes nothing but the log.
    Arguments as auth.security.record_security_event."""
    from auth.security import record_security_event

    uow = g.get("_uow")
    if uow is None or uow_broken() or g.get("_uow_done"):
        uow = open_uow() if not g.get("_uow_done") and not uow_broken() else None
    if uow is None:
        return
    uow.rollback()
    try:
        record_security_event(uow, **event)
        uow.commit()
    except Exception:
        log.exception("could not record security event %s", event.get("kind"))
        uow.rollback()
    g._uow_done = True
    g._refusal_recorded = True  # the error handlers add no second event for this request


def refusal_recorded() -> bool:
    """Whether this request has recorded its refusal already: with record_refusal, or
    with its own event kept by keep_changes."""
    return bool(g.get("_refusal_recorded") or g.get("_uow_keep"))


def uow_broken() -> bool:
    return bool(g.get("_uow_broken"))


def init_app(app: Flask) -> None:
    app.before_request(_begin)
    app.after_request(_finish)
    app.teardown_request(_close)


def _begin() -> None:
    g.request_started = time.perf_counter()
    request_id()


def _finish(response: Response) -> Response:
    uow = g.get("_uow")
    if uow is not None and not g.get("_uow_done"):
        g._uow_done = True  # set first: a failing commit comes back here with the 500
        if response.status_code < 400 or g.get("_uow_keep"):
            uow.commit()
        else:
            uow.rollback()
    response.headers["X-Request-ID"] = request_id()
    _access_log(response)
    return response


def _close(exc: BaseException | None) -> None:
    uow = g.pop("_uow", None)
    if uow is not None:
        uow.__exit__(None, None, None)


def _access_log(response: Response) -> None:
    if request.endpoint == "static":
        return
    started = g.get("request_started")
    user = g.get("_login_user")
    log.info(
        "%s %s %s",
        request.method,
        request.path,
        response.status_code,
        extra={
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "duration_ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
            "user_id": str(user.id) if getattr(user, "is_authenticated", False) and user.id else None,
            "tenant_id": str(user.tenant_id) if getattr(user, "tenant_id", None) else None,
            # An API client (portal.shell.bearer) has no user id; its public id names it.
            "client_id": getattr(user, "client_id", None),
        },
    )
