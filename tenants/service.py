"""Tenants, organisations, sites and memberships."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa

from auth.errors import RoleNotFound
from auth.models import Role, User
from auth.permissions import require
from auth.roles import get_role, list_roles, role_order, seed_default_roles
from auth.security import record_security_event
from kernel.errors import ValidationFailed
from kernel.ids import new_id
from kernel.uow import Actor
from tenants.errors import (
    BuyerRoleForSupplier,
    MemberOutranks,
    MembershipNotFound,
    MembershipRevoked,
    OwnMembership,
    RoleDoesNotFit,
    RoleNotGrantable,
    SlugTaken,
    TenantNotFound,
)
from tenants.models import Membership, Organisation, OrganisationKind, Site, Tenant


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
    permissions: frozenset[str] = frozenset()
    # The tenant's second-factor rule (tenants.security.MFA_POLICIES).
    mfa_policy: str = "none"
    # The role's own names (a tenant's own role has no catalog entry; see role_label).
    role_name: str | None = None
    role_name_zh: str | None = None

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
    seed_default_roles(uow)
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
    found = get_role(uow, key=role)
    if found is None:
        raise ValidationFailed(errors={"role": "unknown role"})
    organisation = organisation or own_organisation(uow)
    if (found.side == "supplier") != (organisation.kind == OrganisationKind.SUPPLIER):
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
        sa.select(Membership, Tenant, Role.permissions, Role.name, Role.name_zh)
        .join(Tenant, Tenant.id == Membership.tenant_id)
        .join(Role, sa.and_(Role.tenant_id == Membership.tenant_id, Role.key == Membership.role))
        .where(Membership.user_id == user_id, Membership.is_active, Tenant.is_active)
        .order_by(Tenant.name)
    ).all()
    return [
        MembershipView(
            m.id,
            t.id,
            t.slug,
            t.name,
            t.name_zh,
            m.organisation_id,
            m.supplier_id,
            m.role,
            frozenset(perms),
            t.mfa_policy,
            role_name=name,
            role_name_zh=name_zh,
        )
        for m, t, perms, name, name_zh in rows
    ]


def actor_for(user: User, membership: MembershipView | None) -> Actor:
    return Actor(
        user_id=user.id,
        name=user.email,
        role=membership.role if membership else None,
        supplier_id=membership.supplier_id if membership else None,
        membership_id=membership.membership_id if membership else None,
        permissions=membership.permissions if membership else frozenset(),
    )


def actor_in(uow, user: User, tenant_id: uuid.UUID) -> Actor:
    """The user acting in one tenant (no permissions if no longer a member there)."""
    membership = next((m for m in memberships_of(uow, user_id=user.id) if m.tenant_id == tenant_id), None)
    return actor_for(user, membership)


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


def own_sites(uow) -> list[Site]:
    """The tenant's own sites (ship-to addresses), by name."""
    return list(uow.session.scalars(sa.select(Site).where(Site.supplier_id.is_(None)).order_by(Site.name, Site.id)))


def sites_of(uow, *, supplier_id: uuid.UUID) -> list[Site]:
    """A supplier's own sites, by name."""
    return sites_by_supplier(uow, supplier_ids=[supplier_id]).get(supplier_id, [])


def sites_by_supplier(uow, *, supplier_ids=None) -> dict[uuid.UUID, list[Site]]:
    """Suppliers' sites by supplier, each list by name, in one query; every supplier's
    (that the caller may see) when `supplier_ids` is None."""
    stmt = sa.select(Site).where(Site.supplier_id.is_not(None)).order_by(Site.name, Site.id)
    if supplier_ids is not None:
        stmt = stmt.where(Site.supplier_id.in_(list(supplier_ids)))
    found: dict[uuid.UUID, list[Site]] = {}
    for site in uow.session.scalars(stmt):
        found.setdefault(site.supplier_id, []).append(site)
    return found


def sites_by_id(uow, *, ids) -> dict[uuid.UUID, Site]:
    """Sites by id (those the caller may see), for checking and naming them beside other
    domains' rows."""
    if not ids:
        return {}
    return {site.id: site for site in uow.session.scalars(sa.select(Site).where(Site.id.in_(ids)))}


