"""A purchase order printed as a PDF, for both sides: the order as the caller may see
it (row-level security decides, as on the order's page), in the caller's language,
laid out by weasyprint on A4 pages with a Chinese font for Chinese names and labels.

The page footer (order number, print time, "Page 1 of 2") is written in the template
and placed in the @page margin boxes as running elements, so it is translated like any
other text and the page counters sit wherever the language puts them.
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import weasyprint
from flask import make_response, render_template
from flask_login import current_user
from weasyprint.urls import URLFetcher

from erp.purchasing import confirmation
from kernel.clock import utcnow
from portal.purchasing.orders import LINE_STATUS_LABELS
from portal.purchasing.views import blueprint
from portal.shell import permission_required, request_uow


@blueprint.get("/purchase-orders/<uuid:po_id>.pdf")
@permission_required("po.view")
def purchase_order_pdf(po_id: uuid.UUID):
    detail = confirmation.get_purchase_order_detail(request_uow(), po_id=po_id)
    order = detail.order
    html = render_template(
        "purchasing/print.html",
        detail=detail,
        order=order,
        membership=current_user.membership,
        line_status_labels=LINE_STATUS_LABELS,
        total=sum((d.line.quantity * d.line.unit_price for d in detail.lines if d.line.status != "cancelled"), Decimal(0)),
        printed_at=utcnow(),
    )
    # Nothing is fetched: the stylesheet is inline and the fonts are the system's, so a
    # name typed into an order can never make the server request a URL.
    pdf = weasyprint.HTML(string=html, base_url=blueprint.root_path, url_fetcher=URLFetcher(allowed_protocols=())).write_pdf()
    response = make_response(pdf)
    response.mimetype = "application/pdf"
    response.headers["Content-Disposition"] = f'inline; filename="{order.number}-r{order.revision}.pdf"'
    return response
