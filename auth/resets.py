"""Password reset by email.

Asking for a reset always looks the same to the asker, whether the address has a login
or not (no enumeration): for an active login a random token's link is emailed in the
person's language and only the token's SHA-256 is stored. The link is good once, for
settings.password_reset_minutes; asking again replaces an earlier link. Using it sets
the new password (the password rules), clears a lockout and ends every session of the
login. An expired or used link gets the same refusal as an unknown one, and leaves a
"reset_refused" event in the person's tenants.

A reset happens before sign-in, with no tenant in context: the mail is platform mail
(kernel.outbox writes it to the nil tenant) and the events go to every tenant the login
belongs to.
"""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from auth import service as auth_service
from auth.errors import ResetLinkInvalid
from auth.lockout import account_tenant_ids
from auth.models import PasswordReset, User
from auth.passwords import check_password
from auth.security import record_security_event
from kernel.clock import utcnow
from kernel.crypto import digest, new_token
from kernel.mail import queue_mail
from kernel.uow import Actor

MAIL_TEMPLATE = "auth/password_reset"
_MAX_TOKEN = 128


def request_password_reset(uow, *, email: str, base_url: str, minutes: int) -> None:
    """Email a reset link to the login with this address, if there is an active one.
    Returns nothing either way: the caller shows the same answer for every address."""
    email = (email or "").strip()
    user = auth_service.find_user_by_email(uow, email=email) if email and len(email) <= 254 else None
    if user is None or not user.is_active:
        return
    # No tenant: the mail is the platform's. The trail names the reset, for this login.
    uow.switch_tenant(None, actor=Actor(user_id=user.id, name="password-reset"))
    uow.reason = "password reset requested"
    now = utcnow()
    # The newest link replaces earlier ones still open.
    uow.execute(
        sa.update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.used_at.is_(None), PasswordReset.expires_at > now)
        .values(expires_at=now)
        .execution_options(synchronize_session=False)
    )
    token = new_token()
    uow.add(PasswordReset(user_id=user.id, token_hash=digest(token), expires_at=now + timedelta(minutes=minutes)))
    uow.flush()
    queue_mail(
        uow,
        to=user.email,
        template=MAIL_TEMPLATE,
        locale=user.locale,
        context={"full_name": user.full_name, "link": f"{base_url.rstrip('/')}/password/reset/{token}", "minutes": minutes},
    )
    record_security_event(
        uow,
        kind="password_reset_requested",
        user_id=user.id,
        email=user.email,
        tenant_ids=account_tenant_ids(uow, user_id=user.id),
    )


def find_reset(uow, *, token: str, lock: bool = False) -> tuple[PasswordReset, User]:
    """The open reset behind a link, and its login; ResetLinkInvalid (one message) for
    an unknown, expired or used link - the last two also a "reset_refused" event."""
    if not token or len(token) > _MAX_TOKEN:
        raise ResetLinkInvalid()
    query = sa.select(PasswordReset).where(PasswordReset.token_hash == digest(token))
    reset = uow.session.scalar(query.with_for_update() if lock else query)
    if reset is None:
        raise ResetLinkInvalid()
    user = uow.session.get(User, reset.user_id)
    now = utcnow()
    problem = (
        "used"
        if reset.used_at is not None
        else "expired"
        if reset.expires_at <= now
        else "inactive"
        if not user.is_active
        else None
    )
    if problem is not None:
        record_security_event(
            uow,
            kind="reset_refused",
            severity="warning",
            user_id=user.id,
            email=user.email,
            detail={"reset_id": str(reset.id), "reason": problem},
            tenant_ids=account_tenant_ids(uow, user_id=user.id),
        )
        raise ResetLinkInvalid()
    return reset, user


def reset_password(uow, *, token: str, password: str, min_length: int) -> User:
    """Set a new password through a reset link; the link is used up, and every session
    of the login ends. WeakPassword leaves the link as it was."""
    reset, user = find_reset(uow, token=token, lock=True)
    check_password(password, email=user.email, min_length=min_length)
    uow.switch_tenant(None, actor=Actor(user_id=user.id, name=user.email))
    uow.reason = "password reset"
    now = utcnow()
    reset.used_at = now
    # Any other link still open for this login goes too.
    uow.execute(
        sa.update(PasswordReset)
        .where(PasswordReset.user_id == user.id, PasswordReset.id != reset.id, PasswordReset.used_at.is_(None))
        .values(used_at=now)
        .execution_options(synchronize_session=False)
    )
    uow.flush()
    return auth_service.set_password(uow, user=user, password=password, min_length=min_length, via="reset")
