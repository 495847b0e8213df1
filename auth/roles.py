"""Roles: named sets of permissions, per tenant.

Every tenant starts with the built-in roles (auth.permissions.DEFAULT_ROLES); a tenant
admin may change their permissions or add roles of their own. A role belongs to one
side of the portal and may hold only that side's permissions, so no edit can give a
supplier a buyer's powers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa

from auth.errors import (
    BuiltinRoleProtected,
    OwnRoleLockout,
    PermissionNotForSide,
    RoleInUse,
    RoleInvalid,
    RoleKeyTaken,
    RoleNotFound,
    UnknownPermission,
)
from auth.models import Role
from auth.permissions import BUYER_PERMISSIONS, DEFAULT_ROLES, PERMISSIONS, SUPPLIER_PERMISSIONS, require
from auth.security import record_security_event
from kernel.errors import N_, Forbidden

BUYER_SIDE = ("tenant_admin", "buyer", "quality", "warehouse", "viewer")
SUPPLIER_SIDE = ("supplier_admin", "supplier_user")
BUILTIN_ROLES = BUYER_SIDE + SUPPLIER_SIDE

# Display names of the built-in roles, translated where they are shown; a tenant's own
# roles carry their names in both languages.
ROLE_LABELS = {
    "tenant_admin": N_("Tenant administrator"),
    "buyer": N_("Buyer"),
    "quality": N_("Quality engineer"),
    "warehouse": N_("Warehouse operator"),
    "viewer": N_("Viewer"),
    "supplier_admin": N_("Supplier administrator"),
    "supplier_user": N_("Supplier user"),
}
_ROLE_NAMES_ZH = {
    "tenant_admin": "租户管理员",
    "buyer": "采购员",
    "quality": "质量工程师",
    "warehouse": "仓库操作员",
    "viewer": "只读用户",
    "supplier_admin": "供应商管理员",
    "supplier_user": "供应商用户",
}


def side_permissions(side: str) -> frozenset[str]:
    return SUPPLIER_PERMISSIONS if side == "supplier" else BUYER_PERMISSIONS


def seed_default_roles(uow) -> list[Role]:
    """The built-in roles for the tenant in context (a new tenant)."""
    roles = [
        Role(
            tenant_id=uow.tenant_id,
            key=key,
            name=ROLE_LABELS[key],
            name_zh=_ROLE_NAMES_ZH[key],
            side="supplier" if key in SUPPLIER_SIDE else "buyer",
            permissions=sorted(DEFAULT_ROLES[key]),
            is_builtin=True,
        )
        for key in BUILTIN_ROLES
    ]
    uow.session.add_all(roles)
    uow.flush()
    return roles


# The role policy also shows a user the roles of their other tenants (sign-in reads
# them), so these lookups name the tenant in context.
def get_role(uow, *, key: str) -> Role | None:
    """The tenant-in-context's role with this key."""
    return uow.session.scalar(sa.select(Role).where(Role.tenant_id == uow.tenant_id, Role.key == key))


def list_roles(uow) -> list[Role]:
    return list(uow.session.scalars(sa.select(Role).where(Role.tenant_id == uow.tenant_id).order_by(Role.side, Role.key)))


# --- editing roles ------------------------------------------------------------------------

SIDES = ("buyer", "supplier")
KEY_PATTERN = re.compile(r"[a-z][a-z0-9_]{1,39}")
NAME_MAX = 100

# The tables that name a role by key (tenants' memberships and invitations). auth does
# not import tenants (tenants imports auth), so they are named here as bare tables.
_MEMBERSHIP = sa.table("membership", sa.column("tenant_id"), sa.column("role"), sa.column("is_active"))
_INVITATION = sa.table("invitation", sa.column("tenant_id"), sa.column("role"))


def create_role(uow, actor, *, key: str, name: str, name_zh: str | None, side: str, permissions: Iterable[str]) -> Role:
    """A tenant's own role for one side of the portal, built from that side's permissions."""
    require(actor, "roles.manage")
    key = (key or "").strip()
    errors = {}
    if not KEY_PATTERN.fullmatch(key):
        errors["key"] = N_("Use 2 to 40 lower-case letters, digits or _, starting with a letter.")
    if side not in SIDES:
        errors["side"] = N_("Choose the buyer or the supplier side.")
    errors.update(_name_errors(name, name_zh))
    if errors:
        raise RoleInvalid(errors=errors)
    wanted = _checked_permissions(permissions, side)
    if get_role(uow, key=key) is not None:
        raise RoleKeyTaken(key=key, errors={"key": N_("This key is already in use.")})
    role = Role(
        tenant_id=uow.tenant_id,
        key=key,
        name=name.strip(),
        name_zh=name_zh.strip(),
        side=side,
        permissions=sorted(wanted),
        is_builtin=False,
    )
    uow.add(role)
    uow.flush()
    record_security_event(
        uow,
        kind="role_edited",
        user_id=actor.user_id,
        email=_email(actor),
        detail={"role": key, "action": "created", "side": side, "added": sorted(wanted), "removed": []},
    )
    return role


