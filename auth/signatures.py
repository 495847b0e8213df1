"""Electronic signatures (21 CFR Part 11 §11.50, §11.70, §11.100, §11.200).

`sign` re-authenticates the signer at the moment of signing (password, and the
second-factor code when the signer has one or the tenant requires one), states a
meaning, and stores the signature bound to a SHA-256 of the record's content: printed
name, email, time and the signer's time zone, how they were re-authenticated. The
`e_signature` table is insert-only for the application role and audited; the unit of
work's reason ("e-signature: approved") goes into the audit trail with the record's
own changes of the same transaction.

`signatures_for` gives a record's signatures, each with `matches`: whether the record's
content now still hashes to what was signed. A record changed after signing shows its
signatures as no longer matching.

A refused signature raises SignatureRefused after recording a "signature_failed"
security event and, for a wrong password or code, counting a failed attempt on the
account (the sign-in lockout). A caller that rolls back on errors must record that
again after its rollback: `record_refusal(uow, error, settings=...)`.
"""

from __future__ import annotations

import enum
import hashlib
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal

import sqlalchemy as sa

from auth import lockout, mfa
from auth.errors import SignatureRefused, UnknownMeaning
from auth.models import Signature, User
from auth.passwords import verify_password
from auth.security import record_security_event
from kernel.clock import utcnow
from kernel.errors import N_, Forbidden

# What a signature means (§11.50(a)(3)); the label is translated where it is shown.
MEANINGS: dict[str, str] = {
    "authored": N_("Authored"),
    "reviewed": N_("Reviewed"),
    "verified": N_("Verified"),
    "approved": N_("Approved"),
    "released": N_("Released"),
    "rejected": N_("Rejected"),
}

# Why a signature was refused; the message the signer sees. A wrong password and a
# wrong code share one message: it must not tell which of the two was right.
REFUSALS: dict[str, str] = {
    "not_a_person": N_("Only a person can sign: API clients and system jobs cannot."),
    "wrong_credentials": SignatureRefused.message,
    "code_missing": N_("Enter the code from your authenticator app as well: signing needs your second factor."),
    "no_second_factor": N_("This organisation requires a second factor to sign. Set one up under Account, then sign again."),
    "locked": N_("Your account is locked after too many failed attempts. Try again later."),
    "inactive": N_("Your account is deactivated."),
}
# Refusals that are a guess at a secret, counted like a failed sign-in.
COUNTED = frozenset({"wrong_credentials"})

_PERSON_KINDS = ("user",)


@dataclass(frozen=True)
class SignatureView:
    """A stored signature and whether the record still has the signed content."""

    id: uuid.UUID
    record_type: str
    record_id: uuid.UUID
    meaning: str
    printed_name: str
    email: str
    signed_at: datetime
    time_zone: str
    method: str
    content_hash: str
    matches: bool

    @property
    def meaning_label(self) -> str:
        return MEANINGS.get(self.meaning, self.meaning)


# --- content hashes ------------------------------------------------------------------------


