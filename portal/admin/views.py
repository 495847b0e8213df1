"""Tenant administration (members for now; roles, SSO and invitations follow)."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response, render_template
from flask_babel import gettext as _
from flask_login import current_user

from portal.shell import request_uow, tenant_required
from portal.shell.i18n import localized, role_label
from tenants import service as tenants

blueprint = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")


@blueprint.get("/")
@tenant_required(side="buyer")
def members():
    # The service refuses anyone without users.manage (Forbidden -> 403 page).
    return render_template("admin/members.html", members=tenants.list_members(request_uow(), current_user.actor))


@blueprint.get("/members.csv")
@tenant_required(side="buyer")
def members_csv():
    """Access review export (ISO 13485 §4.2.5 records; periodic access reviews)."""
    members = tenants.list_members(request_uow(), current_user.actor)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow([_("Name"), _("Email"), _("Role"), _("Organisation"), _("Status"), _("Last sign-in (UTC)")])
    for m in members:
        writer.writerow(
            [
                m.full_name,
                m.email,
                role_label(m.role),
                localized(m.organisation_name, m.organisation_name_zh),
                _("Active") if m.is_active else _("Inactive"),
                m.last_login_at.strftime("%Y-%m-%d %H:%M") if m.last_login_at else "",
            ]
        )
    # A BOM so that spreadsheet programs read the UTF-8 (Chinese names) correctly.
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=access-review.csv"},
    )