def update_role(
    uow,
    actor,
    *,
    key: str,
    name: str | None = None,
    name_zh: str | None = None,
    permissions: Iterable[str] | None = None,
) -> Role:
    """Change a role's names (not a built-in role's) or its permissions (any role's).
    The change applies to its members from their next request."""
    require(actor, "roles.manage")
    role = _role_or_404(uow, key)
    if role.is_builtin and (
        (name is not None and name.strip() != role.name) or (name_zh is not None and name_zh.strip() != role.name_zh)
    ):
        raise BuiltinRoleProtected()
    if name is not None or name_zh is not None:
        errors = _name_errors(role.name if name is None else name, role.name_zh if name_zh is None else name_zh)
        if errors:
            raise RoleInvalid(errors=errors)
        if name is not None:
            role.name = name.strip()
        if name_zh is not None:
            role.name_zh = name_zh.strip()
    if permissions is not None:
        wanted = _checked_permissions(permissions, role.side)
        before = set(role.permissions)
        if role.key == actor.role and "roles.manage" in before and "roles.manage" not in wanted and actor.kind != "system":
            raise OwnRoleLockout()
        if wanted != before:
            role.permissions = sorted(wanted)
            record_security_event(
                uow,
                kind="role_edited",
                severity="warning" if wanted - before else "info",
                user_id=actor.user_id,
                email=_email(actor),
                detail={
                    "role": role.key,
                    "action": "updated",
                    "added": sorted(wanted - before),
                    "removed": sorted(before - wanted),
                },
            )
    uow.flush()
    return role


def delete_role(uow, actor, *, key: str) -> None:
    """Delete a tenant's own role that no membership or invitation names."""
    require(actor, "roles.manage")
    role = _role_or_404(uow, key)
    if role.is_builtin:
        raise BuiltinRoleProtected()
    members, invitations = _uses(uow, key)
    if members or invitations:
        raise RoleInUse(members=members, invitations=invitations)
    uow.session.delete(role)
    uow.flush()
    record_security_event(
        uow,
        kind="role_edited",
        user_id=actor.user_id,
        email=_email(actor),
        detail={"role": key, "action": "deleted", "added": [], "removed": sorted(role.permissions)},
    )


@dataclass(frozen=True)
class RoleRow:
    key: str
    name: str
    name_zh: str | None
    side: str
    permissions: frozenset[str]
    is_builtin: bool
    members: int  # active memberships holding it


@dataclass(frozen=True)
class RoleMatrix:
    """Roles (columns) by permissions (rows, in PERMISSIONS order): who can do what."""

    roles: list[RoleRow]
    permissions: list[str]

    def holds(self, role: RoleRow, permission: str) -> bool:
        return permission in role.permissions

    def available(self, role: RoleRow, permission: str) -> bool:
        """Whether the role's side may hold the permission at all."""
        return permission in side_permissions(role.side)


def role_matrix(uow, actor) -> RoleMatrix:
    """The tenant's roles and what each may do. A supplier administrator sees the
    supplier side only (the roles they may give)."""
    if not (actor.kind == "system" or {"roles.manage", "users.manage"} & actor.permissions):
        raise Forbidden()
    counts = dict(
        uow.execute(
            sa.select(_MEMBERSHIP.c.role, sa.func.count())
            .where(_MEMBERSHIP.c.tenant_id == uow.tenant_id, _MEMBERSHIP.c.is_active)
            .group_by(_MEMBERSHIP.c.role)
        ).all()
    )
    roles = list_roles(uow)
    if actor.supplier_id is not None:
        roles = [r for r in roles if r.side == "supplier"]
    roles.sort(key=role_order)
    names = [p for p in PERMISSIONS if actor.supplier_id is None or p in SUPPLIER_PERMISSIONS]
    rows = [
        RoleRow(r.key, r.name, r.name_zh, r.side, frozenset(r.permissions), r.is_builtin, counts.get(r.key, 0)) for r in roles
    ]
    return RoleMatrix(roles=rows, permissions=names)


_BUILTIN_ORDER = {key: n for n, key in enumerate(BUILTIN_ROLES)}


def role_order(role) -> tuple:
    """Buyer side first, the built-in roles in their usual order, then the tenant's own by key."""
    return (SIDES.index(role.side), _BUILTIN_ORDER.get(role.key, len(_BUILTIN_ORDER)), role.key)


def _role_or_404(uow, key: str) -> Role:
    role = get_role(uow, key=key)
    if role is None:
        raise RoleNotFound()
    return role


def _name_errors(name: str | None, name_zh: str | None) -> dict[str, str]:
    errors = {}
    for field, value in (("name", name), ("name_zh", name_zh)):
        if not value or not value.strip():
            errors[field] = N_("Enter a name.")
        elif len(value.strip()) > NAME_MAX:
            errors[field] = N_("This is too long.")
    return errors


def _checked_permissions(permissions: Iterable[str], side: str) -> frozenset[str]:
    wanted = frozenset(permissions)
    for permission in sorted(wanted):
        if permission not in PERMISSIONS:
            raise UnknownPermission(permission=permission, errors={"permissions": N_("Unknown permission.")})
    outside = wanted - side_permissions(side)
    if outside:
        raise PermissionNotForSide(errors={"permissions": PermissionNotForSide.message}, permissions=sorted(outside))
    return wanted


def _uses(uow, key: str) -> tuple[int, int]:
    """Memberships (revoked ones too) and invitations (past ones too) naming the role:
    they keep it for the record, so the role must stay."""
    members = uow.scalar(
        sa.select(sa.func.count())
        .select_from(_MEMBERSHIP)
        .where(_MEMBERSHIP.c.tenant_id == uow.tenant_id, _MEMBERSHIP.c.role == key)
    )
    invitations = uow.scalar(
        sa.select(sa.func.count())
        .select_from(_INVITATION)
        .where(_INVITATION.c.tenant_id == uow.tenant_id, _INVITATION.c.role == key)
    )
    return members, invitations


def _email(actor) -> str | None:
    return actor.name if actor.kind == "user" else None
