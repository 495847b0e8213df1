"""Second factor: time-based one-time codes (TOTP, RFC 6238, with pyotp) and one-time
recovery codes.

Enrolment has two steps: `begin_enrolment` stores a new seed (encrypted, not yet in
force) and gives the authenticator app its otpauth:// URI; `confirm_enrolment` puts it
in force once the user proves a first code, and hands out ten recovery codes - shown
once, stored as SHA-256 digests.

`verify_second_factor` is the second step of signing in (and of an electronic
signature): a TOTP code is good once (a time step at or before the last one accepted
is refused, so a code seen over a shoulder cannot be replayed), a recovery code once.
A wrong code counts against the account exactly like a wrong password: after
`login_max_failures` the account is locked for `lockout_minutes`.
"""

from __future__ import annotations

import secrets
import time
import uuid

import pyotp
import sqlalchemy as sa

from auth import lockout
from auth.errors import (
    AccountLocked,
    InvalidCode,
    SecondFactorAlreadyEnabled,
    SecondFactorNotEnabled,
    SecondFactorNotStarted,
    SecondFactorRequired,
    WrongCurrentPassword,
)
from auth.models import RecoveryCode, User
from auth.passwords import verify_password
from auth.security import record_security_event
from kernel.clock import utcnow
from kernel.crypto import digest, same

ISSUER = "Traceport"
RECOVERY_CODE_COUNT = 10
# Base32 without padding: unambiguous to read out and type (no 0/O, 1/I confusion).
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_RECOVERY_LENGTH = 10


# --- enrolment ---------------------------------------------------------------------------


def begin_enrolment(uow, *, user: User, cipher) -> tuple[str, str]:
    """A new TOTP seed for the user, stored encrypted but not in force until confirmed.
    Returns the seed (for typing in by hand) and the otpauth:// URI (for the QR code)."""
    if user.totp_enabled_at is not None:
        raise SecondFactorAlreadyEnabled()
    secret = pyotp.random_base32()
    uow.reason = "second factor: enrolment started"
    user.totp_secret = cipher.encrypt(secret)
    user.totp_last_step = None
    uow.flush()
    return secret, provisioning_uri(user, secret)


def pending_enrolment(user: User, *, cipher) -> tuple[str, str] | None:
    """The seed waiting for confirmation and its URI, or None."""
    if user.totp_enabled_at is not None or user.totp_secret is None:
        return None
    secret = cipher.decrypt(user.totp_secret)
    return secret, provisioning_uri(user, secret)


