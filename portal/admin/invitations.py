"""Invitations: the list, inviting a person, inviting a new supplier company's first
contact, and revoking a pending invitation.

Buyer-side administrators (users.manage) invite colleagues and supplier contacts;
buyers with suppliers.invite invite supplier contacts, and with suppliers.manage may
create the supplier company in the same step; a supplier administrator invites
colleagues into their own company. The service decides who may give which role where;
a tampered form's refusal keeps its security event (keep_changes: nothing else was
written before the refusal).
"""

from __future__ import annotations

import uuid

from flask import abort, redirect, render_template, url_for
from flask_babel import gettext
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from auth.roles import list_roles
from kernel.errors import N_, DomainError
from portal.admin.invitation_forms import InviteForm, InviteSupplierForm
from portal.admin.views import blueprint
from portal.shell import notify, permission_required, request_uow
from portal.shell.forms import PlainForm
from portal.shell.i18n import current_locale, error_text, field_errors, localized, role_name
from portal.shell.lifecycle import keep_changes, runtime
from tenants import invitations as service
from tenants.errors import InvitationNotFound, OrganisationNotInvitable, RoleNotGrantable
from tenants.invitations import STATUS_LABELS
from tenants.models import OrganisationKind

# Refusals of a tampered form: the service recorded a security event before anything else.
LOGGED_REFUSALS = (OrganisationNotInvitable, RoleNotGrantable, InvitationNotFound)


@blueprint.get("/invitations")
@permission_required("users.manage", "suppliers.invite")
def invitations():
    return _page()


@blueprint.post("/invitations")
@permission_required("users.manage", "suppliers.invite")
def invite():
    form = _with_choices(InviteForm())
    if not form.validate_on_submit():
        return _page(invite_form=form, status=422)
    uow, settings = request_uow(), runtime().settings
    try:
        invitation = service.invite(
            uow,
            current_user.actor,
            email=form.email.data,
            full_name=form.full_name.data,
            organisation_id=form.organisation_id.data,
            role=form.role.data or "",
            locale=form.locale.data,
            expiry_days=settings.invitation_days,
            base_url=settings.base_url,
        )
    except DomainError as error:
        return _refused(error, invite_form=form)
    notify(N_("Invitation sent to %(email)s."), email=invitation.email)
    return redirect(url_for("admin.invitations"), code=303)


@blueprint.post("/invitations/supplier")
@permission_required("suppliers.manage", side="buyer")
def invite_supplier():
    form = InviteSupplierForm(prefix="supplier")
    if not form.validate_on_submit():
        return _page(supplier_form=form, status=422)
    uow, settings = request_uow(), runtime().settings
    try:
        invitation = service.invite_new_supplier(
            uow,
            current_user.actor,
            code=form.code.data,
            name=form.name.data,
            name_zh=form.name_zh.data,
            country=form.country.data,
            email=form.email.data,
            full_name=form.full_name.data,
            locale=form.locale.data,
            expiry_days=settings.invitation_days,
            base_url=settings.base_url,
        )
    except DomainError as error:
        return _refused(error, supplier_form=form)
    notify(N_("Invitation sent to %(email)s."), email=invitation.email)
    return redirect(url_for("admin.invitations"), code=303)


@blueprint.post("/invitations/<uuid:invitation_id>/revoke")
@permission_required("users.manage", "suppliers.invite")
def revoke_invitation(invitation_id: uuid.UUID):
    form = PlainForm()
    if not form.validate_on_submit():
        abort(400)
    uow = request_uow()
    try:
        invitation = service.revoke_invitation(uow, current_user.actor, invitation_id=invitation_id)
    except InvitationNotFound:
        keep_changes()  # the isolation event, and nothing else
        raise
    notify(N_("The invitation to %(email)s was revoked; its link no longer works."), email=invitation.email)
    return redirect(url_for("admin.invitations"), code=303)


def _refused(error: DomainError, **forms):
    if isinstance(error, LOGGED_REFUSALS):
        keep_changes()
    for form in forms.values():
        for name, message in field_errors(error).items():
            if name in form:
                form[name].errors = [message]
    params = dict(error.params)
    if "role" in params:
        params["role"] = _role_names().get(params["role"], params["role"])
    return _page(error=gettext(error.message, **params) if params else error_text(error), status=error.status, **forms)


def _role_names() -> dict[str, str]:
    return {role.key: role_name(role) for role in list_roles(request_uow())}


def _with_choices(form: InviteForm) -> InviteForm:
    uow, actor = request_uow(), current_user.actor
    organisations = service.invitable_organisations(uow, actor)
    form.organisation_id.choices = [
        SelectChoice(
            str(org.id),
            gettext("%(name)s (your company)", name=localized(org.name, org.name_zh))
            if org.kind == OrganisationKind.TENANT
            else f"{localized(org.name, org.name_zh)} ({org.code})",
        )
        for org in organisations
    ]
    groups = {"supplier": gettext("Roles for a supplier company"), "buyer": gettext("Roles for your own company")}
    roles = sorted(service.invitable_roles(uow, actor), key=lambda r: r.side != "supplier")
    form.role.choices = [SelectChoice(r.key, role_name(r), optgroup=groups[r.side]) for r in roles]
    return form


def _page(*, invite_form=None, supplier_form=None, error: str | None = None, status: int = 200):
    uow, actor = request_uow(), current_user.actor
    if invite_form is None:
        invite_form = InviteForm(locale=current_locale(), role="supplier_admin")
    _with_choices(invite_form)
    can_create_supplier = not actor.is_supplier and "suppliers.manage" in actor.permissions
    if supplier_form is None and can_create_supplier:
        supplier_form = InviteSupplierForm(prefix="supplier", locale=current_locale())
    rows = service.list_invitations(uow, actor)
    html = render_template(
        "admin/invitations.html",
        invitations=rows,
        invite_form=invite_form,
        supplier_form=supplier_form if can_create_supplier else None,
        status_labels=STATUS_LABELS,
        role_names=_role_names(),
        error=error,
        expiry_days=runtime().settings.invitation_days,
    )
    return html, status
