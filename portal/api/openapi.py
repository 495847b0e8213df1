"""The OpenAPI 3.1 document, generated from the routes and their pydantic models.

Each API view is decorated with `operation(...)`; `document(app)` walks the URL map,
so a route that exists is documented at its real path and methods, and the schemas are
the very models the views parse and return (pydantic's JSON Schema is the dialect
OpenAPI 3.1 uses).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from http import HTTPStatus

from flask import Flask
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from auth.permissions import PERMISSIONS
from portal.api.schemas import Problem

REF = "#/components/schemas/{model}"
PROBLEM_TYPE = "application/problem+json"
_ARGUMENT = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_PATH_TYPES = {"int": {"type": "integer"}, "uuid": {"type": "string", "format": "uuid"}}


@dataclass(frozen=True)
class Operation:
    summary: str
    responses: dict[int, type[BaseModel] | None]
    description: str | None = None
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    tags: tuple[str, ...] = ()
    idempotent: bool = False
    signed_in: bool = True
    extra: dict = field(default_factory=dict)


def operation(**kwargs):
    """Document a view: `@operation(summary=..., responses={200: Model, 404: None}, ...)`.
    Error statuses get the Problem schema whatever model is given."""

    def decorate(view):
        view.openapi = Operation(**kwargs)
        return view

    return decorate


def document(app: Flask, *, prefix: str, title: str, version: str) -> dict:
    operations = []
    needs: dict[str, list[str]] = {}
    for rule in app.url_map.iter_rules():
        view = app.view_functions.get(rule.endpoint)
        spec = getattr(view, "openapi", None)
        if spec is not None and rule.rule.startswith(prefix):
            # The permissions the route declared (portal.shell.identity.permission_required):
            # a client's token needs one of them among its scopes.
            needs[rule.endpoint] = sorted(getattr(getattr(view, "requirement", None), "permissions", ()))
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                operations.append((rule, method, spec))
    refs, components = _schemas(operations)
    paths: dict[str, dict] = {}
    for rule, method, spec in operations:
        path = _ARGUMENT.sub(lambda m: "{" + m["name"] + "}", rule.rule)
        paths.setdefault(path, {})[method.lower()] = _operation(rule, method, spec, refs, needs[rule.endpoint])
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "session": {
                    "type": "apiKey",
                    "in": "cookie",
                    "name": app.config["SESSION_COOKIE_NAME"],
                    "description": "The session cookie of a signed-in user; writes also need the X-CSRFToken header.",
                },
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": (
                        "An API client's access token from POST /api/v1/oauth/token, as `Authorization: Bearer <token>`."
                        " The token's scopes are permission names; a call needs the permission its route names."
                    ),
                },
                "oauth2": {
                    "type": "oauth2",
                    "description": "How an API client gets its bearer token: client credentials; scopes are permissions.",
                    "flows": {
                        "clientCredentials": {
                            "tokenUrl": f"{prefix}/oauth/token",
                            "scopes": dict(PERMISSIONS),
                        }
                    },
                },
            },
        },
    }


def _schemas(operations) -> tuple[dict, dict]:
    wanted: dict[tuple[type[BaseModel], str], None] = {(Problem, "serialization"): None}
    for _rule, _method, spec in operations:
        if spec.body is not None:
            wanted[(spec.body, "validation")] = None
        for model in spec.responses.values():
            if model is not None:
                wanted[(model, "serialization")] = None
    refs, defs = models_json_schema(list(wanted), ref_template=REF)
    return refs, defs.get("$defs", {})


def _operation(rule, method: str, spec: Operation, refs: dict, needs: list[str]) -> dict:
    op: dict = {"summary": spec.summary, "operationId": rule.endpoint.replace(".", "_"), "responses": {}}
    if spec.description:
        op["description"] = spec.description
    if spec.tags:
        op["tags"] = list(spec.tags)
    # Either the session, or a bearer token whose scopes hold one of the permissions named
    # (OpenAPI 3.1 lets any scheme list the roles it needs).
    op["security"] = [{"session": []}, {"bearerAuth": needs}] if spec.signed_in else []
    parameters = _path_parameters(rule) + _query_parameters(spec.query) + _header_parameters(method, spec)
    if parameters:
        op["parameters"] = parameters
    if spec.body is not None:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": refs[(spec.body, "validation")]}}}
    for status, model in sorted(spec.responses.items()):
        op["responses"][str(status)] = _response(status, model, refs)
    op.update(spec.extra)
    return op


def _response(status: int, model, refs: dict) -> dict:
    response: dict = {"description": HTTPStatus(status).phrase}
    if status >= 400:
        response["content"] = {PROBLEM_TYPE: {"schema": refs[(Problem, "serialization")]}}
    elif model is not None:
        response["content"] = {"application/json": {"schema": refs[(model, "serialization")]}}
    return response


def _path_parameters(rule) -> list[dict]:
    return [
        {"name": m["name"], "in": "path", "required": True, "schema": _PATH_TYPES.get(m["converter"] or "", {"type": "string"})}
        for m in _ARGUMENT.finditer(rule.rule)
    ]


def _query_parameters(model: type[BaseModel] | None) -> list[dict]:
    if model is None:
        return []
    properties = model.model_json_schema(ref_template=REF)["properties"]
    parameters = []
    for name, info in model.model_fields.items():
        schema = dict(properties[name])
        description = schema.pop("description", None)
        parameter = {"name": name, "in": "query", "required": info.is_required(), "schema": schema}
        if description:
            parameter["description"] = description
        parameters.append(parameter)
    return parameters


def _header_parameters(method: str, spec: Operation) -> list[dict]:
    headers = []
    if spec.idempotent:
        headers.append(
            {
                "name": "Idempotency-Key",
                "in": "header",
                "required": False,
                "schema": {"type": "string", "minLength": 1, "maxLength": 200},
                "description": "Send the same key again to get the first response replayed instead of a second create.",
            }
        )
    if spec.signed_in and method not in ("GET", "HEAD", "OPTIONS"):
        headers.append(
            {
                "name": "X-CSRFToken",
                "in": "header",
                "required": False,
                "schema": {"type": "string"},
                "description": (
                    "With the session cookie, required: the CSRF token of the session (`csrf_token` in GET /api/v1/me)."
                    " Not used with a bearer token."
                ),
            }
        )
    return headers
