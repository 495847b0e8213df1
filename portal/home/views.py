"""Home pages: one for supplier users, one for the tenant's own people."""

from __future__ import annotations

from flask import Blueprint, render_template, request
from flask_login import current_user

from erp.purchasing import service as purchasing
from portal.shell import permission_required, request_uow
from portal.shell.identity import can
from tenants import service as tenants

blueprint = Blueprint("home", __name__, template_folder="templates")

RECENT = 5


# Every member of a side lands on its home page, whatever their role; the sections they
# have no permission for are left out.
@blueprint.get("/supplier/")
@permission_required(side="supplier")
def supplier():
    uow = request_uow()
    organisation_id = current_user.membership.organisation_id
    company = tenants.organisations_by_id(uow, ids=[organisation_id])[organisation_id]
    if not can("po.view"):
        return render_template("home/supplier.html", company=company, page=None, first_page=True)
    # Row-level security limits the rows to this supplier's own orders.
    page = purchasing.list_purchase_orders(uow, after=request.args.get("cursor") or None)
    return render_template("home/supplier.html", company=company, page=page, first_page=not request.args.get("cursor"))


@blueprint.get("/buyer/")
@permission_required(side="buyer")
def buyer():
    if not can("po.view"):
        return render_template("home/buyer.html", summary=None, recent=None)
    uow = request_uow()
    summary = purchasing.purchase_order_summary(uow)
    recent = purchasing.list_purchase_orders(uow, limit=RECENT)
    return render_template("home/buyer.html", summary=summary, recent=recent.items)
