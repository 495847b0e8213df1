"""The shell's own pages: the start page, the tenant picker and switch, the language."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, session, url_for
from flask_login import current_user

from auth import service as auth_service
from portal.shell.forms import LanguageForm, TenantForm
from portal.shell.identity import choose_tenant, home_endpoint, safe_next
from portal.shell.lifecycle import request_uow
from portal.shell.security_log import isolation_denied

blueprint = Blueprint("shell", __name__, template_folder="templates")


@blueprint.get("/")
def index():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    return redirect(url_for(home_endpoint(current_user.membership)))


@blueprint.get("/tenants")
def tenants():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login", next=request.full_path))
    form = TenantForm(next=safe_next(request.args.get("next")))
    return render_template("shell/tenants.html", form=form, memberships=current_user.memberships)


@blueprint.post("/tenants")
def switch_tenant():
    if not current_user.is_authenticated:
        return redirect(url_for("auth.login"))
    form = TenantForm()
    if not form.validate():
        abort(400)
    membership = next((m for m in current_user.memberships if str(m.tenant_id) == form.tenant_id.data), None)
    if membership is None:
        # Another tenant's id (or a made-up one) in the form: refused, and noted.
        isolation_denied(field="tenant_id", value=form.tenant_id.data, where="form")
    choose_tenant(membership)
    # Back to the page that was asked for before the choice, if any.
    return redirect(safe_next(form.next.data) or url_for(home_endpoint(membership)))


@blueprint.post("/language")
def language():
    form = LanguageForm()
    if not form.validate():
        abort(400)
    session["locale"] = form.locale.data
    if current_user.is_authenticated:
        uow = request_uow()
        uow.reason = "language preference"
        auth_service.set_locale(uow, user_id=current_user.id, locale=form.locale.data)
    return redirect(safe_next(form.next.data) or url_for("shell.index"), code=303)
