"""The purchase order lists people use all day: the buyer's (/buyer/purchase-orders) and
the supplier's (/supplier/purchase-orders). Both filter by status, item, order date and
"needs my action" (the buyer also by supplier), sort by a column, page by cursor, and
export every matching order as CSV with the same filters.

The filters travel in the query string, so a filtered list is a link to keep or share.
An export holds at most EXPORT_MAX_ROWS orders; more is refused with a message asking to
narrow the filters (a file silently cut short would be worse). It is built in memory -
50,000 rows are a few megabytes - and recorded as a bulk export (security log), as the
item export is.
"""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from babel.numbers import get_currency_precision
from flask import render_template, request, url_for
from flask_babel import gettext, to_user_timezone

from erp.purchasing import service as purchasing
from erp.purchasing.errors import TooManyRows
from erp.purchasing.models import STATUSES
from erp.tabular import csv_bytes, spreadsheet_text
from kernel.errors import N_, ValidationFailed
from portal.purchasing.views import blueprint
from portal.shell import permission_required, request_uow
from portal.shell.files import csv_response
from portal.shell.forms import uuid_or_none
from portal.shell.i18n import error_text, field_errors, localized, status_label
from portal.shell.security_log import record_export
from tenants import service as tenants

EXPORT_MAX_ROWS = 50_000
NOT_AN_ID = N_("Choose one of the options offered.")
NOT_A_DATE = N_("Enter a date as YYYY-MM-DD.")
FILTER_ARGS = ("status", "supplier_id", "item_id", "ordered_from", "ordered_to", "open_only", "needs_action")
# The sort each column header switches to first; clicked again, the other direction.
HEADER_SORTS = {"number": "number", "order_date": "-order_date"}
SORT_LABELS = {
    "-created": N_("Newest first"),
    "created": N_("Oldest first"),
    "-order_date": N_("Order date, latest first"),
    "order_date": N_("Order date, earliest first"),
    "number": N_("Number, ascending"),
    "-number": N_("Number, descending"),
}
assert set(SORT_LABELS) == set(purchasing.SORTS)
SIDES = {
    "buyer": ("purchasing.purchase_orders", "purchasing.export_purchase_orders"),
    "supplier": ("purchasing.supplier_purchase_orders", "purchasing.supplier_export_purchase_orders"),
}


@blueprint.get("/buyer/purchase-orders")
@permission_required("po.view", side="buyer")
def purchase_orders():
    return _list("buyer")


@blueprint.get("/buyer/purchase-orders/export.csv")
@permission_required("po.view", side="buyer")
def export_purchase_orders():
    return _export("buyer")


@blueprint.get("/supplier/purchase-orders")
@permission_required("po.view", side="supplier")
def supplier_purchase_orders():
    return _list("supplier")


@blueprint.get("/supplier/purchase-orders/export.csv")
@permission_required("po.view", side="supplier")
def supplier_export_purchase_orders():
    return _export("supplier")


def _list(side: str, *, error: str | None = None):
    uow = request_uow()
    filters, sort, errors = _read_filters(side)
    cursor = request.args.get("cursor") or None
    page = None
    if not errors:
        try:
            page = purchasing.list_purchase_orders(uow, after=cursor, filters=filters, sort=sort)
        except ValidationFailed as failed:
            errors = field_errors(failed)
    status = 422 if errors or error else 200
    if errors and not error:
        error = gettext(ValidationFailed.message)
    return render_template("purchasing/list.html", **_context(side, uow, sort, errors, error, page, cursor)), status


def _export(side: str):
    uow = request_uow()
    filters, sort, errors = _read_filters(side)
    if errors:
        return _list(side)
    try:
        rows = purchasing.export_purchase_orders(uow, filters=filters, sort=sort, max_rows=EXPORT_MAX_ROWS)
    except TooManyRows as too_many:
        return _list(side, error=error_text(too_many))
    except ValidationFailed:
        return _list(side)
    record_export(what="purchase_orders", rows=len(rows))
    return csv_response(_csv(rows), "purchase-orders.csv")