def members_holding(uow, *, organisation_id: uuid.UUID, permission: str) -> list[User]:
    """Active people of one of the tenant's organisations whose role holds `permission`:
    who to tell about something for that organisation (a new purchase order, say)."""
    return members_holding_by_organisation(uow, organisation_ids=[organisation_id], permission=permission).get(
        organisation_id, []
    )


def members_holding_by_organisation(uow, *, organisation_ids, permission: str) -> dict[uuid.UUID, list[User]]:
    """`members_holding` for several organisations in one query, by organisation."""
    ids = list(set(organisation_ids))
    found: dict[uuid.UUID, list[User]] = {i: [] for i in ids}
    if not ids:
        return found
    rows = uow.execute(
        sa.select(Membership.organisation_id, User)
        .join(Membership, Membership.user_id == User.id)
        .join(Role, sa.and_(Role.tenant_id == Membership.tenant_id, Role.key == Membership.role))
        .where(
            Membership.tenant_id == uow.tenant_id,
            Membership.organisation_id.in_(ids),
            Membership.is_active,
            User.is_active,
            sa.literal(permission) == sa.any_(Role.permissions),
        )
        .order_by(User.email)
    )
    for organisation_id, user in rows:
        found[organisation_id].append(user)
    return found


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
    supplier_id: uuid.UUID | None = None
    membership_active: bool = True
    role_name: str | None = None
    role_name_zh: str | None = None


def list_members(uow, actor: Actor) -> list[MemberView]:
    """The tenant's members with their role and organisation, for its administrators."""
    require(actor, "users.manage")
    # The membership policy also shows a user their own memberships in other tenants
    # (to pick one at sign-in); the join on the organisation, visible only in the tenant
    # in context, leaves those out.
    rows = uow.execute(
        sa.select(Membership, User, Organisation, Role.name, Role.name_zh)
        .join(User, User.id == Membership.user_id)
        .join(
            Organisation,
            sa.and_(Organisation.tenant_id == Membership.tenant_id, Organisation.id == Membership.organisation_id),
        )
        .join(Role, sa.and_(Role.tenant_id == Membership.tenant_id, Role.key == Membership.role))
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
            supplier_id=m.supplier_id,
            membership_active=m.is_active,
            role_name=role_name,
            role_name_zh=role_name_zh,
        )
        for m, u, o, role_name, role_name_zh in rows
    ]


# --- administering memberships -------------------------------------------------------------
#
# Who may change whose access: users.manage, in the tenant in context; a supplier
# administrator only within their own company (row-level security hides the others' rows
# too) and only to supplier roles; nobody their own membership (no lockout, no
# self-promotion); and nobody beyond their own powers - a role may be given, and a member
# changed, only if the role holds no permission the administrator lacks.


def grantable(actor: Actor, role: Role | None) -> bool:
    """Whether the actor may give this role, or change a member who holds it: a supplier
    administrator only supplier roles within their own permissions; the tenant's side any
    supplier role (the tenant decides what its suppliers may do) and buyer roles within
    their own permissions."""
    if actor.kind == "system":
        return True
    if role is None:
        return False
    if actor.supplier_id is not None and role.side != "supplier":
        return False
    if actor.supplier_id is None and role.side == "supplier":
        return True
    return set(role.permissions) <= actor.permissions


def assignable_roles(uow, actor: Actor) -> list[Role]:
    """The roles the actor may give, for the members page's choices (in the matrix's order)."""
    require(actor, "users.manage")
    return sorted((role for role in list_roles(uow) if grantable(actor, role)), key=role_order)


def get_member(uow, actor: Actor, *, membership_id: uuid.UUID) -> MemberView:
    """One member of the tenant in context, as on the members page."""
    require(actor, "users.manage")
    membership = _visible_membership(uow, actor, membership_id)
    user = uow.session.get(User, membership.user_id)
    org = uow.session.scalar(sa.select(Organisation).where(Organisation.id == membership.organisation_id))
    return MemberView(
        membership_id=membership.id,
        user_id=user.id,
        full_name=user.full_name,
        email=user.email,
        role=membership.role,
        is_active=membership.is_active and user.is_active,
        organisation_name=org.name,
        organisation_name_zh=org.name_zh,
        is_supplier=org.kind == OrganisationKind.SUPPLIER,
        last_login_at=user.last_login_at,
        supplier_id=membership.supplier_id,
        membership_active=membership.is_active,
    )


