"""Tenant administration: the blueprint, and the access review export. Members and
roles have their own modules (members.py, roles.py), which add their routes here."""

from __future__ import annotations

import csv
import io

from flask import Blueprint, Response
from flask_babel import gettext as _
from flask_login import current_user

from portal.shell import permission_required, request_uow
from portal.shell.i18n import localized, role_label
from portal.shell.security_log import record_export
from tenants import service as tenants

blueprint = Blueprint("admin", __name__, url_prefix="/admin", template_folder="templates")


# The members page, member actions and roles: portal/admin/members.py, portal/admin/roles.py.


@blueprint.get("/members.csv")
@permission_required("users.manage", side="buyer")
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
                role_label(m.role, m.role_name, m.role_name_zh),
                localized(m.organisation_name, m.organisation_name_zh),
                _("Active") if m.is_active else _("Inactive"),
                m.last_login_at.strftime("%Y-%m-%d %H:%M") if m.last_login_at else "",
            ]
        )
    record_export(what="access_review", rows=len(members))
    # A BOM so that spreadsheet programs read the UTF-8 (Chinese names) correctly.
    return Response(
        "\ufeff" + out.getvalue(),
        mimetype="text/csv",
        headers={"Content-Disposition": "attachment; filename=access-review.csv"},
    )
