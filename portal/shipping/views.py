"""Ship notice (ASN) pages: the supplier's list, form (typed or scanned), page and labels;
the buyer's incoming shipments. Views translate HTTP to erp.shipping's services."""

from __future__ import annotations

import uuid

from flask import Blueprint
from flask_babel import gettext
from flask_login import current_user

from erp.shipping import service
from erp.shipping.errors import AsnNotFound
from kernel.errors import N_
from portal.shell import security_log

blueprint = Blueprint("shipping", __name__, template_folder="templates")
# App-wide (pages and API alike): an ASN id of another tenant or supplier in a URL is
# answered "not found" like any unknown id, and noted as a security event.
blueprint.record_once(
    lambda state: security_log.probe_on_not_found(
        state.app,
        AsnNotFound,
        view_arg="asn_id",
        exists_elsewhere=lambda uow, asn_id: service.asn_exists_elsewhere(uow, asn_id=asn_id),
    )
)

STATUS_LABELS = {
    "draft": N_("Draft"),
    "submitted": N_("Submitted"),
    "in_transit": N_("In transit"),
    "partially_received": N_("Partially received"),
    "received": N_("Received"),
    "closed": N_("Closed"),
    "cancelled": N_("Cancelled"),
}
LEVEL_LABELS = {"pallet": N_("Pallet"), "case": N_("Case")}


@blueprint.app_template_global()
def asn_status_label(status: str) -> str:
    return gettext(STATUS_LABELS[status]) if status in STATUS_LABELS else status


@blueprint.app_template_global()
def package_level_label(level: str) -> str:
    return gettext(LEVEL_LABELS[level]) if level in LEVEL_LABELS else level


def visible_asn(uow, asn_id: uuid.UUID) -> service.AsnDetail:
    """The ASN as the caller may see it: a supplier's draft is its own until submitted."""
    detail = service.get_asn(uow, current_user.actor, asn_id=asn_id)
    if detail.asn.status == "draft" and not current_user.is_supplier:
        raise AsnNotFound()
    return detail
