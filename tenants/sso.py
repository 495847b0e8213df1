"""Just-in-time membership for single sign-on (the rules of who and as what: auth.sso).

A person whom the tenant's provider vouches for gets, on their first SSO sign-in, a Traceport
login (no password) and an active membership in the tenant's own organisation with the role
the claim mapping gives.

Decided: the role follows the claim mapping at every SSO sign-in. The provider is where the
tenant manages its staff (joiners, movers, leavers), so a move there shows here at the next
sign-in; a changed role leaves a `role_changed` security event and an audit event. Someone who
must keep a role the mapping does not give signs in with their password instead. A deactivated
membership stays refused: an administrator revoked it, and the provider cannot undo that.
An existing Traceport login with no membership in the tenant is refused too (it joins by
invitation first): a provider speaks for its own tenant's new staff, not for accounts
that other tenants' people already hold.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from auth import service as auth_service
from auth.errors import SsoRefused
from auth.models import SsoConfig, User
from auth.roles import get_role
from auth.security import record_security_event
from auth.sso import check_identity, map_role
from kernel.clock import utcnow
from kernel.uow import Actor
from tenants.models import Membership, Tenant
from tenants.service import add_membership


def sso_sign_in(uow, *, tenant_id: uuid.UUID, claims: Mapping[str, Any], config: SsoConfig) -> User:
    """The user for a validated ID token's `claims` in `tenant_id`, with an active membership
    there; raises SsoRefused (nothing written - the caller records the refusal).

    The unit of work switches into the tenant (and acts as the user once known): the new
    user, membership or role change are audited in that tenant's trail."""
    if uow.tenant_id != tenant_id:
        uow.switch_tenant(tenant_id, actor=Actor.system("single sign-on"))
    # A configuration only ever signs into its own tenant.
    if config is None or config.tenant_id != tenant_id or not config.is_enabled:
        raise SsoRefused("not_configured")
    tenant = uow.session.get(Tenant, tenant_id)
    if tenant is None or not tenant.is_active:
        raise SsoRefused("not_configured")

    email = check_identity(config, claims)
    role = map_role(config, claims)
    found = get_role(uow, key=role) if role else None
    if found is None or found.side != "buyer":  # a role deleted or changed since it was mapped
        raise SsoRefused("no_role")

    user = auth_service.find_user_by_email(uow, email=email)
    if user is not None and not user.is_active:
        raise SsoRefused("user_inactive")
    membership = None
    if user is not None:
        membership = uow.session.scalar(
            sa.select(Membership).where(Membership.tenant_id == tenant_id, Membership.user_id == user.id)
        )
        if membership is not None and not membership.is_active:
            raise SsoRefused("membership_revoked")
        if membership is not None and membership.supplier_id is not None:
            raise SsoRefused("supplier_member")
        if membership is None:
            # An existing login is someone's account: linking it on a provider's word would
            # let any tenant's provider (which may list any domain) speak for anyone's
            # account. It joins by invitation (the person's consent); SSO works after that.
            raise SsoRefused("existing_login")

    uow.reason = "single sign-on"
    created_user = user is None
    if user is None:
        name = claims.get("name")
        full_name = name.strip()[:200] if isinstance(name, str) and name.strip() else email.split("@")[0]
        user = auth_service.create_user(uow, email=email, full_name=full_name, password=None, locale=tenant.default_locale)
    uow.switch_tenant(tenant_id, actor=Actor(user_id=user.id, name=user.email))

    previous_role = membership.role if membership is not None else None
    if membership is None:
        membership = add_membership(uow, user=user, role=role)
    elif membership.role != role:
        membership.role = role
        record_security_event(
            uow,
            kind="role_changed",
            user_id=user.id,
            email=user.email,
            detail={
                "membership_id": str(membership.id),
                "member_user_id": str(user.id),
                "member_email": user.email,
                "from": previous_role,
                "to": role,
                "source": "sso",
                "issuer": claims.get("iss"),
            },
        )
    user.last_login_at = utcnow()
    uow.flush()
    record_security_event(
        uow,
        kind="sso_login",
        user_id=user.id,
        email=user.email,
        detail={
            "issuer": claims.get("iss"),
            "subject": claims.get("sub"),
            "role": role,
            "new_user": created_user,
            "new_membership": previous_role is None,
        },
    )
    return user


def refusal_event(error: SsoRefused, *, claims: Mapping[str, Any] | None = None, issuer: str | None = None) -> dict:
    """The `sso_refused` security event for a refusal, as keyword arguments of
    auth.security.record_security_event (the web layer records it after rolling back)."""
    claims = claims or {}
    email = claims.get("email") if isinstance(claims.get("email"), str) else None
    detail = {"reason": error.reason, "issuer": claims.get("iss") or issuer}
    if claims.get("sub"):
        detail["subject"] = str(claims["sub"])[:200]
    return {"kind": "sso_refused", "severity": "warning", "email": (email or "")[:254] or None, "detail": detail}
