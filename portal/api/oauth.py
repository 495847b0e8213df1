"""The OAuth2 token endpoint: client credentials (RFC 6749 §4.4) for API clients.

authlib's authorization server does the protocol - parsing, client authentication by
HTTP Basic (client_secret_basic) or form fields (client_secret_post), the grant type,
the token response and RFC 6749 §5.2 errors (`invalid_client` 401, `invalid_scope`,
`unsupported_grant_type`...). The lookups, the secret check, the scopes and the stored
token are auth.clients', in the request's unit of work.

A refused request commits nothing but its security event (`keep_changes`).
"""

from __future__ import annotations

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin
from authlib.oauth2.rfc6749.grants import ClientCredentialsGrant
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from flask import Flask, current_app

from auth import clients
from auth.errors import ClientAuthenticationFailed, InvalidScope
from kernel.crypto import new_token
from portal.api.openapi import operation
from portal.shell.lifecycle import keep_changes, open_uow
from portal.shell.security import csrf
from portal.shell.throttle import login_throttle

AUTH_METHODS = ("client_secret_basic", "client_secret_post")
EXTENSION = "traceport_oauth"


class Client(ClientMixin):
    """authlib's view of an API client. Every client id gets one, known or not: an unknown
    id fails in `check_client_secret` like a wrong secret, with the same response."""

    def __init__(self, client_id: str) -> None:
        self.client_id = client_id
        self.row = None

    def get_client_id(self) -> str:
        return self.client_id

    def check_client_secret(self, client_secret: str) -> bool:
        try:
            self.row = clients.authenticate_client(open_uow(), client_id=self.client_id, client_secret=client_secret)
        except ClientAuthenticationFailed:
            return False
        return True

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint == "token" and method in AUTH_METHODS

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "client_credentials"

    def get_allowed_scope(self, scope: str | None) -> str | None:
        """All requested scopes must be the client's (None: authlib answers invalid_scope)."""
        try:
            return " ".join(clients.grant_scopes(open_uow(), self.row, scope))
        except InvalidScope:
            return None


class CredentialsGrant(ClientCredentialsGrant):
    TOKEN_ENDPOINT_AUTH_METHODS = list(AUTH_METHODS)


class TokenServer(AuthorizationServer):
    def __init__(self, app: Flask, minutes: int) -> None:
        super().__init__()
        self.minutes = minutes
        self.init_app(app, query_client=Client, save_token=self._save)
        self.register_grant(CredentialsGrant)
        # Our random tokens; lifetime from the settings (authlib's default is ten days).
        self.register_token_generator(
            "default", BearerTokenGenerator(lambda **_: new_token(), None, lambda _client, _grant: minutes * 60)
        )

    def _save(self, token: dict, request) -> None:
        clients.store_token(
            open_uow(),
            request.client.row,
            token=token["access_token"],
            scopes=(token.get("scope") or "").split(),
            minutes=self.minutes,
        )


def init_app(app: Flask) -> None:
    settings = app.extensions["traceport"].settings
    app.extensions[EXTENSION] = TokenServer(app, settings.api_token_minutes)


TOKEN_FORM = {
    "type": "object",
    "required": ["grant_type"],
    "properties": {
        "grant_type": {"type": "string", "enum": ["client_credentials"]},
        "scope": {
            "type": "string",
            "description": "Space-separated permission names, all granted to the client; none asks for all of them",
            "examples": ["po.view items.manage"],
        },
        "client_id": {"type": "string", "description": "With client_secret_post, instead of HTTP Basic"},
        "client_secret": {"type": "string", "description": "With client_secret_post, instead of HTTP Basic"},
    },
}
TOKEN_RESPONSE = {
    "type": "object",
    "required": ["access_token", "token_type", "expires_in"],
    "properties": {
        "access_token": {"type": "string", "description": "Send as `Authorization: Bearer <access_token>`"},
        "token_type": {"type": "string", "enum": ["Bearer"]},
        "expires_in": {"type": "integer", "description": "Seconds"},
        "scope": {"type": "string", "description": "The granted scopes, space-separated"},
    },
}
TOKEN_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "string",
            "enum": [
                "invalid_request",
                "invalid_client",
                "invalid_grant",
                "unauthorized_client",
                "unsupported_grant_type",
                "invalid_scope",
            ],
        },
        "error_description": {"type": "string"},
    },
}


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


@operation(
    summary="Get an access token (OAuth2 client credentials)",
    tags=("oauth",),
    description=(
        "Authenticate with the client id and secret by HTTP Basic (client_secret_basic) or form fields"
        " (client_secret_post). Errors follow RFC 6749 §5.2, not problem details."
    ),
    signed_in=False,
    responses={},
    extra={
        "security": [],
        "requestBody": {"required": True, "content": {"application/x-www-form-urlencoded": {"schema": TOKEN_FORM}}},
        "responses": {
            "200": _json(TOKEN_RESPONSE, "The access token"),
            "400": _json(TOKEN_ERROR, "invalid_request, invalid_scope, unsupported_grant_type"),
            "401": _json(TOKEN_ERROR, "invalid_client: unknown client, wrong secret or revoked client"),
        },
    },
)
@login_throttle
@csrf.exempt  # a machine endpoint: no cookie is read, the client authenticates itself
def token():
    response = current_app.extensions[EXTENSION].create_token_response()
    if response.status_code >= 400:
        keep_changes()  # the refusal's security event; nothing else was written
    return response
