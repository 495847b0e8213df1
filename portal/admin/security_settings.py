"""The tenant's sign-in rules: whether its members must use a second factor."""

from __future__ import annotations

from flask import redirect, render_template, url_for
from flask_babel import gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import RadioField

from kernel.errors import N_, ValidationFailed
from portal.admin.views import blueprint
from portal.shell import notify, permission_required, request_uow
from portal.shell.i18n import field_errors
from tenants.security import MFA_POLICIES, get_mfa_policy, set_mfa_policy


class SecondFactorRuleForm(FlaskForm):
    # Labels are set per request, in the page's language.
    policy = RadioField(choices=[], validate_choice=False)


@blueprint.route("/security-settings", methods=["GET", "POST"])
@permission_required("roles.manage", side="buyer")
def security_settings():
    uow = request_uow()
    actor = current_user.actor
    current = get_mfa_policy(uow, actor)
    form = SecondFactorRuleForm(data={"policy": current})
    form.policy.choices = [(key, gettext(label)) for key, label in MFA_POLICIES.items()]
    status = 200
    if form.validate_on_submit():
        try:
            set_mfa_policy(uow, actor, policy=form.policy.data)
        except ValidationFailed as error:
            form.policy.errors = list(field_errors(error).values())
            status = error.status
        else:
            notify(N_("The second-factor rule is saved."))
            return redirect(url_for("admin.security_settings"), code=303)
    return render_template("admin/security_settings.html", form=form, current=current), status
