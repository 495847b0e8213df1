"""Who is signed in, in which tenant, and for how long.

Sessions live on the server (auth.sessions, one `user_session` row per browser): the
signed cookie holds only that row's id, the user id, the chosen tenant id and the
language. Every request checks the row (revoked, past its absolute limit, idle too
long: signed out, and the message says why) and re-reads the user and their
memberships: a deactivated user, or a membership or tenant that was revoked, signs the
session out at once. A copied cookie is worth nothing once its row has ended.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from functools import wraps
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, flash, g, redirect, request, session, url_for
from flask_babel import gettext
from flask_login import AnonymousUserMixin, LoginManager, UserMixin, current_user, login_user, logout_user

from auth import service as auth_service
from auth import sessions as user_sessions
from auth.permissions import PERMISSIONS
from kernel.errors import N_, DomainError, Forbidden
from kernel.uow import Actor
from portal.shell.lifecycle import open_uow, record_refusal, uow_broken
from tenants.service import MembershipView, actor_for, memberships_of


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

    def __init__(
        self,
        user,
        memberships: list[MembershipView],
        membership: MembershipView | None,
        session_id: uuid.UUID | None = None,
    ) -> None:
        self.id = user.id
        # The server-side session (auth.sessions) this browser is signed in with.
        self.session_id = session_id
        self.email = user.email
        self.full_name = user.full_name
        self.locale = user.locale
        self.timezone = user.timezone
        # A second factor in force (the tenant's rule may require one: portal/account).
        self.mfa_enabled = user.totp_enabled_at is not None
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
    session_id = None
    locale = None
    timezone = None
    mfa_enabled = False
    memberships = ()
    membership = None
    tenant_id = None
    is_supplier = False
    role = None
    actor = None


# Why a session check failed -> what the user is told on the sign-in page.
ENDED = {
    user_sessions.IDLE: N_("You were signed out after %(minutes)d minutes without activity."),
    user_sessions.EXPIRED: N_("Your session reached its time limit of %(hours)d hours. Please sign in again."),
    user_sessions.REVOKED: N_("Your session was ended. Please sign in again."),
    user_sessions.UNKNOWN: N_("Your session was ended. Please sign in again."),
}


def init_app(app: Flask, idle_minutes: int, absolute_hours: int = 12) -> None:
    manager = LoginManager(app)
    manager.anonymous_user = Anonymous
    manager.user_loader(_load)
    manager.unauthorized_handler(_unauthorized)
    app.extensions["traceport_sessions"] = {"idle_minutes": idle_minutes, "absolute_hours": absolute_hours}
    app.jinja_env.globals["can"] = can


def notify(message: str, **params) -> None:
    """A message for the next page, translated when it is shown."""
    flash({"message": message, "params": params}, "info")


def _load(user_id: str) -> Identity | None:
    if uow_broken():
        return None
    try:
        uid = uuid.UUID(user_id)
        sid = uuid.UUID(str(session.get("sid")))
    except ValueError:
        return _ended(user_sessions.UNKNOWN)
    uow = open_uow()
    # Reading one's own memberships needs the user in context (the membership policy).
    uow.switch_tenant(None, actor=Actor(user_id=uid, name=str(uid)))
    limits = current_app.extensions["traceport_sessions"]
    row, why = user_sessions.session_status(uow, session_id=sid, user_id=uid, idle_minutes=limits["idle_minutes"])
    if row is None:
        return _ended(why)
    user = auth_service.get_user(uow, user_id=uid)
    if user is None or not user.is_active:
        return _revoke()
    memberships = memberships_of(uow, user_id=uid)
    if session.get("sso_tenant"):
        # A single sign-on session is good only in the tenant whose provider vouched for the
        # user (portal/auth/sso.py): its allowed domains are that tenant's own declaration.
        memberships = [m for m in memberships if str(m.tenant_id) == session["sso_tenant"]]
    wanted = session.get("tenant_id")
    membership = next((m for m in memberships if str(m.tenant_id) == wanted), None)
    if not memberships or (wanted and membership is None):
        return _revoke()
    identity = Identity(user, memberships, membership, session_id=row.id)
    uow.switch_tenant(identity.tenant_id, actor=identity.actor)
    return identity


def _revoke() -> None:
    end_session(reason="access_changed")
    notify(N_("Your access has changed. Please sign in again."))
    return None


def _ended(why: str | None) -> None:
    """The server-side session is over (the row says so already): forget the cookie."""
    limits = current_app.extensions["traceport_sessions"]
    end_session(revoke=False)
    notify(ENDED.get(why, ENDED[user_sessions.UNKNOWN]), minutes=limits["idle_minutes"], hours=limits["absolute_hours"])
    return None


def sign_in(user, memberships: list[MembershipView], method: str = "password") -> MembershipView | None:
    """Start a new session for the user: nothing of the anonymous session survives
    (no fixation), except the language picked on the sign-in page; a new server-side
    session row gets a new id (`method`: password, password+totp, recovery_code, sso)."""
    end_session()
    membership = memberships[0] if len(memberships) == 1 else None
    row = user_sessions.start_session(
        open_uow(),
        user_id=user.id,
        method=method,
        ip=request.remote_addr,
        user_agent=request.user_agent.string,
        absolute_hours=current_app.extensions["traceport_sessions"]["absolute_hours"],
    )
    session["sid"] = str(row.id)
    if membership:
        session["tenant_id"] = str(membership.tenant_id)
    login_user(Identity(user, memberships, membership, session_id=row.id))
    session.permanent = True
    return membership


def choose_tenant(membership: MembershipView) -> None:
    session["tenant_id"] = str(membership.tenant_id)


def end_session(*, revoke: bool = True, reason: str = "signed_out") -> None:
    """Sign this browser out: the server-side session row is revoked (a copy of the
    cookie is worth nothing from now on) and the cookie keeps only the language."""
    if revoke:
        _revoke_row(reason)
    locale = session.get("locale")
    session.clear()
    if "_login_user" in g:
        logout_user()  # the identity was loaded: forget it for the rest of this request too
    if locale:
        session["locale"] = locale


def _revoke_row(reason: str) -> None:
    try:
        sid, uid = uuid.UUID(str(session.get("sid"))), uuid.UUID(str(session.get("_user_id")))
    except ValueError:
        return
    if uow_broken():
        return
    user_sessions.revoke_session(open_uow(), session_id=sid, user_id=uid, reason=reason)


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


class PermissionDenied(Forbidden):
    # The problem type stays "forbidden", as for a service's refusal: one for API clients.
    message = N_("This needs the permission “%(permission)s”, which your role does not have.")


@dataclass(frozen=True)
class Requirement:
    """What a route declared with `permission_required`: any one of `permissions` (none:
    any member), on `side` of the portal (None: either)."""

    permissions: frozenset[str]
    side: str | None

    def allows(self, permissions: frozenset[str], *, is_supplier: bool) -> bool:
        if self.side is not None and is_supplier != (self.side == "supplier"):
            return False
        return not self.permissions or bool(self.permissions & permissions)


def permission_required(*permissions: str, side: str | None = None):
    """Signed in, with a tenant chosen, on `side` of the portal if given, and holding at
    least one of `permissions` (with none named: any member of that side).

    This is where a route declares what it needs, and the only place: the declaration is
    kept on the view (`view.requirement`, listed by `endpoint_requirements(app)`), the
    route-walk test (tests/portal/test_route_matrix.py) checks every route against the
    roles' permissions with it, and the services check the same permissions again.
    Refusals are 403 pages, or problem details under /api/."""
    unknown = set(permissions) - set(PERMISSIONS)
    if unknown:
        raise ValueError(f"unknown permission(s) {sorted(unknown)}")
    if side not in (None, "buyer", "supplier"):
        raise ValueError(f"unknown side {side!r}")
    requirement = Requirement(frozenset(permissions), side)

    def decorate(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return current_app.login_manager.unauthorized()
            if current_user.tenant_id is None:  # (an API client has a tenant and no membership)
                if request.path.startswith("/api/"):
                    raise TenantRequired()
                return redirect(url_for("shell.tenants", next=safe_next(request.full_path)))
            if not requirement.allows(current_user.actor.permissions, is_supplier=current_user.is_supplier):
                _denied(requirement)
            return view(*args, **kwargs)

        wrapped.requirement = requirement
        return wrapped

    return decorate


def _denied(requirement: Requirement):
    """Refuse the request, and note the refusal as a security event (nothing else of the
    request is kept)."""
    side_refused = requirement.side is not None and current_user.is_supplier != (requirement.side == "supplier")
    record_refusal(
        kind="permission_denied",
        severity="info" if request.method in ("GET", "HEAD") else "warning",
        user_id=current_user.id,
        email=current_user.email,
        detail={
            "endpoint": request.endpoint,
            "method": request.method,
            "path": request.path,
            "needs": sorted(requirement.permissions),
            "side": requirement.side,
            "role": current_user.role,
            "actor": current_user.actor.name,  # names an API client, which has no user id
        },
    )
    if side_refused or not requirement.permissions:
        abort(403)
    # Name the permission (the first, if any of several would do) in the page's language.
    raise PermissionDenied(permission=gettext(PERMISSIONS[sorted(requirement.permissions)[0]]))


def endpoint_requirements(app: Flask) -> dict[str, Requirement]:
    """Every endpoint that declared its permission, with what it declared."""
    return {
        endpoint: view.requirement
        for endpoint, view in app.view_functions.items()
        if isinstance(getattr(view, "requirement", None), Requirement)
    }


def can(permission: str) -> bool:
    """For templates: whether the signed-in member holds the permission (hides links and
    buttons; the routes and services decide)."""
    return bool(current_user.is_authenticated and current_user.membership and permission in current_user.actor.permissions)


def api_identity(*, tenant: bool = True) -> Identity:
    """The identity for an API call, or the problem that says why there is none."""
    if not current_user.is_authenticated:
        raise SignInRequired()
    if tenant and current_user.tenant_id is None:
        raise TenantRequired()
    return current_user._get_current_object()
