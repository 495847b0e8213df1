"""The tenant's rejection reasons: list, add, retire and bring back."""

from __future__ import annotations

from flask import abort, redirect, render_template, url_for
from flask_babel import lazy_gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import StringField

from erp.purchasing import reasons
from kernel.errors import N_, ValidationFailed
from portal.purchasing.views import blueprint
from portal.shell import notify, permission_required, request_uow
from portal.shell.forms import PlainForm
from portal.shell.i18n import error_text, field_errors


class ReasonForm(FlaskForm):
    # Lengths and characters are the service's to check, with its messages.
    code = StringField(lazy_gettext("Reason code"), description=lazy_gettext("Short, for the API and exports, such as tooling."))
    name = StringField(lazy_gettext("Name in English"))
    name_zh = StringField(lazy_gettext("Name in Chinese (optional)"))


@blueprint.get("/buyer/reason-codes")
@permission_required("po.manage", side="buyer")
def reason_codes():
    return _page(ReasonForm())


@blueprint.post("/buyer/reason-codes")
@permission_required("po.manage", side="buyer")
def add_reason_code():
    form = ReasonForm()
    if not form.validate_on_submit():
        return _page(form, 400)
    try:
        reasons.add_reason_code(
            request_uow(), current_user.actor, code=form.code.data, name=form.name.data, name_zh=form.name_zh.data
        )
    except ValidationFailed as error:
        for name, message in field_errors(error).items():
            if name in form:
                form[name].errors = [message]
        return _page(form, error.status)
    notify(N_("The reason is added; suppliers can choose it now."))
    return redirect(url_for("purchasing.reason_codes"), code=303)


@blueprint.post("/buyer/reason-codes/<code>/retire")
@permission_required("po.manage", side="buyer")
def retire_reason_code(code: str):
    return _set_active(code, active=False)


@blueprint.post("/buyer/reason-codes/<code>/restore")
@permission_required("po.manage", side="buyer")
def restore_reason_code(code: str):
    return _set_active(code, active=True)


def _set_active(code: str, *, active: bool):
    if not PlainForm().validate_on_submit():
        abort(400)
    try:
        reasons.set_reason_active(request_uow(), current_user.actor, code=code, active=active)
    except ValidationFailed as error:
        return _page(ReasonForm(formdata=None), error.status, error=error)
    notify(N_("The reason is offered again.") if active else N_("The reason is retired; suppliers no longer see it."))
    return redirect(url_for("purchasing.reason_codes"), code=303)


def _page(form: ReasonForm, status: int = 200, error=None):
    found = reasons.list_reason_codes(request_uow(), current_user.actor)
    message = error_text(error) if error is not None else None
    return render_template("purchasing/reason_codes.html", codes=found, form=form, error=message), status
