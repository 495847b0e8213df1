"""Passwords: argon2id hashing (argon2-cffi defaults follow RFC 9106's guidance) and
the rules a new password must meet.

Rules (NIST SP 800-63B §5.1.1.2 in spirit: length and a blocklist, no composition
rules): at least `min_length` characters (settings.password_min_length) and at most
MAX_LENGTH; not containing the email address or its local part; not one of the common
passwords shipped with zxcvbn (case-insensitive); and a zxcvbn score of at least
MIN_SCORE ("safely unguessable"), with the email as a known user input.
"""

from __future__ import annotations

import re
import threading

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from auth.errors import WeakPassword

MAX_LENGTH = 256
MIN_SCORE = 3
# zxcvbn refuses longer input (and its matching grows quickly with length); a longer
# password is scored by its first characters, which only errs on the strict side.
_ZXCVBN_MAX = 72
# A local part shorter than this is no real hint ("li@..."); the whole email still is.
_MIN_LOCAL_PART = 3

_hasher = PasswordHasher()
# Verified against when the email is unknown, so a miss costs the same time as a hit.
_DUMMY_HASH = _hasher.hash("traceport-timing-equaliser")

_common: frozenset[str] | None = None
_common_lock = threading.Lock()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)


def common_passwords() -> frozenset[str]:
    """The common-password list shipped with zxcvbn (30,000 entries), lower-cased;
    loaded on first use, once per process."""
    global _common
    with _common_lock:
        if _common is None:
            from zxcvbn.frequency_lists import FREQUENCY_LISTS

            _common = frozenset(p.lower() for p in FREQUENCY_LISTS["passwords"])
        return _common


def _squashed(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def check_password(password: str, *, email: str | None, min_length: int) -> None:
    """Raise WeakPassword naming the first rule the password breaks."""
    if len(password) < min_length:
        raise WeakPassword(reason="too_short", min_length=min_length)
    if len(password) > MAX_LENGTH:
        raise WeakPassword(reason="too_long", max_length=MAX_LENGTH)
    email = (email or "").strip().lower()
    local = email.partition("@")[0]
    lowered = password.lower()
    if email and (email in lowered or (len(local) >= _MIN_LOCAL_PART and local in lowered)):
        raise WeakPassword(reason="contains_email")
    squashed_local = _squashed(local)
    if len(squashed_local) >= _MIN_LOCAL_PART and squashed_local in _squashed(password):
        raise WeakPassword(reason="contains_email")
    if lowered in common_passwords():
        raise WeakPassword(reason="common")
    from zxcvbn import zxcvbn

    inputs = [part for part in (email, local, *re.split(r"[\W_]+", local)) if len(part) >= _MIN_LOCAL_PART]
    if zxcvbn(password[:_ZXCVBN_MAX], user_inputs=inputs)["score"] < MIN_SCORE:
        raise WeakPassword(reason="guessable")
