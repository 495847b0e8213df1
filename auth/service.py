"""Users and sign-in. Plain functions: unit of work first, keyword arguments after."""

from __future__ import annotations

import uuid

import sqlalchemy as sa

from auth.errors import AccountLocked, InvalidCredentials
from auth.models import User
from auth.passwords import hash_password, needs_rehash, verify_password
from kernel.clock import utcnow


def create_user(uow, *, email: str, full_name: str, password: str | None, locale: str | None = None) -> User:
    user = User(
        email=email.strip(), full_name=full_name, password_hash=hash_password(password) if password else None, locale=locale
    )
    uow.add(user)
    uow.flush()
    return user


def find_user_by_email(uow, *, email: str) -> User | None:
    return uow.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email.strip().lower()))


def get_user(uow, *, user_id: uuid.UUID) -> User | None:
    return uow.session.get(User, user_id)


def authenticate(uow, *, email: str, password: str, settings=None) -> User:
    """Check a password; raise InvalidCredentials with one message for every failure
    (unknown email, wrong password, inactive account), or AccountLocked while the account
    is locked - the right password included (auth.lockout: counting, lockout, events;
    `settings` gives its thresholds, default the settings' defaults). The caller keeps the
    counter and the events although it refuses the sign-in."""
    from auth import lockout

    settings = settings or lockout.DEFAULTS
    user = find_user_by_email(uow, email=email)
    if user is not None and lockout.is_locked(user):
        raise AccountLocked(minutes=lockout.refuse_locked(uow, user=user))
    if user is None and (minutes := lockout.unknown_locked_minutes(uow, email=email)):
        raise AccountLocked(minutes=minutes)  # as for an account: nothing tells them apart
    ok = verify_password(user.password_hash if user else None, password)
    if user is None:
        if lockout.register_unknown_email(uow, email=email, settings=settings):
            raise AccountLocked(minutes=settings.lockout_minutes)
        raise InvalidCredentials()
    if not ok or not user.is_active:
        reason = "inactive" if ok else "wrong_password"
        if lockout.register_failed_attempt(uow, user=user, settings=settings, detail={"reason": reason}):
            raise AccountLocked(minutes=settings.lockout_minutes)
        raise InvalidCredentials()
    if user.totp_enabled_at is None:
        # With a second factor the sign-in is not done yet: the count starts again only
        # after the code (auth.mfa), else a known password would reset a code-guessing run.
        lockout.register_success(uow, user=user)
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    user.last_login_at = utcnow()
    uow.flush()
    return user


def set_locale(uow, *, user_id: uuid.UUID, locale: str) -> None:
    user = uow.session.get(User, user_id)
    if user is not None:
        user.locale = locale
        uow.flush()


def update_profile(uow, *, user_id: uuid.UUID, full_name: str, locale: str | None, timezone: str) -> User:
    """A user's own name (the printed name of their signatures), language and time zone
    (how times are shown to them, and the zone their signatures state)."""
    from zoneinfo import available_timezones

    from kernel.errors import N_, ValidationFailed

    errors = {}
    full_name = (full_name or "").strip()
    if not full_name:
        errors["full_name"] = N_("Enter your name.")
    elif len(full_name) > 200:
        errors["full_name"] = N_("This is too long.")
    if timezone not in available_timezones():
        errors["timezone"] = N_("Choose one of the time zones offered.")
    if locale is not None and len(locale) > 10:
        errors["locale"] = N_("Choose one of the languages offered.")
    if errors:
        raise ValidationFailed(errors=errors)
    user = uow.session.get(User, user_id)
    uow.reason = "profile"
    user.full_name, user.locale, user.timezone = full_name, locale, timezone
    uow.flush()
    return user


# --- passwords -----------------------------------------------------------------------------


def user_tenant_ids(uow, *, user_id: uuid.UUID) -> list[uuid.UUID]:
    """The tenants where the user has an active membership: where their security events
    belong. The membership policy shows a user their own rows whatever tenant is in
    context, so the unit of work's actor must be that user (else only the tenant in
    context shows)."""
    from tenants.models import Membership  # tenants imports auth; this one name goes back

    query = sa.select(Membership.tenant_id).where(Membership.user_id == user_id, Membership.is_active).distinct()
    return sorted(uow.session.scalars(query))


def set_password(
    uow, *, user: User, password: str, min_length: int, keep_session_id: uuid.UUID | None = None, via: str = "change"
) -> User:
    """Give the user a new password (the rules first: WeakPassword names the one it
    breaks). Clears a lockout, and ends the user's other server-side sessions: whoever
    knew the old password is signed out everywhere. `via` (change, reset, invitation)
    goes into the security event."""
    from auth.lockout import account_tenant_ids
    from auth.passwords import check_password
    from auth.security import record_security_event
    from auth.sessions import revoke_all

    check_password(password, email=user.email, min_length=min_length)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    user.failed_logins = 0
    user.locked_until = None
    uow.flush()
    revoke_all(uow, user_id=user.id, reason="password_changed", except_session_id=keep_session_id)
    record_security_event(
        uow,
        kind="password_changed",
        user_id=user.id,
        email=user.email,
        detail={"via": via},
        tenant_ids=account_tenant_ids(uow, user_id=user.id),
    )
    return user


def change_password(
    uow,
    *,
    user_id: uuid.UUID,
    current_password: str,
    new_password: str,
    settings,
    keep_session_id: uuid.UUID | None = None,
) -> User:
    """A signed-in user changes their password, proving the current one first. A wrong
    one counts towards the account's lockout like a failed sign-in (a borrowed session
    must not become a way to guess the password); the caller keeps that count although
    it refuses the change. `settings`: password_min_length and the lockout's thresholds."""
    from auth import lockout
    from auth.errors import WrongCurrentPassword

    user = get_user(uow, user_id=user_id)
    if user is None or not user.is_active:
        raise WrongCurrentPassword()
    if lockout.is_locked(user):
        raise AccountLocked(minutes=lockout.refuse_locked(uow, user=user, detail={"reason": "password_change"}))
    if not verify_password(user.password_hash, current_password):
        if lockout.register_failed_attempt(uow, user=user, settings=settings, detail={"reason": "password_change"}):
            raise AccountLocked(minutes=settings.lockout_minutes)
        raise WrongCurrentPassword()
    return set_password(
        uow, user=user, password=new_password, min_length=settings.password_min_length, keep_session_id=keep_session_id
    )