def provisioning_uri(user: User, secret: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def confirm_enrolment(uow, *, user: User, code: str, cipher, now: float | None = None) -> list[str]:
    """Put the waiting seed in force once `code` matches it; return the new recovery
    codes (the only time they exist in the clear)."""
    if user.totp_enabled_at is not None:
        raise SecondFactorAlreadyEnabled()
    if user.totp_secret is None:
        raise SecondFactorNotStarted()
    step = _matching_step(cipher.decrypt(user.totp_secret), code, now)
    if step is None:
        raise InvalidCode()
    uow.reason = "second factor: enabled"
    user.totp_enabled_at = utcnow()
    user.totp_last_step = step  # the code just shown cannot sign in as well
    codes = _new_recovery_codes(uow, user)
    record_security_event(
        uow, kind="mfa_enabled", user_id=user.id, email=user.email, tenant_ids=lockout.account_tenant_ids(uow, user_id=user.id)
    )
    return codes


def regenerate_recovery_codes(uow, *, user: User, password: str, settings) -> list[str]:
    """Replace every recovery code (used or not) with ten new ones; needs the password."""
    if user.totp_enabled_at is None:
        raise SecondFactorNotEnabled()
    _check_password(uow, user=user, password=password, settings=settings, action="recovery_codes")
    uow.reason = "second factor: recovery codes replaced"
    codes = _new_recovery_codes(uow, user)
    record_security_event(
        uow,
        kind="recovery_codes_regenerated",
        user_id=user.id,
        email=user.email,
        tenant_ids=lockout.account_tenant_ids(uow, user_id=user.id),
    )
    return codes


def disable_mfa(uow, *, user: User, password: str, settings) -> None:
    """Remove the second factor (seed and recovery codes); needs the password, and is
    refused while a tenant of the user requires a second factor."""
    from tenants.security import tenants_requiring_mfa  # tenants imports auth; this one name goes back

    if user.totp_enabled_at is None and user.totp_secret is None:
        raise SecondFactorNotEnabled()
    requiring = tenants_requiring_mfa(uow, user_id=user.id)
    if requiring and user.totp_enabled_at is not None:
        raise SecondFactorRequired()
    _check_password(uow, user=user, password=password, settings=settings, action="disable")
    uow.reason = "second factor: removed"
    was_enabled = user.totp_enabled_at is not None
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    uow.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    uow.flush()
    if was_enabled:
        record_security_event(
            uow,
            kind="mfa_disabled",
            severity="warning",
            user_id=user.id,
            email=user.email,
            tenant_ids=lockout.account_tenant_ids(uow, user_id=user.id),
        )


def recovery_codes_left(uow, *, user_id: uuid.UUID) -> int:
    return uow.scalar(
        sa.select(sa.func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user_id, RecoveryCode.used_at.is_(None))
    )


# --- verification --------------------------------------------------------------------------


def verify_second_factor(uow, *, user: User, code: str, cipher, settings, now: float | None = None) -> str:
    """Check the second-factor code of a sign-in: "totp" or "recovery" when good (the
    failure count then starts again).

    A locked account is refused whatever the code (AccountLocked). A wrong code raises
    InvalidCode - or AccountLocked when it was one failure too many - after counting
    the failure (auth.lockout); the caller keeps that count although it refuses."""
    if lockout.is_locked(user):
        raise AccountLocked(minutes=lockout.refuse_locked(uow, user=user, detail={"reason": "second_factor"}))
    method = check_code(uow, user=user, code=code, cipher=cipher, now=now)
    if method is None:
        if lockout.register_failed_attempt(uow, user=user, settings=settings, kind="otp_failed"):
            raise AccountLocked(minutes=settings.lockout_minutes)
        raise InvalidCode()
    lockout.register_success(uow, user=user)
    return method


def check_code(uow, *, user: User, code: str, cipher, now: float | None = None) -> str | None:
    """The method ("totp" or "recovery") of a good code, which is then used up; None otherwise.
    Counts nothing: callers decide what a wrong code costs."""
    if user.totp_enabled_at is None or user.totp_secret is None:
        return None
    cleaned = cleaned_code(code)
    if cleaned.isdigit():
        step = _matching_step(cipher.decrypt(user.totp_secret), cleaned, now)
        if step is None or not _claim_step(uow, user, step):
            return None  # wrong, or already used (no replay)
        return "totp"
    if len(cleaned) != _RECOVERY_LENGTH:
        return None
    used = uow.execute(
        sa.update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == _recovery_digest(user.id, cleaned),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=sa.func.now())
        .returning(RecoveryCode.id)
    ).first()
    if used is None:
        return None
    left = recovery_codes_left(uow, user_id=user.id)
    record_security_event(
        uow,
        kind="recovery_code_used",
        severity="warning",
        user_id=user.id,
        email=user.email,
        detail={"left": left},
        tenant_ids=lockout.account_tenant_ids(uow, user_id=user.id),
    )
    return "recovery"


# --- helpers -------------------------------------------------------------------------------


def cleaned_code(code: str | None) -> str:
    """A code as typed, without spaces, dashes or case: "123 456", "abcde-fghij"."""
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


def _matching_step(secret: str, code: str | None, now: float | None) -> int | None:
    """The time step (of the previous, current or next 30 s) whose code is `code`."""
    cleaned = cleaned_code(code)
    if len(cleaned) != 6 or not cleaned.isdigit():
        return None
    totp = pyotp.TOTP(secret)
    current = totp.timecode(time.time() if now is None else now)
    found = None
    for step in (current - 1, current, current + 1):
        # Compare all three in constant time: no early exit tells which one matched.
        if same(totp.generate_otp(step), cleaned):
            found = step
    return found


def _claim_step(uow, user: User, step: int) -> bool:
    """Record `step` as the last one used, unless a concurrent sign-in already did: the
    row is locked and re-read first, so of two requests with one code only one wins."""
    uow.session.refresh(user, attribute_names=["totp_last_step"], with_for_update=True)
    if user.totp_last_step is not None and step <= user.totp_last_step:
        return False
    user.totp_last_step = step
    uow.flush()
    return True


def _new_recovery_codes(uow, user: User) -> list[str]:
    uow.execute(sa.delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = ["".join(secrets.choice(_ALPHABET) for _ in range(_RECOVERY_LENGTH)) for _ in range(RECOVERY_CODE_COUNT)]
    uow.session.add_all(RecoveryCode(user_id=user.id, code_hash=_recovery_digest(user.id, code)) for code in codes)
    uow.flush()
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def _recovery_digest(user_id: uuid.UUID, cleaned: str) -> str:
    # Bound to the user: one table of digests cannot be matched against every account.
    return digest(f"{user_id}:{cleaned}")


def _check_password(uow, *, user: User, password: str, settings, action: str) -> None:
    """Re-authentication for a change to the second factor; a wrong password counts
    like a failed sign-in (and a locked account is refused)."""
    if lockout.is_locked(user):
        raise AccountLocked(minutes=lockout.refuse_locked(uow, user=user, detail={"reason": f"mfa_{action}"}))
    if not verify_password(user.password_hash, password or ""):
        if lockout.register_failed_attempt(uow, user=user, settings=settings, detail={"reason": f"mfa_{action}"}):
            raise AccountLocked(minutes=settings.lockout_minutes)
        raise WrongCurrentPassword()
