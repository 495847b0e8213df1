"""Security events: the record a tenant administrator reads to spot abuse.

Failed and locked sign-ins, second-factor changes, role changes, access refused by a
permission or by tenant/supplier isolation, API clients calling from a new address,
large exports. Each is a row in `security_event` (insert-only for the application
role) in the tenant it concerns; with no tenant (an unknown email at sign-in) in the
platform's nil tenant. Critical events are also emailed to the tenant's
administrators (anyone holding `security.view`), through the outbox.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterable

import sqlalchemy as sa

from auth.models import Role, SecurityEvent, User
from auth.permissions import require
from kernel.clock import utcnow
from kernel.errors import N_
from kernel.ids import new_id
from kernel.mail import queue_mail
from kernel.models import NIL_TENANT_ID

# kind -> label shown on the security screen.
KINDS: dict[str, str] = {
    "login_succeeded": N_("Signed in"),
    "login_failed": N_("Failed sign-in"),
    "account_locked": N_("Account locked"),
    "login_refused_locked": N_("Sign-in refused: account locked"),
    "otp_failed": N_("Wrong second-factor code"),
    "mfa_enabled": N_("Second factor enabled"),
    "mfa_disabled": N_("Second factor removed"),
    "mfa_disable_refused": N_("Removal of a required second factor refused"),
    "recovery_code_used": N_("Recovery code used"),
    "recovery_codes_regenerated": N_("New recovery codes made"),
    "password_changed": N_("Password changed"),
    "password_reset_requested": N_("Password reset requested"),
    "sessions_revoked": N_("Signed out everywhere"),
    "role_changed": N_("Role changed"),
    "role_edited": N_("Role permissions edited"),
    "membership_revoked": N_("Membership revoked"),
    "privilege_escalation_denied": N_("Attempt to grant a role refused"),
    "permission_denied": N_("Access refused by permission"),
    "isolation_denied": N_("Access refused by tenant or supplier isolation"),
    "invitation_sent": N_("Invitation sent"),
    "invitation_refused": N_("Invalid or used invitation link"),
    "reset_refused": N_("Invalid or used password-reset link"),
    "csrf_refused": N_("Form refused: missing or invalid security token"),
    "rate_limited": N_("Too many attempts from one address"),
    "sso_login": N_("Signed in with single sign-on"),
    "sso_refused": N_("Single sign-on refused"),
    "sso_configured": N_("Single sign-on configured"),
    "api_client_created": N_("API client created"),
    "api_client_revoked": N_("API client revoked"),
    "api_secret_rotated": N_("API client secret rotated"),
    "api_token_refused": N_("API token refused"),
    "api_new_address": N_("API client used from a new address"),
    "signature_failed": N_("Electronic signature refused"),
    "bulk_export": N_("Large export"),
    "mfa_policy_changed": N_("Second-factor rule changed"),
    "file_tampered": N_("Stored file altered or damaged"),
    "document_downloaded": N_("Document downloaded"),
}
SEVERITIES = ("info", "warning", "critical")


def record_security_event(
    uow,
    *,
    kind: str,
    severity: str = "info",
    user_id: uuid.UUID | None = None,
    email: str | None = None,
    detail: dict | None = None,
    tenant_ids: Iterable[uuid.UUID] | None = None,
) -> list[SecurityEvent]:
    """Record an event in the tenant in context, or in each of `tenant_ids` (a failed
    sign-in concerns every tenant the account belongs to), or the platform's.

    Writing into another tenant switches the unit of work's context for the insert and
    back: the row-level policy only accepts rows of the tenant in context."""
    if kind not in KINDS:
        raise ValueError(f"unknown security event kind {kind!r}")
    if severity not in SEVERITIES:
        raise ValueError(f"unknown severity {severity!r}")
    targets = list(tenant_ids) if tenant_ids is not None else [uow.tenant_id]
    if not targets:
        targets = [None]
    events = []
    home, actor = uow.tenant_id, uow.actor
    try:
        for tenant_id in targets:
            if tenant_id != uow.tenant_id:
                uow.switch_tenant(tenant_id)
            event = SecurityEvent(
                id=new_id(),
                tenant_id=tenant_id or NIL_TENANT_ID,
                occurred_at=utcnow(),
                kind=kind,
                severity=severity,
                user_id=user_id,
                email=email,
                ip=uow.origin.ip,
                user_agent=uow.origin.user_agent,
                request_id=uow.request_id,
                detail=detail or {},
            )
            # A Core insert with every value given: no RETURNING, which a platform row
            # (nil tenant, no tenant in context) could not pass the read policy for.
            uow.execute(sa.insert(SecurityEvent).values(**{c.key: getattr(event, c.key) for c in SecurityEvent.__table__.c}))
            events.append(event)
            if severity == "critical" and tenant_id is not None:
                _alert(uow, event)
    finally:
        if uow.tenant_id != home:
            uow.switch_tenant(home, actor=actor)
    return events


def security_admins(uow) -> list[User]:
    """Active users of the tenant in context whose role holds `security.view`."""
    from tenants.models import Membership  # tenants imports auth; this one name goes back

    return list(
        uow.session.scalars(
            sa.select(User)
            .join(Membership, Membership.user_id == User.id)
            .join(Role, sa.and_(Role.tenant_id == Membership.tenant_id, Role.key == Membership.role))
            .where(
                Membership.tenant_id == uow.tenant_id,
                Membership.is_active,
                User.is_active,
                sa.literal("security.view") == sa.any_(Role.permissions),
            )
            .order_by(User.email)
        )
    )


def _alert(uow, event: SecurityEvent) -> None:
    """Email the tenant's security administrators (after commit, via the outbox)."""
    actor = uow.actor
    if actor.supplier_id is not None:
        # A supplier user's context sees only its own company's memberships (RLS); the
        # people to tell are the tenant's. Only their addresses are read, for the mail.
        uow.switch_tenant(uow.tenant_id, actor=dataclasses.replace(actor, supplier_id=None))
    try:
        admins = security_admins(uow)
    finally:
        if actor.supplier_id is not None:
            uow.switch_tenant(uow.tenant_id, actor=actor)
    for admin in admins:
        queue_mail(
            uow,
            to=admin.email,
            template="auth/security_alert",
            locale=admin.locale,
            context={
                "kind": event.kind,
                "label": KINDS[event.kind],
                "email": event.email,
                "ip": str(event.ip) if event.ip else None,
                "detail": event.detail,
                "occurred_at": event.occurred_at.isoformat() if event.occurred_at else None,
            },
        )


def list_security_events(uow, actor, *, limit: int = 50, before: uuid.UUID | None = None, kind: str | None = None):
    """The tenant's security events, newest first (keyset pagination on the UUIDv7 id)."""
    require(actor, "security.view")
    query = sa.select(SecurityEvent).order_by(SecurityEvent.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(SecurityEvent.id < before)
    if kind:
        query = query.where(SecurityEvent.kind == kind)
    rows = list(uow.session.scalars(query))
    return rows[:limit], (rows[limit - 1].id if len(rows) > limit else None)
