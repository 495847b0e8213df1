"""The second step of signing in, for an account with a second factor: the current
code from the authenticator app, or one of the recovery codes.

After a correct password the login view does not sign in: it keeps a pending marker
in the (signed) session cookie - who, since when, where to go next - and sends the
browser here. The marker is good for PENDING_SECONDS; only a good code signs in. A
wrong code counts against the account like a wrong password (auth.mfa), so the
lockout ends a guessing attack on the six digits. The view is its own endpoint
(auth.login_verify), so per-address throttling can be put on it alone.
"""

from __future__ import annotations

from flask import redirect, render_template, request, session, url_for
from flask_login import current_user

from auth import mfa
from auth import service as auth_service
from auth.errors import NoMembership
from kernel.crypto import FieldCipher
from kernel.errors import N_, DomainError
from kernel.uow import Actor
from portal.auth.forms import SecondFactorForm
from portal.auth.pending import PENDING_KEY, pending_user_id
from portal.auth.views import blueprint
from portal.shell.i18n import error_text
from portal.shell.identity import home_endpoint, notify, safe_next, sign_in
from portal.shell.lifecycle import keep_changes, request_uow, runtime
from portal.shell.throttle import login_throttle
from tenants.service import memberships_of


@blueprint.route("/login/verify", methods=["GET", "POST"])
@login_throttle
def login_verify():
    if current_user.is_authenticated:
        return redirect(url_for("shell.index"))
    user_id = pending_user_id()
    if user_id is None:
        session.pop(PENDING_KEY, None)
        notify(N_("Your sign-in took too long. Please enter your email and password again."))
        return redirect(url_for("auth.login"))
    recovery = request.args.get("recovery") == "1"
    form = SecondFactorForm()
    if not form.validate_on_submit():
        return render_template("auth/verify.html", form=form, recovery=recovery)

    uow = request_uow()
    # The password is proved; the account is known. The trail names the step.
    uow.switch_tenant(None, actor=Actor(user_id=user_id, name=str(user_id)))
    uow.reason = "second-factor sign-in"
    user = auth_service.get_user(uow, user_id=user_id)
    if user is None or not user.is_active or user.totp_enabled_at is None:
        session.pop(PENDING_KEY, None)
        return redirect(url_for("auth.login"))
    uow.switch_tenant(None, actor=Actor(user_id=user.id, name=user.email))
    settings = runtime().settings
    try:
        method = mfa.verify_second_factor(
            uow, user=user, code=form.code.data, cipher=FieldCipher.from_settings(settings), settings=settings
        )
        memberships = memberships_of(uow, user_id=user.id)
        if not memberships:
            raise NoMembership()
    except DomainError as error:  # a wrong code, a locked account, no membership left
        # The failed attempt (and a lockout it caused) must stay although this answers 4xx.
        keep_changes()
        return render_template("auth/verify.html", form=form, recovery=recovery, error=error_text(error)), error.status
    next_url = (session.get(PENDING_KEY) or {}).get("next")
    membership = sign_in(user, memberships, method="password+totp" if method == "totp" else "recovery_code")
    if method == "recovery":
        notify(
            N_("You signed in with a recovery code; it cannot be used again. %(left)d recovery codes are left."),
            left=mfa.recovery_codes_left(uow, user_id=user.id),
        )
    if membership is None:
        return redirect(url_for("shell.tenants", next=safe_next(next_url)))
    return redirect(safe_next(next_url) or url_for(home_endpoint(membership)))
