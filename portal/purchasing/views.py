"""Purchase order pages on the buyer side."""

from __future__ import annotations

from flask import Blueprint

from erp.purchasing import service as purchasing
from erp.purchasing.errors import PurchaseOrderNotFound
from portal.shell import security_log

blueprint = Blueprint("purchasing", __name__, template_folder="templates")
# App-wide (pages and API alike): an order id of another tenant or supplier in a URL is
# answered "not found" like any unknown id, and noted as a security event.
blueprint.record_once(
    lambda state: security_log.probe_on_not_found(
        state.app,
        PurchaseOrderNotFound,
        view_arg="po_id",
        exists_elsewhere=lambda uow, po_id: purchasing.purchase_order_exists_elsewhere(uow, po_id=po_id),
    )
)
