"""Server-side sessions: one `user_session` row per signed-in browser.

The browser's cookie carries only the row's id (signed, with the user id, the chosen
tenant and the language). Every request checks the row, so a session ends at once,
wherever its cookie was copied, when it is

- revoked: signed out, "sign out everywhere", a password change or reset, a revoked
  membership or deactivated user (the web layer revokes the row when it notices);
- past its absolute limit (`expires_at`, settings.session_absolute_hours from sign-in);
- idle for longer than settings.session_idle_minutes (`last_seen_at`).

`last_seen_at` is written at most once a minute, so an active session costs one small
update a minute, not one a request. The table is global (no tenant, no row-level
security: sessions exist before a tenant is chosen) and not audited (sign-ins and
sign-outs are security events; last-seen updates would flood the trail).
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import sqlalchemy as sa

from auth.models import UserSession
from kernel.clock import utcnow

# How often the idle clock is written.
SEEN_RESOLUTION = timedelta(minutes=1)

# Why a session ended (user_session.revoked_reason, at most 40 characters), e.g.
# signed_out, signed_out_everywhere, revoked (one session ended from the list),
# password_changed, access_changed (membership revoked, user deactivated), idle, expired.

# Outcomes of a check that failed, for the message the user sees.
REVOKED, EXPIRED, IDLE, UNKNOWN = "revoked", "expired", "idle", "unknown"


def start_session(
    uow,
    *,
    user_id: uuid.UUID,
    method: str,
    ip: str | None,
    user_agent: str | None,
    absolute_hours: int,
) -> UserSession:
    """A new session for a user who has just proved who they are (`method`: password,
    password+totp, recovery_code, sso)."""
    now = utcnow()
    row = UserSession(
        user_id=user_id,
        created_at=now,
        last_seen_at=now,
        expires_at=now + timedelta(hours=absolute_hours),
        method=method[:20],
        ip=ip or None,
        user_agent=(user_agent or "")[:300] or None,
    )
    uow.add(row)
    uow.flush()
    return row


def session_status(
    uow, *, session_id: uuid.UUID, user_id: uuid.UUID, idle_minutes: int, now: datetime | None = None
) -> tuple[UserSession | None, str | None]:
    """The session if it is still good (and its idle clock moved on), else None and why:
    REVOKED, EXPIRED, IDLE or UNKNOWN (no such row, or another user's). A session found
    expired or idle is closed for good, so it shows as ended everywhere."""
    now = now or utcnow()
    row = uow.session.get(UserSession, session_id)
    if row is None or row.user_id != user_id:
        return None, UNKNOWN
    if row.revoked_at is not None:
        return None, REVOKED
    if row.expires_at <= now:
        _close(uow, row, "expired", now)
        return None, EXPIRED
    if now - row.last_seen_at > timedelta(minutes=idle_minutes):
        _close(uow, row, "idle", now)
        return None, IDLE
    if now - row.last_seen_at >= SEEN_RESOLUTION:
        row.last_seen_at = now
        uow.flush()
    return row, None


def check_session(uow, *, session_id: uuid.UUID, user_id: uuid.UUID, idle_minutes: int) -> UserSession | None:
    """The session if it is still good, else None (revoked, past its absolute limit, or
    idle too long)."""
    row, _ = session_status(uow, session_id=session_id, user_id=user_id, idle_minutes=idle_minutes)
    return row


def revoke_session(uow, *, session_id: uuid.UUID, user_id: uuid.UUID, reason: str = "signed_out") -> bool:
    """End one of the user's sessions; False when there is no such open session of
    theirs (someone else's id changes nothing)."""
    result = uow.execute(
        sa.update(UserSession)
        .where(UserSession.id == session_id, UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
        .values(revoked_at=sa.func.now(), revoked_reason=reason[:40])
    )
    return result.rowcount > 0


def revoke_all(uow, *, user_id: uuid.UUID, reason: str, except_session_id: uuid.UUID | None = None) -> int:
    """End every open session of the user (but `except_session_id`, the one making the
    change, if given); the number ended."""
    query = sa.update(UserSession).where(UserSession.user_id == user_id, UserSession.revoked_at.is_(None))
    if except_session_id is not None:
        query = query.where(UserSession.id != except_session_id)
    return uow.execute(query.values(revoked_at=sa.func.now(), revoked_reason=reason[:40])).rowcount


def list_sessions(uow, *, user_id: uuid.UUID, idle_minutes: int | None = None) -> list[UserSession]:
    """The user's open sessions, the most recently used first: not revoked, not past
    their absolute limit, and (given `idle_minutes`) not idle too long."""
    now = utcnow()
    query = sa.select(UserSession).where(
        UserSession.user_id == user_id, UserSession.revoked_at.is_(None), UserSession.expires_at > now
    )
    if idle_minutes is not None:
        query = query.where(UserSession.last_seen_at >= now - timedelta(minutes=idle_minutes))
    return list(uow.session.scalars(query.order_by(UserSession.last_seen_at.desc(), UserSession.id.desc())))


def _close(uow, row: UserSession, reason: str, now: datetime) -> None:
    row.revoked_at = now
    row.revoked_reason = reason
    uow.flush()
