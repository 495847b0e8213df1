"""Who is signed in, in which tenant, and for how long.

The session cookie holds only the user id, the chosen tenant id, the last-seen time and
the language. Every request re-reads the user and their memberships: a deactivated
user, or a membership or tenant that was revoked, signs the session out at once.
"""

from __future__ import annotations

import time
import uuid
from functools import wraps
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, flash, g, redirect, request, session, url_for
from flask_login import AnonymousUserMixin, LoginManager, UserMixin, current_user, login_user, logout_user

from auth import service as auth_service
from kernel.errors import N_, DomainError
from kernel.uow import Actor
from portal.shell.lifecycle import open_uow, uow_broken
from tenants.service import MembershipView, actor_for, memberships_of

# Requests that need no identity, and must not keep a session alive.
UNTRACKED = frozenset({"static", "health.healthz", "health.readyz"})


class SignInRequired(DomainError):
    status = 401
    code = "sign-in-required"
    message = N_("Please sign in to continue.")


class TenantRequired(DomainError):
    status = 403
    code = "tenant-required"
    message = N_("Choose an organisation to work in first.")


class Identity(UserMixin):
    """The signed-in user in their current membership, as plain values: it stays usable
    after the request's transaction is rolled back (error pages still show it)."""

    def __init__(self, user, memberships: list[MembershipView], membership: MembershipView | None) -> None:
        self.id = user.id
        self.email = user.email
        self.full_name = user.full_name
        self.locale = user.locale
        self.timezone = user.timezone
        self.memberships = tuple(memberships)
        self.membership = membership
        self.actor = actor_for(user, membership)

    def get_id(self) -> str:
        return str(self.id)

    @property
    def tenant_id(self) -> uuid.UUID | None:
        return self.membership.tenant_id if self.membership else None

    @property
    def is_supplier(self) -> bool:
        return bool(self.membership and self.membership.is_supplier)

    @property
    def role(self) -> str | None:
        return self.membership.role if self.membership else None


class Anonymous(AnonymousUserMixin):
    id = None
    locale = None
    timezone = None
    memberships = ()
    membership = None
    tenant_id = None
    is_supplier = False
    role = None
    actor = None


def init_app(app: Flask, idle_minutes: int) -> None:
    manager = LoginManager(app)
    manager.anonymous_user = Anonymous
    manager.user_loader(_load)
    manager.unauthorized_handler(_unauthorized)
    app.extensions["traceport_idle_seconds"] = idle_minutes * 60
    app.before_request(_check_idle)


def notify(message: str, **params) -> None:
    """A message for the next page, translated when it is shown."""
    flash({"message": message, "params": params}, "info")


def _load(user_id: str) -> Identity | None:
    if uow_broken():
        return None
    try:
        uid = uuid.UUID(user_id)
    except ValueError:
        return _revoke()
    uow = open_uow()
    # Reading one's own memberships needs the user in context (the membership policy).
    uow.switch_tenant(None, actor=Actor(user_id=uid, name=str(uid)))
    user = auth_service.get_user(uow, user_id=uid)
    if user is None or not user.is_active:
        return _revoke()
    memberships = memberships_of(uow, user_id=uid)
    wanted = session.get("tenant_id")
    membership = next((m for m in memberships if str(m.tenant_id) == wanted), None)
    if not memberships or (wanted and membership is None):
        return _revoke()
    identity = Identity(user, memberships, membership)
    uow.switch_tenant(identity.tenant_id, actor=identity.actor)
    return identity


def _revoke() -> None:
    end_session()
    notify(N_("Your access has changed. Please sign in again."))
    return None


def sign_in(user, memberships: list[MembershipView]) -> MembershipView | None:
    """Start a new session for the user: nothing of the anonymous session survives
    (no fixation), except the language picked on the sign-in page."""
    end_session()
    membership = memberships[0] if len(memberships) == 1 else None
    if membership:
        session["tenant_id"] = str(membership.tenant_id)
    login_user(Identity(user, memberships, membership))
    session.permanent = True
    session["seen"] = int(time.time())
    return membership


def choose_tenant(membership: MembershipView) -> None:
    session["tenant_id"] = str(membership.tenant_id)


def end_session() -> None:
    locale = session.get("locale")
    session.clear()
    if "_login_user" in g:
        logout_user()  # the identity was loaded: forget it for the rest of this request too
    if locale:
        session["locale"] = locale


def _check_idle() -> None:
    if request.endpoint in UNTRACKED or "_user_id" not in session:
        return
    now = int(time.time())
    seen = session.get("seen")
    limit = current_app.extensions["traceport_idle_seconds"]
    if not isinstance(seen, int) or now - seen > limit:
        end_session()
        notify(N_("You were signed out after %(minutes)d minutes without activity."), minutes=limit // 60)
        return
    session["seen"] = now


def _unauthorized():
    if request.path.startswith("/api/"):
        raise SignInRequired()
    target = request.full_path if request.method == "GET" else None
    return redirect(url_for("auth.login", next=safe_next(target)))


def safe_next(target: str | None) -> str | None:
    """A local path to return to after sign-in; anything else could send the user away."""
    if not target:
        return None
    target = target.rstrip("?")
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


def home_endpoint(membership: MembershipView | None) -> str:
    if membership is None:
        return "shell.tenants"
    return "home.supplier" if membership.is_supplier else "home.buyer"


def tenant_required(side: str | None = None):
    """Signed in, with a tenant chosen; `side` ("supplier" or "buyer") limits the page to
    one side of the portal."""

    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if current_user.membership is None:
                return redirect(url_for("shell.tenants", next=safe_next(request.full_path)))
            if side is not None and current_user.is_supplier != (side == "supplier"):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorate


def api_identity(*, tenant: bool = True) -> Identity:
    """The identity for an API call, or the problem that says why there is none."""
    if not current_user.is_authenticated:
        raise SignInRequired()
    if tenant and current_user.membership is None:
        raise TenantRequired()
    return current_user._get_current_object()
