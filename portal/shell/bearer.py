"""API calls made with an OAuth2 bearer token (RFC 6750) instead of the session cookie.

A request under /api/ that carries an `Authorization` header is authenticated by that
header alone, before anything else reads the identity: the token's client becomes the
request's identity (`current_user`, `api_identity()`), its tenant and actor go into the
unit of work, so row-level security and the audit trail see the client. Such a request
never falls back to the cookie, and needs no CSRF token (a browser never sends the
header by itself). A missing or bad token is a 401 problem with
`WWW-Authenticate: Bearer error="invalid_token"`; a 403 to a client says
`error="insufficient_scope"`.

authlib's ResourceProtector parses the header; auth.clients checks the token.
"""

from __future__ import annotations

import uuid

from authlib.integrations.flask_oauth2 import ResourceProtector
from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6750 import BearerTokenValidator
from flask import Flask, Response, g, request
from flask_babel import gettext

from auth import clients
from auth.errors import TokenInvalid
from kernel.uow import Actor
from portal.shell.errors import problem
from portal.shell.lifecycle import keep_changes, open_uow, uow_broken

API_PREFIX = "/api/"
REALM = "traceport"
# Endpoints under /api/ where the Authorization header is something else (the token
# endpoint's client credentials).
NOT_BEARER = frozenset({"api.token"})


class ClientIdentity:
    """An API client in its tenant, where the shell expects the signed-in identity. Plain
    values, like portal.shell.identity.Identity: usable after a rollback."""

    is_authenticated = True
    is_active = True
    is_anonymous = False
    is_client = True
    # No person: security events and the access log name no user.
    id = None
    email = None
    full_name = None
    locale = None
    timezone = None
    memberships = ()
    membership = None
    role = None

    def __init__(self, call: clients.ApiCall) -> None:
        self.call = call
        self.actor: Actor = call.actor
        self.tenant_id: uuid.UUID = call.tenant_id
        self.client_id = call.client_id
        self.client_name = call.client_name
        self.supplier_id = call.supplier_id

    @property
    def is_supplier(self) -> bool:
        return self.supplier_id is not None

    @property
    def principal(self) -> str:
        """Whose idempotency keys these are."""
        return f"client:{self.call.client_pk}"

    def get_id(self) -> None:
        return None


class _Token:
    """What authlib's validator checks; expiry and revocation were checked by auth.clients
    (which also recorded the refusal)."""

    def __init__(self, call: clients.ApiCall) -> None:
        self.call = call

    def is_expired(self) -> bool:
        return False

    def is_revoked(self) -> bool:
        return False

    def get_scope(self) -> str:
        return " ".join(sorted(self.call.scopes))


class _Validator(BearerTokenValidator):
    def authenticate_token(self, token_string: str) -> _Token | None:
        try:
            return _Token(clients.authenticate_call(open_uow(), token=token_string, ip=request.remote_addr))
        except TokenInvalid:
            return None


protector = ResourceProtector()
protector.register_token_validator(_Validator(realm=REALM))


def is_bearer_request() -> bool:
    """Under /api/ with an Authorization header (the token endpoint aside): the header
    decides who calls, whatever cookie comes with it."""
    return request.path.startswith(API_PREFIX) and "Authorization" in request.headers and request.endpoint not in NOT_BEARER


def init_app(app: Flask) -> None:
    app.before_request(_authenticate)
    app.after_request(_challenge)


def _authenticate() -> Response | None:
    if not is_bearer_request():
        return None
    g._bearer = True
    try:
        token = protector.acquire_token()
    except OAuth2Error:
        keep_changes()  # the refusal's security event, when the token was one of ours
        return _invalid_token()
    # The identity for the rest of the request (Flask-Login reads it from here; the
    # session cookie is never consulted).
    g._login_user = ClientIdentity(token.call)
    if token.call.use_recorded and not uow_broken():
        # The client's last use and a new address are kept whatever the call's outcome.
        open_uow().commit()
    return None


def _invalid_token() -> Response:
    response = problem(401, code=TokenInvalid.code, detail=gettext(TokenInvalid.message))
    response.headers["WWW-Authenticate"] = f'Bearer realm="{REALM}", error="invalid_token"'
    return response


def _challenge(response: Response) -> Response:
    if g.get("_bearer") and response.status_code == 403 and "WWW-Authenticate" not in response.headers:
        response.headers["WWW-Authenticate"] = f'Bearer realm="{REALM}", error="insufficient_scope"'
    return response
