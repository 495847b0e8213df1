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


class MeOut(BaseModel):
    user: UserOut
    tenant: TenantOut | None = Field(description="The tenant chosen for this session")
    role: str | None
    supplier: OrganisationOut | None = Field(description="For supplier users: their company")
    permissions: list[str]
    memberships: list[MembershipOut]
    csrf_token: str = Field(description="Send as the X-CSRFToken header on writes")


def tenant_of(membership) -> TenantOut:
    return TenantOut(
        id=membership.tenant_id, slug=membership.tenant_slug, name=membership.tenant_name, name_zh=membership.tenant_name_zh
    )
