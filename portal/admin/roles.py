"""Roles: the matrix of who can do what, and the tenant's own roles.

The matrix reads the permission list in code (auth.permissions.PERMISSIONS) and the
tenant's roles; the routes declare their permission with `permission_required`, which
tests/portal/test_route_matrix.py checks against every role - so the screen, the routes
and the services cannot drift apart unnoticed.
"""

from __future__ import annotations

from flask import redirect, render_template, request, url_for
from flask_babel import gettext
from flask_login import current_user

from auth import roles as role_service
from auth.errors import BuiltinRoleProtected, OwnRoleLockout, RoleNotFound
from auth.permissions import PERMISSIONS
from auth.roles import SIDES, side_permissions
from kernel.errors import N_, ValidationFailed
from portal.admin.forms import BuiltinRoleForm, NewRoleForm, RoleForm
from portal.admin.views import blueprint
from portal.shell import notify, permission_required, request_uow
from portal.shell.forms import PlainForm, show_errors
from portal.shell.i18n import role_name


def permission_label(name: str) -> str:
    return gettext(PERMISSIONS[name])


@blueprint.get("/roles")
@permission_required("roles.manage", "users.manage")
def roles():
    matrix = role_service.role_matrix(request_uow(), current_user.actor)
    return render_template(
        "admin/roles.html",
        matrix=matrix,
        permission_label=permission_label,
        sides=[side for side in SIDES if any(role.side == side for role in matrix.roles)],
    )


@blueprint.route("/roles/new", methods=["GET", "POST"])
@permission_required("roles.manage")
def new_role():
    side = request.args.get("side", "buyer")
    if side not in SIDES:
        side = "buyer"
    form = NewRoleForm()
    _offer(form, side)
    error = None
    if form.validate_on_submit():
        uow = request_uow()
        uow.reason = "role created"
        try:
            role = role_service.create_role(
                uow,
                current_user.actor,
                key=form.key.data,
                name=form.name.data,
                name_zh=form.name_zh.data,
                side=side,
                permissions=form.permissions.data or [],
            )
        except ValidationFailed as failed:
            error = show_errors(form, failed)
        else:
            notify(N_("The role %(name)s was created."), name=role.name)
            return redirect(url_for("admin.roles"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template("admin/role_form.html", form=form, role=None, side=side, error=error), status


@blueprint.route("/roles/<key>/edit", methods=["GET", "POST"])
@permission_required("roles.manage")
def edit_role(key: str):
    uow = request_uow()
    role = role_service.get_role(uow, key=key)
    if role is None:
        raise RoleNotFound()
    form_class = BuiltinRoleForm if role.is_builtin else RoleForm
    form = form_class(obj=role)  # on a POST, the submitted values win
    _offer(form, role.side)
    error = None
    if form.validate_on_submit():
        uow.reason = "role edited"
        names = {} if role.is_builtin else {"name": form.name.data, "name_zh": form.name_zh.data}
        try:
            role_service.update_role(uow, current_user.actor, key=key, permissions=form.permissions.data or [], **names)
        except (ValidationFailed, OwnRoleLockout, BuiltinRoleProtected) as failed:
            error = show_errors(form, failed)
        else:
            notify(N_("The role %(name)s was saved. Its members have the new permissions from their next step."), name=role.name)
            return redirect(url_for("admin.roles"), code=303)
    status = 422 if request.method == "POST" else 200
    return render_template(
        "admin/role_form.html", form=form, role=role, side=role.side, error=error, delete_form=PlainForm()
    ), status


@blueprint.post("/roles/<key>/delete")
@permission_required("roles.manage")
def delete_role(key: str):
    uow = request_uow()
    uow.reason = "role deleted"
    role = role_service.get_role(uow, key=key)
    name = role_name(role) if role is not None else key
    role_service.delete_role(uow, current_user.actor, key=key)
    notify(N_("The role %(name)s was deleted."), name=name)
    return redirect(url_for("admin.roles"), code=303)


def _offer(form, side: str) -> None:
    """Checkboxes for the side's permissions only, in the list's order."""
    allowed = side_permissions(side)
    form.permissions.choices = [(name, permission_label(name)) for name in PERMISSIONS if name in allowed]