def _read_filters(side: str) -> tuple[purchasing.PurchaseOrderFilter, str, dict[str, str]]:
    """The filters and sort of the query string, and what could not be read (by field)."""
    args = request.args
    errors: dict[str, str] = {}
    supplier_id = _uuid(args.get("supplier_id"), "supplier_id", errors) if side == "buyer" else None
    filters = purchasing.PurchaseOrderFilter(
        statuses=tuple(dict.fromkeys(s for s in args.getlist("status") if s)),
        supplier_id=supplier_id,
        item_id=_uuid(args.get("item_id"), "item_id", errors),
        ordered_from=_date(args.get("ordered_from"), "ordered_from", errors),
        ordered_to=_date(args.get("ordered_to"), "ordered_to", errors),
        open_only=bool(args.get("open_only")),
        needs_action=bool(args.get("needs_action")),
    )
    return filters, args.get("sort") or purchasing.DEFAULT_SORT, errors


def _uuid(value: str | None, field: str, errors: dict) -> uuid.UUID | None:
    value = (value or "").strip()
    found = uuid_or_none(value)
    if value and found is None:
        errors[field] = gettext(NOT_AN_ID)
    return found


def _date(value: str | None, field: str, errors: dict) -> date | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        errors[field] = gettext(NOT_A_DATE)
        return None


def _context(side: str, uow, sort: str, errors: dict, error: str | None, page, cursor: str | None) -> dict:
    list_endpoint, export_endpoint = SIDES[side]
    # The filters as given, to fill the form and carry into every link of the page.
    query = {}
    for name in FILTER_ARGS:
        values = [v for v in request.args.getlist(name) if v]
        if values and (name != "supplier_id" or side == "buyer"):
            query[name] = values if name == "status" else values[0]
    shown_sort = sort if sort in purchasing.SORTS else purchasing.DEFAULT_SORT
    kept_sort = None if shown_sort == purchasing.DEFAULT_SORT else shown_sort  # the default goes unsaid
    sort_links = {}
    for column, first in HEADER_SORTS.items():
        state = "ascending" if shown_sort == column else "descending" if shown_sort == "-" + column else None
        target = (column if state == "descending" else "-" + column) if state else first
        sort_links[column] = (url_for(list_endpoint, **query, sort=target), state)
    next_url = None
    if page is not None and page.next_cursor:
        next_url = url_for(list_endpoint, **query, sort=kept_sort, cursor=page.next_cursor)
    return {
        "side": side,
        "list_endpoint": list_endpoint,
        "query": query,
        "filtered": bool(query),
        "sort": shown_sort,
        "sort_labels": SORT_LABELS,
        "sort_links": sort_links,
        "statuses": [s for s in STATUSES if side == "buyer" or s != "draft"],
        "suppliers": tenants.list_suppliers(uow) if side == "buyer" else [],
        "items": purchasing.ordered_items(uow),
        "page": page,
        "first_page": cursor is None,
        "errors": errors,
        "error": error,
        "export_url": url_for(export_endpoint, **query, sort=kept_sort),
        "next_url": next_url,
        "first_url": url_for(list_endpoint, **query, sort=kept_sort),
        "clear_url": url_for(list_endpoint),
    }


def _csv(rows: list[purchasing.PurchaseOrderRow]) -> bytes:
    """UTF-8 with a byte order mark (so that Excel reads Chinese names right); statuses
    and headings in the user's language, times in the user's time zone; names never
    become formulas."""
    header = [
        gettext("Number"),
        gettext("Status"),
        gettext("Supplier"),
        gettext("Order date"),
        gettext("Currency"),
        gettext("Lines"),
        gettext("Total"),
        gettext("Issued at"),
        gettext("Overdue"),
    ]
    yes, no = gettext("Yes"), gettext("No")
    lines = [
        [
            spreadsheet_text(row.number),
            status_label(row.status),
            spreadsheet_text(localized(row.supplier_name, row.supplier_name_zh)),
            row.order_date.isoformat(),
            row.currency,
            row.line_count,
            _amount(row.total, row.currency),
            to_user_timezone(row.issued_at).strftime("%Y-%m-%d %H:%M") if row.issued_at else "",
            yes if row.overdue else no,
        ]
        for row in rows
    ]
    return csv_bytes([header, *lines])


def _amount(total: Decimal, currency: str) -> str:
    places = get_currency_precision(currency)
    return str(total.quantize(Decimal(1).scaleb(-places)))
