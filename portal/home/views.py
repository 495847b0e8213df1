"""Home pages: one for supplier users, one for the tenant's own people."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from erp.purchasing import service as purchasing
from portal.shell import request_uow, tenant_required

blueprint = Blueprint("home", __name__, template_folder="templates")

RECENT = 5


@blueprint.get("/supplier/")
@tenant_required(side="supplier")
def supplier():
    # Row-level security limits the rows to this supplier's own orders.
    page = purchasing.list_purchase_orders(request_uow(), after=request.args.get("cursor") or None)
    return render_template("home/supplier.html", page=page, first_page=not request.args.get("cursor"))


@blueprint.get("/buyer/")
@tenant_required(side="buyer")
def buyer():
    uow = request_uow()
    summary = purchasing.purchase_order_summary(uow)
    recent = purchasing.list_purchase_orders(uow, limit=RECENT)
    return render_template("home/buyer.html", summary=summary, recent=recent.items)
