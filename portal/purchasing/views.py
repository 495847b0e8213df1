"""Purchase order pages on the buyer side."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from erp.purchasing import service as purchasing
from portal.shell import permission_required, request_uow

blueprint = Blueprint("purchasing", __name__, template_folder="templates")


@blueprint.get("/buyer/purchase-orders")
@permission_required("po.view", side="buyer")
def purchase_orders():
    cursor = request.args.get("cursor") or None
    page = purchasing.list_purchase_orders(request_uow(), after=cursor)
    return render_template("purchasing/list.html", page=page, first_page=cursor is None)
