"""Sign-in with a password, and sign-out."""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for
from flask_login import current_user

from auth import service as auth_service
from auth.errors import AccountLocked, InvalidCredentials, NoMembership
from kernel.errors import N_
from kernel.uow import Actor
from portal.auth.forms import LoginForm
from portal.auth.pending import ask_for_second_factor
from portal.shell.forms import PlainForm
from portal.shell.i18n import error_text
from portal.shell.identity import end_session, home_endpoint, notify, safe_next, sign_in
from portal.shell.lifecycle import keep_changes, request_uow, runtime
from portal.shell.throttle import login_throttle
from tenants.service import memberships_of

blueprint = Blueprint("auth", __name__, template_folder="templates")


@blueprint.route("/login", methods=["GET", "POST"])
@login_throttle
def login():
    if current_user.is_authenticated:
        return redirect(url_for("shell.index"))
    form = LoginForm()
    next_url = safe_next(request.args.get("next"))
    if not form.validate_on_submit():
        return render_template("auth/login.html", form=form, next_url=next_url)
    uow = request_uow()
    # Who acts is not known until the password is checked; the trail names the step.
    uow.switch_tenant(None, actor=Actor.system("sign-in"))
    uow.reason = "password sign-in"
    try:
        user = auth_service.authenticate(uow, email=form.email.data, password=form.password.data, settings=runtime().settings)
    except (InvalidCredentials, AccountLocked) as error:
        # The failure counter, the lockout and their security events outlive the refusal.
        keep_changes()
        # One message for an unknown email and a wrong password: no enumeration.
        return render_template("auth/login.html", form=form, next_url=next_url, error=error_text(error)), error.status
    try:
        uow.switch_tenant(None, actor=Actor(user_id=user.id, name=user.email))
        memberships = memberships_of(uow, user_id=user.id)
        if not memberships:
            raise NoMembership()
    except NoMembership as error:
        # One message for an unknown email and a wrong password: no enumeration.
        return render_template("auth/login.html", form=form, next_url=next_url, error=error_text(error)), error.status
    if user.totp_enabled_at is not None:
        # The password is right; the second factor comes next (portal/auth/second_factor.py).
        return ask_for_second_factor(user, next_url)
    membership = sign_in(user, memberships)
    if membership is None:
        return redirect(url_for("shell.tenants", next=next_url))
    return redirect(next_url or url_for(home_endpoint(membership)))


@blueprint.post("/logout")
def logout():
    form = PlainForm()
    if form.validate_on_submit() and current_user.is_authenticated:
        end_session()
        notify(N_("You have signed out."))
    return redirect(url_for("auth.login"), code=303)
