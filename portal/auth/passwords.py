"""Password pages: forgot (ask for a link), reset (through the link), change (signed in).

Asking for a link answers the same for every address (a redirect to the same page), so
the page tells nobody whether an address has a login. A refused link - unknown,
expired or used - gets one page, and its security event outlives the 404 (the
request's transaction holds nothing else).
"""

from __future__ import annotations

from flask import make_response, redirect, render_template, url_for
from flask_login import current_user

from auth import resets
from auth import service as auth_service
from auth.errors import AccountLocked, ResetLinkInvalid, WeakPassword, WrongCurrentPassword
from kernel.errors import N_
from kernel.uow import Actor
from portal.auth.password_forms import ChangePasswordForm, ForgotPasswordForm, ResetPasswordForm
from portal.auth.views import blueprint
from portal.shell.i18n import error_text
from portal.shell.identity import end_session, home_endpoint, notify, permission_required
from portal.shell.lifecycle import keep_changes, request_uow, runtime
from portal.shell.throttle import login_throttle


def no_store(body: str, status: int = 200):
    """A page whose address holds a secret token: never kept in a cache."""
    response = make_response(body, status)
    response.headers["Cache-Control"] = "no-store"
    return response


@blueprint.route("/password/forgot", methods=["GET", "POST"])
@login_throttle
def forgot_password():
    form = ForgotPasswordForm()
    if not form.validate_on_submit():
        return render_template("auth/forgot_password.html", form=form)
    uow = request_uow()
    uow.switch_tenant(None, actor=Actor.system("password-reset"))
    settings = runtime().settings
    resets.request_password_reset(uow, email=form.email.data, base_url=settings.base_url, minutes=settings.password_reset_minutes)
    # The same answer whether or not the address has a login.
    return redirect(url_for("auth.forgot_password_sent"), code=303)


@blueprint.get("/password/forgot/sent")
def forgot_password_sent():
    return render_template("auth/forgot_password_sent.html", minutes=runtime().settings.password_reset_minutes)


@blueprint.route("/password/reset/<token>", methods=["GET", "POST"])
@login_throttle
def reset_password(token: str):
    uow = request_uow()
    uow.switch_tenant(None, actor=Actor.system("password-reset"))
    form = ResetPasswordForm()
    try:
        _, user = resets.find_reset(uow, token=token)
        if not form.validate_on_submit():
            return no_store(render_template("auth/reset_password.html", form=form, email=user.email, min_length=_min_length()))
        resets.reset_password(uow, token=token, password=form.password.data, min_length=runtime().settings.password_min_length)
    except ResetLinkInvalid as error:
        keep_changes()  # the "reset_refused" event, and nothing else
        page = render_template("auth/link_invalid.html", message=error_text(error), again=url_for("auth.forgot_password"))
        return no_store(page, error.status)
    except WeakPassword as error:
        form.password.errors = [error_text(error)]
        page = render_template("auth/reset_password.html", form=form, email=user.email, min_length=_min_length())
        return no_store(page, error.status)
    # Every session of the login has ended, this browser's too if it had one.
    if current_user.is_authenticated:
        end_session(revoke=False)
    notify(N_("Your password has been changed. Sign in with your new password."))
    return redirect(url_for("auth.login"), code=303)


@blueprint.route("/account/password", methods=["GET", "POST"])
@permission_required()
def change_password():
    form = ChangePasswordForm()
    if not form.validate_on_submit():
        return render_template("auth/change_password.html", form=form, min_length=_min_length())
    uow = request_uow()
    uow.reason = "password change"
    try:
        auth_service.change_password(
            uow,
            user_id=current_user.id,
            current_password=form.current.data,
            new_password=form.password.data,
            settings=runtime().settings,
            keep_session_id=current_user.session_id,
        )
    except (WrongCurrentPassword, AccountLocked) as error:
        keep_changes()  # the failed attempt counts (lockout), and nothing else was written
        form.current.errors = [error_text(error)]
        return render_template("auth/change_password.html", form=form, min_length=_min_length()), error.status
    except WeakPassword as error:
        form.password.errors = [error_text(error)]
        return render_template("auth/change_password.html", form=form, min_length=_min_length()), error.status
    notify(N_("Your password has been changed. You have been signed out everywhere else."))
    return redirect(url_for(home_endpoint(current_user.membership)), code=303)


def _min_length() -> int:
    return runtime().settings.password_min_length