def _plain(value):
    """JSON for what json cannot write: decimals, dates and times as strings (aware times
    in UTC, so the hash does not depend on the session's time zone), ids as text."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return (value.astimezone(UTC) if value.tzinfo else value).isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).hex()
    if isinstance(value, set | frozenset):
        return sorted(value, key=str)
    raise TypeError(f"cannot sign a value of type {type(value).__name__}")


def canonical_json(content: dict) -> bytes:
    """One byte string per content: sorted keys, no whitespace, UTF-8."""
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain).encode()


def content_hash(content: dict | bytes) -> str:
    """SHA-256 (hex) of a record's content: its canonical JSON, or the bytes themselves
    (a document's file)."""
    data = bytes(content) if isinstance(content, bytes | bytearray | memoryview) else canonical_json(content)
    return hashlib.sha256(data).hexdigest()


def content_of(row, *, exclude: tuple[str, ...] = ()) -> dict:
    """A mapped row's column values by attribute name, as signed content (leave out
    what is not part of the record's meaning with `exclude`)."""
    mapper = sa.inspect(row).mapper
    return {attr.key: getattr(row, attr.key) for attr in mapper.column_attrs if attr.key not in exclude}


# --- signing -------------------------------------------------------------------------------


def sign(
    uow,
    actor,
    *,
    record_type: str,
    record_id: uuid.UUID,
    content: dict | bytes,
    meaning: str,
    password: str,
    otp: str | None = None,
    settings,
    cipher,
    supplier_id: uuid.UUID | None = None,
) -> Signature:
    """Sign a record now, as the actor, re-authenticated by password (and second factor).

    The operation that signs (a certificate review, a batch release) checks its own
    permission before calling this; `sign` checks who signs and their credentials."""
    if meaning not in MEANINGS:
        raise UnknownMeaning(errors={"meaning": UnknownMeaning.message})
    if actor.supplier_id is not None:
        # A supplier's person signs for their own company only (the row-level policy
        # would refuse another supplier's id anyway).
        if supplier_id is not None and supplier_id != actor.supplier_id:
            raise Forbidden()
        supplier_id = actor.supplier_id
    detail = {"record_type": record_type, "record_id": str(record_id), "meaning": meaning}

    user = uow.session.get(User, actor.user_id) if actor.kind in _PERSON_KINDS and actor.user_id else None
    refused, method = _reauthenticate(uow, actor, user, password=password, otp=otp, cipher=cipher)
    if refused is not None:
        error = SignatureRefused(REFUSALS[refused])
        error.reason = refused
        error.user_id = user.id if user is not None else None
        error.email = user.email if user is not None else None
        error.detail = detail
        record_refusal(uow, error, settings=settings)
        raise error

    uow.reason = f"e-signature: {meaning}"
    signature = Signature(
        tenant_id=uow.tenant_id,
        record_type=record_type,
        record_id=record_id,
        content_hash=content_hash(content),
        meaning=meaning,
        user_id=user.id,
        printed_name=user.full_name,
        email=user.email,
        signed_at=utcnow(),
        time_zone=user.timezone or "UTC",
        method=method,
        supplier_id=supplier_id,
    )
    uow.add(signature)
    uow.flush()
    return signature


def record_refusal(uow, error: SignatureRefused, *, settings) -> None:
    """The trace a refused signature leaves: a "signature_failed" event in the tenant in
    context and, for a wrong password or code, a failed attempt on the account (which
    may lock it). `sign` calls this; a caller that rolled its transaction back after
    the refusal calls it again, in the fresh transaction, and commits."""
    reason = getattr(error, "reason", "wrong_credentials")
    detail = {**getattr(error, "detail", {}), "reason": reason}
    user_id = getattr(error, "user_id", None)
    user = uow.session.get(User, user_id) if user_id else None
    if user is not None and reason in COUNTED:
        lockout.register_failed_attempt(uow, user=user, settings=settings, kind="signature_failed", detail=detail)
        return
    record_security_event(
        uow, kind="signature_failed", severity="warning", user_id=user_id, email=getattr(error, "email", None), detail=detail
    )


def _reauthenticate(uow, actor, user: User | None, *, password: str, otp: str | None, cipher) -> tuple[str | None, str]:
    """(None, method) for a signer who proved who they are, else (reason, "")."""
    if user is None:
        return "not_a_person", ""
    if not user.is_active:
        return "inactive", ""
    if lockout.is_locked(user):
        return "locked", ""
    needs_code = user.totp_enabled_at is not None or _tenant_requires_code(uow, actor)
    if needs_code and user.totp_enabled_at is None:
        return "no_second_factor", ""
    if needs_code and not mfa.cleaned_code(otp):
        # Said before the password is checked: it tells nothing about the password.
        return "code_missing", ""
    if not verify_password(user.password_hash, password or ""):
        return "wrong_credentials", ""
    if not needs_code:
        return None, "password"
    code_method = mfa.check_code(uow, user=user, code=otp, cipher=cipher)
    if code_method is None:
        return "wrong_credentials", ""
    return None, f"password+{code_method}"


def _tenant_requires_code(uow, actor) -> bool:
    from tenants.models import Tenant  # tenants imports auth; these names go back
    from tenants.security import mfa_required

    policy = uow.scalar(sa.select(Tenant.mfa_policy).where(Tenant.id == uow.tenant_id))
    return mfa_required(policy, actor)


# --- reading -------------------------------------------------------------------------------


def signatures_for(uow, *, record_type: str, record_id: uuid.UUID, content: dict | bytes) -> list[SignatureView]:
    """A record's signatures, oldest first, each saying whether the record's current
    `content` is still what was signed."""
    current = content_hash(content)
    rows = uow.session.scalars(
        sa.select(Signature)
        .where(Signature.tenant_id == uow.tenant_id, Signature.record_type == record_type, Signature.record_id == record_id)
        .order_by(Signature.signed_at, Signature.id)
    )
    return [
        SignatureView(
            id=row.id,
            record_type=row.record_type,
            record_id=row.record_id,
            meaning=row.meaning,
            printed_name=row.printed_name,
            email=row.email,
            signed_at=row.signed_at,
            time_zone=row.time_zone,
            method=row.method,
            content_hash=row.content_hash,
            matches=row.content_hash == current,
        )
        for row in rows
    ]
