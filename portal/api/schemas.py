"""Shapes of the API's own resources (the domains' live in their schemas.py)."""

from __future__ import annotations

import uuid

from pydantic import BaseModel, Field


class Problem(BaseModel):
    """RFC 9457 problem details."""

    type: str = Field(examples=["urn:traceport:problem:validation-failed"])
    title: str
    status: int
    detail: str
    instance: str
    request_id: str
    errors: dict[str, str] | None = Field(None, description="Per-field messages, for validation problems")


class UserOut(BaseModel):
    id: uuid.UUID
    email: str
    full_name: str
    locale: str | None


class TenantOut(BaseModel):
    id: uuid.UUID
    slug: str
    name: str
    name_zh: str | None


class OrganisationOut(BaseModel):
    id: uuid.UUID
    name: str
    name_zh: str | None


class MembershipOut(BaseModel):
    tenant: TenantOut
    role: str
    supplier_id: uuid.UUID | None


class ClientOut(BaseModel):
    client_id: str = Field(examples=["tpc_3q2x7Yb1mW9kLpZr0uVt5A"])
    name: str = Field(examples=["Plant MES"])
    scopes: list[str] = Field(description="The permissions of the token in use")


class MeOut(BaseModel):
    """Who calls: a signed-in user (session cookie) or an API client (bearer token)."""

    user: UserOut | None = Field(description="The signed-in user; null for an API client")
    client: ClientOut | None = Field(None, description="The API client of the bearer token; null for a user")
    tenant: TenantOut | None = Field(description="The tenant chosen for this session, or the API client's")
    role: str | None
    supplier: OrganisationOut | None = Field(description="For supplier users and clients acting for a supplier: the company")
    permissions: list[str]
    memberships: list[MembershipOut]
    csrf_token: str | None = Field(description="Send as the X-CSRFToken header on writes (sessions only; null for a client)")


def tenant_of(membership) -> TenantOut:
    return TenantOut(
        id=membership.tenant_id, slug=membership.tenant_slug, name=membership.tenant_name, name_zh=membership.tenant_name_zh
    )
