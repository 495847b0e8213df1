"""Taking up an invitation: `/invitations/<token>`.

The page names the tenant, the organisation and the role. A new person chooses their
name and a password; a person with a Traceport login proves it with its password (or,
signed in already with the invited address, just confirms). Either way they are signed
in, in the invitation's tenant, and land on their home page. A refused link - unknown,
expired, revoked or used - gets one page whatever the reason; its security event
outlives the 404 (the request's transaction holds nothing else).
"""

from __future__ import annotations

from flask import make_response, redirect, render_template, url_for
from flask_login import current_user

from auth import service as auth_service
from auth.errors import AccountLocked, InvalidCredentials, WeakPassword
from kernel.errors import N_, DomainError
from portal.auth.password_forms import AcceptInvitationForm, JoinSignedInForm, JoinWithLoginForm
from portal.auth.pending import ask_for_second_factor
from portal.auth.views import blueprint
from portal.shell.i18n import error_text, field_errors, localized
from portal.shell.identity import choose_tenant, home_endpoint, notify, sign_in
from portal.shell.lifecycle import keep_changes, request_uow, runtime
from portal.shell.throttle import login_throttle
from tenants import invitations
from tenants.errors import InvitationInvalid
from tenants.service import memberships_of


@blueprint.route("/invitations/<token>", methods=["GET", "POST"])
@login_throttle
def invitation(token: str):
    uow = request_uow()
    signed_in_as = current_user.email if current_user.is_authenticated else None
    try:
        details = invitations.find_invitation(uow, token=token)
    except InvitationInvalid as error:
        return _invalid(error)
    same_person = signed_in_as is not None and signed_in_as.lower() == details.email.lower()
    if same_person:
        form = JoinSignedInForm()
    elif details.has_login:
        form = JoinWithLoginForm()
    else:
        form = AcceptInvitationForm(full_name=details.invitation.full_name)
    page = {
        "details": details,
        "form": form,
        "signed_in_as": signed_in_as,
        "same_person": same_person,
        "min_length": runtime().settings.password_min_length,
    }
    if not form.validate_on_submit():
        return _page(page)
    try:
        user = invitations.accept_invitation(
            uow,
            token=token,
            password=getattr(form, "password", None) and form.password.data,
            full_name=getattr(form, "full_name", None) and form.full_name.data,
            existing_user=auth_service.get_user(uow, user_id=current_user.id) if same_person else None,
            settings=runtime().settings,
        )
    except InvitationInvalid as error:
        return _invalid(error)
    except (InvalidCredentials, AccountLocked) as error:
        keep_changes()  # the failed attempt counts towards the lockout, and nothing else was written
        form.password.errors = [error_text(error)]
        return _page(page, error.status)
    except WeakPassword as error:
        form.password.errors = [error_text(error)]
        return _page(page, error.status)
    except DomainError as error:
        for name, message in field_errors(error).items():
            if name in form:
                form[name].errors = [message]
        return _page({**page, "error": error_text(error)}, error.status)
    memberships = memberships_of(uow, user_id=user.id)
    membership = next(m for m in memberships if m.tenant_id == details.tenant_id)
    if user.totp_enabled_at is not None and not same_person:
        # The membership stands; signing in still takes the person's second factor.
        return ask_for_second_factor(user, url_for(home_endpoint(membership)))
    sign_in(user, memberships)
    choose_tenant(membership)
    notify(N_("Welcome to %(tenant)s."), tenant=localized(details.tenant_name, details.tenant_name_zh))
    return redirect(url_for(home_endpoint(membership)), code=303)


def _page(context: dict, status: int = 200):
    response = make_response(render_template("auth/invitation.html", **context), status)
    response.headers["Cache-Control"] = "no-store"
    return response


def _invalid(error: DomainError):
    keep_changes()  # the "invitation_refused" event, and nothing else
    page = render_template("auth/link_invalid.html", message=error_text(error), again=None)
    response = make_response(page, error.status)
    response.headers["Cache-Control"] = "no-store"
    return response
