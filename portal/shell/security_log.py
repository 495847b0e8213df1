"""Security events the web layer records on its own: refusals (by permission, by
tenant/supplier isolation, a missing or bad CSRF token) and large exports.

A refusal answers 4xx, and the request's unit of work rolls back on that; the event is
written with `record_now` (portal.shell.lifecycle.record_refusal: the request's changes
are dropped, the event alone is committed). An export succeeds, so its event goes with
the request's own commit (`record_export`).

Isolation: a request that names a tenant or supplier id (in the URL, the query string,
a form field or a top-level JSON field called `tenant_id` / `supplier_id`) is checked
before its view runs: a tenant id other than the session's, or - for a supplier user -
a supplier id other than their own company's, is refused with 403 and an
"isolation_denied" event. Row-level security would return nothing anyway; this makes
the attempt visible. Views that take a tenant id on purpose (the tenant switch) are
listed in ISOLATION_EXEMPT and check it themselves.
"""

from __future__ import annotations

from flask import Flask, abort, current_app, request
from flask_login import current_user

from portal.shell.lifecycle import record_refusal, refusal_recorded, request_uow, runtime

SCOPED_FIELDS = ("tenant_id", "supplier_id")
# Endpoints whose tenant_id field is the user's choice among their own memberships.
ISOLATION_EXEMPT = frozenset({"shell.switch_tenant"})


def init_app(app: Flask) -> None:
    app.before_request(_guard_isolation)


def record_now(**event) -> None:
    """Record a security event that must outlive this request's refusal (arguments as
    auth.security.record_security_event; the user defaults to the signed-in one). The
    request's own changes are rolled back; only the event is committed."""
    user = _person()
    if user is not None:
        event.setdefault("user_id", user.id)
        event.setdefault("email", user.email)
    record_refusal(**event)


def foreign_record(*, field: str, value: str) -> None:
    """A record id that row-level security hid from the caller but that exists (another
    tenant's or supplier's): note the probe. The caller still answers "not found", as for
    an id that exists nowhere, so the answer tells nothing."""
    isolation_event(field=field, value=value, where="path")


def probe_on_not_found(app: Flask, error_class: type, *, view_arg: str, exists_elsewhere) -> None:
    """Note every `error_class` (a "not found") for an id in the URL's `view_arg` that
    exists in another tenant or for another supplier: `exists_elsewhere(uow, id)` says
    so (a yes/no lookup past row-level security). Registered once per app; every view
    and API endpoint of that record gets it from the error handler (note_probe)."""
    app.extensions.setdefault("traceport_not_found_probes", {})[error_class] = (view_arg, exists_elsewhere)


def note_probe(error) -> None:
    """Called for every domain error on its way to the response (portal.shell.errors)."""
    probes = current_app.extensions.get("traceport_not_found_probes", {})
    found = probes.get(type(error))
    if found is None or not request.view_args:
        return
    view_arg, exists_elsewhere = found
    value = request.view_args.get(view_arg)
    if value is not None and exists_elsewhere(request_uow(), value):
        foreign_record(field=view_arg, value=str(value))


def permission_denied(*, permission: str | None = None, status: int = 403) -> None:
    """A 403 that no view recorded (a service's Forbidden, an abort(403)): note it."""
    if refusal_recorded():
        return
    detail = {"endpoint": request.endpoint, "method": request.method, "path": request.path, "status": status}
    if permission:
        detail["needs"] = [permission]
    user = _identity()
    if user is not None:
        detail["role"] = getattr(user, "role", None)
        detail["actor"] = user.actor.name if getattr(user, "actor", None) else None
    record_now(kind="permission_denied", severity="info" if request.method in ("GET", "HEAD") else "warning", detail=detail)


def csrf_refused(reason: str) -> None:
    """A form or API write without a valid CSRF token (flask_wtf's CSRFError)."""
    from portal.shell.throttle import sampled

    if _identity() is None and not sampled("csrf_refused"):
        return  # anonymous floods are sampled; a signed-in user's refusals are all kept
    record_now(
        kind="csrf_refused",
        severity="warning",
        detail={"endpoint": request.endpoint, "method": request.method, "path": request.path, "reason": reason},
    )


def isolation_denied(*, field: str, value: str, where: str) -> None:
    """Refuse a request that names another tenant's or supplier's id (403), and say so in
    the log of the tenant the user is working in (else each of theirs): never in the
    tenant named, which is the attacker's choice."""
    isolation_event(field=field, value=value, where=where)
    abort(403)


def isolation_event(*, field: str, value: str, where: str) -> None:
    user = _identity()
    tenant_ids = None
    if user is not None and getattr(user, "tenant_id", None) is None:
        tenant_ids = [m.tenant_id for m in getattr(user, "memberships", ())] or None
    event = {
        "kind": "isolation_denied",
        "severity": "warning",
        "detail": {
            "endpoint": request.endpoint,
            "method": request.method,
            "path": request.path,
            "field": field,
            "value": value[:64],
            "where": where,
        },
    }
    if tenant_ids:
        event["tenant_ids"] = tenant_ids
    record_now(**event)


def record_export(*, what: str, rows: int) -> None:
    """A download of many records (an access review, a report): an event with the row
    count, critical - emailed to the security administrators - from
    settings.alert_export_rows rows. Recorded with the request's own commit."""
    from auth.security import record_security_event

    user = _person()
    record_security_event(
        request_uow(),
        kind="bulk_export",
        severity="critical" if rows >= runtime().settings.alert_export_rows else "info",
        user_id=user.id if user else None,
        email=user.email if user else None,
        detail={"what": what, "rows": rows, "endpoint": request.endpoint},
    )


def _identity():
    """The signed-in identity (a person or an API client), or None."""
    try:
        return current_user._get_current_object() if current_user.is_authenticated else None
    except Exception:  # the database itself may be what failed
        current_app.logger.exception("identity unavailable for a security event")
        return None


def _person():
    user = _identity()
    return user if user is not None and getattr(user, "id", None) is not None else None


def _named_ids() -> list[tuple[str, str, str]]:
    """(field, value, where) for every tenant or supplier id the request names."""
    found = []
    for name, value in (request.view_args or {}).items():
        if name in SCOPED_FIELDS:
            found.append((name, str(value), "url"))
    for name in SCOPED_FIELDS:
        for value in request.args.getlist(name):
            found.append((name, value, "query"))
    if request.method not in ("GET", "HEAD", "OPTIONS"):
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for name in SCOPED_FIELDS:
                for value in request.form.getlist(name):
                    found.append((name, value, "form"))
        elif request.is_json:
            body = request.get_json(silent=True)
            if isinstance(body, dict):
                for name in SCOPED_FIELDS:
                    if name in body and body[name] is not None:
                        found.append((name, str(body[name]), "json"))
    return found


def _guard_isolation() -> None:
    if request.endpoint is None or request.endpoint in ISOLATION_EXEMPT or request.endpoint == "static":
        return
    named = _named_ids()
    if not named:
        return
    user = _identity()
    if user is None:
        return  # nothing to compare with; the view refuses anonymous callers
    tenant_id = getattr(user, "tenant_id", None)
    supplier_id = user.actor.supplier_id if getattr(user, "actor", None) else None
    for field, value, where in named:
        value = value.strip()
        if field == "tenant_id" and value.lower() != str(tenant_id or "").lower():
            isolation_denied(field=field, value=value, where=where)
        if field == "supplier_id" and supplier_id is not None and value and value.lower() != str(supplier_id).lower():
            isolation_denied(field=field, value=value, where=where)
