"""The tenant's sign-in rules: whether its members must use a second factor.

`Tenant.mfa_policy` is 'none', 'suppliers' (every supplier user) or 'all' (everyone in
the tenant). The rule applies to a membership: a person who works for two tenants
must enrol as soon as one of them requires it, for that tenant.
"""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from auth.permissions import require
from auth.security import record_security_event
from kernel.errors import N_, ValidationFailed
from tenants.models import Membership, Tenant

MFA_POLICIES: dict[str, str] = {
    "none": N_("Not required (each person decides)"),
    "suppliers": N_("Required for supplier users"),
    "all": N_("Required for everyone in this organisation"),
}
_RANK = {"none": 0, "suppliers": 1, "all": 2}


def mfa_required(policy: str | None, membership) -> bool:
    """Whether the tenant's rule asks this membership (anything with `supplier_id`, a
    MembershipView or a Membership row) for a second factor."""
    if policy == "all":
        return True
    return policy == "suppliers" and getattr(membership, "supplier_id", None) is not None


def get_mfa_policy(uow, actor) -> str:
    require(actor, "roles.manage")
    return uow.scalar(sa.select(Tenant.mfa_policy).where(Tenant.id == uow.tenant_id))


def set_mfa_policy(uow, actor, *, policy: str) -> Tenant:
    """Change the tenant's second-factor rule. The tenant row is audited (old and new
    value in the trail); the change is also a security event."""
    require(actor, "roles.manage")
    if policy not in MFA_POLICIES:
        raise ValidationFailed(errors={"policy": N_("Choose one of the rules offered.")})
    tenant = uow.session.get(Tenant, uow.tenant_id)
    previous = tenant.mfa_policy
    if previous == policy:
        return tenant
    uow.reason = f"second-factor rule: {previous} -> {policy}"
    tenant.mfa_policy = policy
    uow.flush()
    record_security_event(
        uow,
        kind="mfa_policy_changed",
        # Loosening the rule is what an intruder with an admin's session would do.
        severity="warning" if _RANK[policy] < _RANK.get(previous, 0) else "info",
        user_id=actor.user_id,
        email=actor.name if actor.kind == "user" else None,
        detail={"from": previous, "to": policy},
    )
    return tenant


def tenants_requiring_mfa(uow, *, user_id: uuid.UUID) -> list[Tenant]:
    """The tenants whose rule requires a second factor of this user's active
    memberships (the membership and tenant policies show a user their own, whatever
    tenant is in context - the unit of work's actor must be that user)."""
    rows = uow.execute(
        sa.select(Tenant, Membership)
        .join(Membership, Membership.tenant_id == Tenant.id)
        .where(Membership.user_id == user_id, Membership.is_active, Tenant.is_active, Tenant.mfa_policy != "none")
        .order_by(Tenant.name)
    ).all()
    return [tenant for tenant, membership in rows if mfa_required(tenant.mfa_policy, membership)]
