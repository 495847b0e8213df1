"""Tenant administration (members for now; roles, SSO and invitations follow)."""

from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user

from portal.shell import request_uow, tenant_required
from tenants import service as tenants

blueprint = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")


@blueprint.get("/")
@tenant_required(side="buyer")
def members():
    # The service refuses anyone without users.manage (Forbidden -> 403 page).
    return render_template("admin/members.html", members=tenants.list_members(request_uow(), current_user.actor))
