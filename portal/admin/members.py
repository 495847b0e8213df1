"""Members: the tenant's people (its administrators), or a supplier administrator's own
company's users; changing a member's role and revoking a membership."""

from __future__ import annotations

import uuid

from flask import redirect, render_template, url_for
from flask_babel import lazy_gettext
from flask_login import current_user

from auth.roles import list_roles
from kernel.errors import N_, DomainError
from portal.admin.forms import MemberRoleForm
from portal.admin.views import blueprint
from portal.shell import notify, permission_required, request_uow
from portal.shell.forms import PlainForm
from portal.shell.i18n import role_name
from portal.shell.lifecycle import keep_changes
from tenants import service as tenants
from tenants.errors import MembershipNotFound, RoleNotGrantable

TITLES = {
    "buyer": (
        lazy_gettext("Members"),
        lazy_gettext("Everyone with access to this organisation's portal, with their role and company."),
    ),
    "supplier": (
        lazy_gettext("My company's users"),
        lazy_gettext("The people of your company with access to this customer's portal."),
    ),
}


@blueprint.get("/")
@permission_required("users.manage", side="buyer")
def members():
    return _members_page("buyer")


@blueprint.get("/company")
@permission_required("users.manage", side="supplier")
def company_members():
    # Row-level security limits the memberships to the supplier's own company.
    return _members_page("supplier")


def _members_page(side: str):
    uow, actor = request_uow(), current_user.actor
    members = tenants.list_members(uow, actor)
    grantable = tenants.assignable_roles(uow, actor)
    roles = {role.key: role for role in list_roles(uow)}
    rows = []
    for member in members:
        choices = [r for r in grantable if (r.side == "supplier") == member.is_supplier]
        current = roles.get(member.role)
        manageable = (
            member.membership_active
            and member.membership_id != actor.membership_id
            and current is not None
            and tenants.grantable(actor, current)
            and bool(choices)
        )
        form = None
        if manageable:
            form = MemberRoleForm(prefix=f"m{member.membership_id.hex}", role=member.role)
            form.role.choices = [(r.key, role_name(r)) for r in choices]
        rows.append((member, form))
    title, lead = TITLES[side]
    return render_template(
        "admin/members.html",
        members=members,
        rows=rows,
        role_names={key: role_name(role) for key, role in roles.items()},
        title=title,
        lead=lead,
        side=side,
    )


def _back(side_is_supplier: bool):
    return redirect(url_for("admin.company_members" if side_is_supplier else "admin.members"), code=303)


@blueprint.post("/members/<uuid:membership_id>/role")
@permission_required("users.manage")
def change_role(membership_id: uuid.UUID):
    form = MemberRoleForm(prefix=f"m{membership_id.hex}")
    uow = request_uow()
    uow.reason = "member role changed by an administrator"
    try:
        tenants.change_member_role(uow, current_user.actor, membership_id=membership_id, role=form.role.data or "")
    except (RoleNotGrantable, MembershipNotFound) as error:
        # Refused before anything changed: keep only the security event the service wrote.
        keep_changes()
        raise _with_role_name(error) from None
    except DomainError as error:
        raise _with_role_name(error) from None
    notify(N_("The role was changed. It applies from the member's next step in the portal."))
    return _back(current_user.is_supplier)


@blueprint.route("/members/<uuid:membership_id>/revoke", methods=["GET", "POST"])
@permission_required("users.manage")
def revoke(membership_id: uuid.UUID):
    uow = request_uow()
    try:
        member = tenants.get_member(uow, current_user.actor, membership_id=membership_id)
    except MembershipNotFound:
        keep_changes()  # nothing but the security event the service wrote
        raise
    form = PlainForm()
    if not form.validate_on_submit():
        roles = {role.key: role for role in list_roles(uow)}
        name = role_name(roles[member.role]) if member.role in roles else member.role
        return render_template("admin/revoke.html", member=member, role=name, form=form)
    uow.reason = "membership revoked by an administrator"
    tenants.revoke_membership(uow, current_user.actor, membership_id=membership_id)
    notify(N_("%(name)s no longer has access."), name=member.full_name)
    return _back(current_user.is_supplier)


def _with_role_name(error: DomainError) -> DomainError:
    """The error with the role's name in the page's language in place of its key."""
    key = error.params.get("role")
    if key:
        role = {r.key: r for r in list_roles(request_uow())}.get(key)
        if role is not None:
            error.params["role"] = role_name(role)
    return error