def change_member_role(uow, actor: Actor, *, membership_id: uuid.UUID, role: str) -> Membership:
    """Give a member another role; it applies from their next request."""
    require(actor, "users.manage")
    membership = _managed_membership(uow, actor, membership_id)
    if not membership.is_active:
        raise MembershipRevoked()
    found = get_role(uow, key=role)
    if found is None:
        raise RoleNotFound()
    if not grantable(actor, found):
        supplier_grants_buyer = actor.supplier_id is not None and found.side != "supplier"
        record_security_event(
            uow,
            kind="privilege_escalation_denied",
            severity="critical",  # the page never offers it: a tampered form, mailed to the administrators
            user_id=actor.user_id,
            email=_actor_email(actor),
            detail={
                "membership_id": str(membership.id),
                "member_user_id": str(membership.user_id),
                "role": role,
                "role_side": found.side,
                "reason": "buyer role by a supplier administrator" if supplier_grants_buyer else "role beyond own permissions",
            },
        )
        raise (BuyerRoleForSupplier if supplier_grants_buyer else RoleNotGrantable)(role=role)
    if (found.side == "supplier") != (membership.supplier_id is not None):
        raise RoleDoesNotFit(role=role, errors={"role": RoleDoesNotFit.message})
    if membership.role != role:
        before = membership.role
        membership.role = role
        uow.flush()
        record_security_event(
            uow,
            kind="role_changed",
            severity="warning" if set(found.permissions) - _role_permissions(uow, before) else "info",
            user_id=actor.user_id,
            email=_actor_email(actor),
            detail={
                "membership_id": str(membership.id),
                "member_user_id": str(membership.user_id),
                "member_email": _user_email(uow, membership.user_id),
                "from": before,
                "to": role,
            },
        )
    return membership


def revoke_membership(uow, actor: Actor, *, membership_id: uuid.UUID) -> Membership:
    """End a member's access to the tenant. The request loader re-reads memberships on
    every request, so the member is signed out of this tenant at once."""
    require(actor, "users.manage")
    membership = _managed_membership(uow, actor, membership_id)
    if membership.is_active:
        membership.is_active = False
        uow.flush()
        record_security_event(
            uow,
            kind="membership_revoked",
            severity="warning",
            user_id=actor.user_id,
            email=_actor_email(actor),
            detail={
                "membership_id": str(membership.id),
                "member_user_id": str(membership.user_id),
                "member_email": _user_email(uow, membership.user_id),
                "role": membership.role,
            },
        )
    return membership


def _visible_membership(uow, actor: Actor, membership_id) -> Membership:
    # The membership policy also shows a user their own memberships in other tenants:
    # only the tenant in context counts. Supplier users see only their own company's rows
    # (row-level security); the supplier test repeats that here.
    membership = uow.session.scalar(
        sa.select(Membership).where(Membership.tenant_id == uow.tenant_id, Membership.id == membership_id)
    )
    if membership is None or (actor.supplier_id is not None and membership.supplier_id != actor.supplier_id):
        # Ids come from the members page: another tenant's or company's (or none) is a
        # tampered request, and goes on record.
        record_security_event(
            uow,
            kind="isolation_denied",
            severity="warning",
            user_id=actor.user_id,
            email=_actor_email(actor),
            detail={"membership_id": str(membership_id), "action": "membership"},
        )
        raise MembershipNotFound()
    return membership


def _managed_membership(uow, actor: Actor, membership_id) -> Membership:
    """A membership the actor may change: visible, not their own, not above them."""
    membership = _visible_membership(uow, actor, membership_id)
    if actor.kind != "system" and (membership.id == actor.membership_id or membership.user_id == actor.user_id):
        raise OwnMembership()
    if not grantable(actor, get_role(uow, key=membership.role)):
        raise MemberOutranks()
    return membership


def _role_permissions(uow, key: str) -> set[str]:
    role = get_role(uow, key=key)
    return set(role.permissions) if role else set()


def _user_email(uow, user_id) -> str | None:
    user = uow.session.get(User, user_id)
    return user.email if user else None


def _actor_email(actor: Actor) -> str | None:
    return actor.name if actor.kind == "user" else None
