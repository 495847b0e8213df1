"""Tenants, organisations, sites and memberships."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from auth.models import User
from auth.permissions import permissions_of, require
from kernel.errors import ValidationFailed
from kernel.ids import new_id
from kernel.uow import Actor
from tenants.errors import SlugTaken, TenantNotFound
from tenants.models import Membership, Organisation, OrganisationKind, Site, Tenant
from tenants.roles import ROLES, is_supplier_role


@dataclass(frozen=True)
class MembershipView:
    membership_id: uuid.UUID
    tenant_id: uuid.UUID
    tenant_slug: str
    tenant_name: str
    tenant_name_zh: str | None
    organisation_id: uuid.UUID
    supplier_id: uuid.UUID | None
    role: str

    @property
    def is_supplier(self) -> bool:
        return self.supplier_id is not None


def create_tenant(uow, *, slug: str, name: str, name_zh: str | None = None, default_locale: str = "en") -> Tenant:
    """Create a tenant with its own organisation; the unit of work switches into it
    (the new tenant's rows, and their audit events, belong to it)."""
    tenant = Tenant(id=new_id(), slug=slug, name=name, name_zh=name_zh, default_locale=default_locale)
    uow.switch_tenant(tenant.id)
    try:
        with uow.session.begin_nested():
            uow.add(tenant)  # inside the savepoint: a taken slug leaves the transaction usable
    except sa.exc.IntegrityError as exc:
        raise SlugTaken(slug=slug) from exc
    uow.add(Organisation(tenant_id=tenant.id, code=slug.upper(), kind=OrganisationKind.TENANT, name=name, name_zh=name_zh))
    uow.flush()
    return tenant


def get_tenant_by_slug(uow, *, slug: str) -> Tenant:
    tenant = uow.session.scalar(sa.select(Tenant).where(Tenant.slug == slug))
    if tenant is None:
        raise TenantNotFound()
    return tenant


def own_organisation(uow) -> Organisation:
    return uow.session.scalar(sa.select(Organisation).where(Organisation.kind == OrganisationKind.TENANT))


def create_supplier(uow, *, code: str, name: str, name_zh: str | None = None, country: str | None = None) -> Organisation:
    org_id = new_id()
    org = Organisation(
        tenant_id=uow.tenant_id,
        id=org_id,
        supplier_id=org_id,
        code=code,
        kind=OrganisationKind.SUPPLIER,
        name=name,
        name_zh=name_zh,
        country=country,
    )
    uow.add(org)
    uow.flush()
    return org


def list_suppliers(uow) -> list[Organisation]:
    return list(
        uow.session.scalars(
            sa.select(Organisation).where(Organisation.kind == OrganisationKind.SUPPLIER).order_by(Organisation.name)
        )
    )


def create_site(
    uow, *, organisation: Organisation, name: str, kind: str, address: str | None = None, country: str | None = None
) -> Site:
    site = Site(
        tenant_id=uow.tenant_id,
        organisation_id=organisation.id,
        supplier_id=organisation.supplier_id,
        name=name,
        kind=kind,
        address=address,
        country=country,
    )
    uow.add(site)
    uow.flush()
    return site


def add_membership(uow, *, user: User, role: str, organisation: Organisation | None = None) -> Membership:
    if role not in ROLES:
        raise ValidationFailed(errors={"role": "unknown role"})
    organisation = organisation or own_organisation(uow)
    if is_supplier_role(role) != (organisation.kind == OrganisationKind.SUPPLIER):
        raise ValidationFailed(errors={"role": "role does not fit the organisation"})
    membership = Membership(
        tenant_id=uow.tenant_id, user_id=user.id, organisation_id=organisation.id, supplier_id=organisation.supplier_id, role=role
    )
    uow.add(membership)
    uow.flush()
    return membership


def memberships_of(uow, *, user_id: uuid.UUID) -> list[MembershipView]:
    """The active memberships of a user across tenants (the membership and tenant
    policies let a user see their own, whatever tenant is in context)."""
    rows = uow.execute(
        sa.select(Membership, Tenant)
        .join(Tenant, Tenant.id == Membership.tenant_id)
        .where(Membership.user_id == user_id, Membership.is_active, Tenant.is_active)
        .order_by(Tenant.name)
    ).all()
    return [MembershipView(m.id, t.id, t.slug, t.name, t.name_zh, m.organisation_id, m.supplier_id, m.role) for m, t in rows]


def actor_for(user: User, membership: MembershipView | None) -> Actor:
    return Actor(
        user_id=user.id,
        name=user.email,
        role=membership.role if membership else None,
        supplier_id=membership.supplier_id if membership else None,
        membership_id=membership.membership_id if membership else None,
        permissions=permissions_of(membership.role if membership else None),
    )


def next_number(uow, *, name: str, prefix: str, year: int, width: int = 6) -> str:
    """Gapless per-tenant counter: the row lock serialises only writers of one counter,
    and a rolled-back transaction gives its number back."""
    key = f"{name}-{year}"
    value = uow.scalar(
        sa.text(
            "insert into counter (tenant_id, name, value) values (:t, :n, 1)"
            " on conflict (tenant_id, name) do update set value = counter.value + 1 returning value"
        ),
        {"t": uow.tenant_id, "n": key},
    )
    return f"{prefix}-{year}-{value:0{width}d}"


def tenant_id_by_slug(uow, *, slug: str) -> uuid.UUID:
    """For operator commands: the slug's tenant id, found before any context is set."""
    tenant_id = uow.scalar(sa.text("select app.tenant_id_by_slug(:s)"), {"s": slug})
    if tenant_id is None:
        raise TenantNotFound()
    return tenant_id


def organisations_by_id(uow, *, ids) -> dict[uuid.UUID, Organisation]:
    """Organisations by id, for naming them beside other domains' rows."""
    if not ids:
        return {}
    return {org.id: org for org in uow.session.scalars(sa.select(Organisation).where(Organisation.id.in_(ids)))}


def count_suppliers(uow) -> int:
    return uow.scalar(sa.select(sa.func.count()).select_from(Organisation).where(Organisation.kind == OrganisationKind.SUPPLIER))


@dataclass(frozen=True)
class MemberView:
    membership_id: uuid.UUID
    user_id: uuid.UUID
    full_name: str
    email: str
    role: str
    is_active: bool
    organisation_name: str
    organisation_name_zh: str | None
    is_supplier: bool
    last_login_at: datetime | None = None


def list_members(uow, actor: Actor) -> list[MemberView]:
    """The tenant's members with their role and organisation, for its administrators."""
    require(actor, "users.manage")
    # The membership policy also shows a user their own memberships in other tenants
    # (to pick one at sign-in); the join on the organisation, visible only in the tenant
    # in context, leaves those out.
    rows = uow.execute(
        sa.select(Membership, User, Organisation)
        .join(User, User.id == Membership.user_id)
        .join(
            Organisation,
            sa.and_(Organisation.tenant_id == Membership.tenant_id, Organisation.id == Membership.organisation_id),
        )
        .order_by(Organisation.kind.desc(), Organisation.name, User.full_name)
    ).all()
    return [
        MemberView(
            membership_id=m.id,
            user_id=u.id,
            full_name=u.full_name,
            email=u.email,
            role=m.role,
            is_active=m.is_active and u.is_active,
            organisation_name=o.name,
            organisation_name_zh=o.name_zh,
            is_supplier=o.kind == OrganisationKind.SUPPLIER,
            last_login_at=u.last_login_at,
        )
        for m, u, o in rows
    ]
