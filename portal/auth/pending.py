"""Between the password and the second factor: who signed in with a correct password,
kept in the signed session cookie for a few minutes (portal/auth/second_factor.py)."""

from __future__ import annotations

import time
import uuid

from flask import redirect, session, url_for

from portal.shell.identity import end_session, safe_next

PENDING_KEY = "mfa_pending"
PENDING_SECONDS = 5 * 60


def ask_for_second_factor(user, next_url: str | None):
    """After a correct password: remember the user for the second step, nothing more.
    The anonymous session is started afresh (nothing planted in it survives)."""
    end_session()
    session[PENDING_KEY] = {"user_id": str(user.id), "at": int(time.time()), "next": safe_next(next_url)}
    return redirect(url_for("auth.login_verify"))


def pending_user_id() -> uuid.UUID | None:
    pending = session.get(PENDING_KEY)
    if not isinstance(pending, dict):
        return None
    at = pending.get("at")
    if not isinstance(at, int) or not 0 <= time.time() - at <= PENDING_SECONDS:
        return None
    try:
        return uuid.UUID(str(pending.get("user_id")))
    except ValueError:
        return None
