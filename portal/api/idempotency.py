"""Idempotency-Key on creates: the first response is stored in the same transaction as
the change and replayed for a retry of the same request."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable

import sqlalchemy as sa
from flask import current_app, request

from kernel import idempotency
from kernel.errors import N_, Conflict, DomainError, ValidationFailed
from portal.shell import request_uow

HEADER = "Idempotency-Key"
MAX_KEY = 200


class KeyReused(DomainError):
    status = 422
    code = "idempotency-key-reused"
    message = N_("This Idempotency-Key was already used for a different request.")


class KeyInUse(Conflict):
    code = "idempotency-key-in-use"
    message = N_("Another request with this Idempotency-Key is in progress. Try again shortly.")


def idempotent(principal: str, handler: Callable[[], tuple[int, dict]]):
    """Run `handler` (returning status and JSON body) at most once per key."""
    key = request.headers.get(HEADER)
    if key is None:
        return json_response(*handler())
    if not 0 < len(key) <= MAX_KEY or not key.isprintable():
        raise ValidationFailed(errors={HEADER: N_("Use 1 to 200 visible characters.")})
    uow = request_uow()
    fingerprint = _fingerprint()
    stored = idempotency.lookup(uow, principal=principal, key=key)
    if stored is not None:
        if stored.request_hash != fingerprint:
            raise KeyReused()
        response = json_response(stored.status, stored.body)
        response.headers["Idempotent-Replayed"] = "true"
        return response
    status, body = handler()
    try:
        # Two requests racing with one key: the second waits on the first's row, then fails here.
        with uow.session.begin_nested():
            idempotency.remember(uow, principal=principal, key=key, request_hash=fingerprint, status=status, body=body)
    except sa.exc.IntegrityError as exc:
        raise KeyInUse() from exc
    return json_response(status, body)


def json_response(status: int, body):
    return current_app.response_class(current_app.json.dumps(body), status=status, mimetype="application/json")


def _fingerprint() -> str:
    """The request as the key covers it: method, path and the body's JSON value (key
    order and spacing do not make a different request)."""
    data = request.get_json(silent=True)
    body = json.dumps(data, sort_keys=True, separators=(",", ":")).encode() if data is not None else request.get_data()
    return hashlib.sha256(f"{request.method} {request.path}\n".encode() + body).hexdigest()
