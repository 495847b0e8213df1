"""Failed sign-ins: counting, temporary lockout, and their security events.

A wrong password (or second-factor code) for an existing account adds one to
`user_account.failed_logins`; at settings.login_max_failures the account is locked for
settings.lockout_minutes ("account_locked", critical: the tenant administrators get an
email). While locked, every attempt is refused - the right password too - with the
lockout message; a success resets the counter. After a lockout has run out the count
starts again from zero.

Enumeration: an email no account has is counted the same way (UnknownLogin), and gets
the same lockout message at the same attempt for the same time, so the message tells
nothing about whether the account exists.

Each failure is a "login_failed" (or the caller's kind, e.g. "otp_failed") event in
every tenant the account belongs to (none: the platform's); the one that brings the
account's failures within the last hour to a multiple of settings.alert_failed_logins is
critical, so a sustained attack alerts the administrators again and again, but not at
every attempt.
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime, timedelta
from types import SimpleNamespace

import sqlalchemy as sa

from auth.models import SecurityEvent, UnknownLogin, User
from auth.security import NIL_TENANT_ID, record_security_event
from kernel.clock import utcnow
from kernel.crypto import digest
from kernel.settings import Settings
from kernel.uow import Actor

# Events that count as failed attempts on an account.
FAILURE_KINDS = ("login_failed", "otp_failed", "login_refused_locked", "signature_failed")
ALERT_WINDOW = timedelta(hours=1)
# For callers without the settings at hand (a benchmark, a script): the settings' defaults.
DEFAULTS = SimpleNamespace(
    **{name: Settings.model_fields[name].default for name in ("login_max_failures", "lockout_minutes", "alert_failed_logins")}
)


def locked_minutes(user: User | UnknownLogin, *, now: datetime | None = None) -> int:
    """Whole minutes (at least 1) until the account's lockout ends; 0 when not locked."""
    now = now or utcnow()
    if user.locked_until is None or user.locked_until <= now:
        return 0
    return max(1, math.ceil((user.locked_until - now).total_seconds() / 60))


def is_locked(user: User, *, now: datetime | None = None) -> bool:
    return locked_minutes(user, now=now) > 0


def account_tenant_ids(uow, *, user_id: uuid.UUID) -> list[uuid.UUID]:
    """The tenants of the user's active memberships, read with the user in context (the
    membership policy shows a user their own), the context put back after."""
    from auth.service import user_tenant_ids

    home, actor = uow.tenant_id, uow.actor
    uow.switch_tenant(None, actor=Actor(user_id=user_id, name=str(user_id)))
    try:
        return user_tenant_ids(uow, user_id=user_id)
    finally:
        uow.switch_tenant(home, actor=actor)


def recent_failures(uow, *, user_id: uuid.UUID, tenant_id: uuid.UUID | None, since: datetime) -> int:
    """Failed attempts on the account recorded since `since` (read in one of the tenants
    its events go to: each holds the same ones)."""
    home, actor = uow.tenant_id, uow.actor
    uow.switch_tenant(tenant_id or NIL_TENANT_ID)
    try:
        return uow.scalar(
            sa.select(sa.func.count())
            .select_from(SecurityEvent)
            .where(
                SecurityEvent.user_id == user_id,
                SecurityEvent.kind.in_(FAILURE_KINDS),
                SecurityEvent.occurred_at >= since,
            )
        )
    finally:
        uow.switch_tenant(home, actor=actor)


def register_failed_attempt(uow, *, user: User, settings, kind: str = "login_failed", detail: dict | None = None) -> bool:
    """Count a failed attempt on an existing account (a wrong password, or a wrong
    second-factor code with kind="otp_failed") and record its event; lock the account
    when this was one failure too many. True when the account is now locked.

    `settings` needs login_max_failures, lockout_minutes and alert_failed_logins. The
    caller keeps the change although it refuses the attempt (the web layer's
    keep_changes())."""
    now = utcnow()
    if user.locked_until is not None and user.locked_until <= now:
        user.failed_logins, user.locked_until = 0, None  # a lockout that ran out: count afresh
    user.failed_logins = (user.failed_logins or 0) + 1
    uow.flush()
    tenant_ids = account_tenant_ids(uow, user_id=user.id)
    failures = (
        recent_failures(uow, user_id=user.id, tenant_id=tenant_ids[0] if tenant_ids else None, since=now - ALERT_WINDOW) + 1
    )
    alert = settings.alert_failed_logins > 0 and failures % settings.alert_failed_logins == 0
    record_security_event(
        uow,
        kind=kind,
        severity="critical" if alert else "warning",
        user_id=user.id,
        email=user.email,
        detail={**(detail or {}), "consecutive": user.failed_logins, "last_hour": failures},
        tenant_ids=tenant_ids,
    )
    if user.failed_logins < settings.login_max_failures:
        return False
    user.locked_until = now + timedelta(minutes=settings.lockout_minutes)
    uow.flush()
    record_security_event(
        uow,
        kind="account_locked",
        severity="critical",
        user_id=user.id,
        email=user.email,
        detail={"failures": user.failed_logins, "minutes": settings.lockout_minutes, "until": user.locked_until.isoformat()},
        tenant_ids=tenant_ids,
    )
    return True


def refuse_locked(uow, *, user: User, detail: dict | None = None) -> int:
    """Record an attempt on a locked account (the password is not even checked); the
    minutes left. The lockout is not extended: the account's owner gets in on time."""
    minutes = locked_minutes(user)
    record_security_event(
        uow,
        kind="login_refused_locked",
        severity="warning",
        user_id=user.id,
        email=user.email,
        detail={**(detail or {}), "minutes_left": minutes},
        tenant_ids=account_tenant_ids(uow, user_id=user.id),
    )
    return minutes


def register_success(uow, *, user: User) -> None:
    """A correct password (and second factor): the count starts again."""
    if user.failed_logins or user.locked_until is not None:
        user.failed_logins, user.locked_until = 0, None
        uow.flush()


def unknown_locked_minutes(uow, *, email: str) -> int:
    """As locked_minutes, for an email no account has (UnknownLogin)."""
    row = uow.session.get(UnknownLogin, _email_key(email))
    return locked_minutes(row) if row is not None else 0


def register_unknown_email(uow, *, email: str, settings) -> bool:
    """A sign-in attempt for an email no account has: a platform event (no tenant to
    tell), counted as for an account so that the lockout message comes at the same
    attempt - which would otherwise tell that an account exists. True when "locked" now."""
    now = utcnow()
    key = _email_key(email)
    row = uow.session.get(UnknownLogin, key, with_for_update=True)
    if row is None:
        row = UnknownLogin(email_hash=key, failed_logins=0)
        uow.add(row)
    if row.locked_until is not None and row.locked_until <= now:
        row.failed_logins, row.locked_until = 0, None
    row.failed_logins = (row.failed_logins or 0) + 1
    row.last_failed_at = now
    locked = row.failed_logins >= settings.login_max_failures
    if locked:
        row.locked_until = now + timedelta(minutes=settings.lockout_minutes)
    uow.flush()
    record_security_event(
        uow,
        kind="login_failed",
        severity="warning",
        email=email.strip()[:254],
        detail={"reason": "unknown_email", "consecutive": row.failed_logins},
        tenant_ids=[],
    )
    return locked


def _email_key(email: str) -> str:
    return digest(email.strip().lower())
