"""Purchase order queries for the home pages, lists and the API.

Row-level security decides which rows a caller sees (the tenant's, or a supplier
user's own); nothing here filters by tenant or supplier.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa

from auth.permissions import require
from erp.items.models import Item
from erp.pagination import Page, check_limit, decode_cursor, decode_sort_cursor, encode_cursor, encode_sort_cursor
from erp.purchasing import reminders
from erp.purchasing.access import hidden
from erp.purchasing.errors import PurchaseOrderNotFound, TooManyRows
from erp.purchasing.models import AWAITING, STATUSES, PoLineResponse, PurchaseOrder, PurchaseOrderLine
from kernel.errors import N_, ValidationFailed
from tenants import service as tenants

# Display names of the statuses (the lifecycle: erp.purchasing.confirmation).
STATUS_LABELS = {
    "draft": N_("Draft"),
    "issued": N_("Issued"),
    "partially_acknowledged": N_("Partially acknowledged"),
    "acknowledged": N_("Acknowledged"),
    "in_delivery": N_("In delivery"),
    "received": N_("Received"),
    "closed": N_("Closed"),
    "cancelled": N_("Cancelled"),
}
assert set(STATUS_LABELS) == set(STATUSES)
# A PO is open until it is closed or cancelled: goods may still arrive or be returned.
CLOSED_STATUSES = ("closed", "cancelled")


@dataclass(frozen=True)
class PurchaseOrderRow:
    id: uuid.UUID
    number: str
    status: str
    order_date: date
    created_at: datetime
    currency: str
    supplier_id: uuid.UUID
    supplier_name: str
    supplier_name_zh: str | None
    line_count: int
    total: Decimal
    issued_at: datetime | None = None
    # Waiting for the supplier's acknowledgement longer than the tenant allows.
    overdue: bool = False


@dataclass(frozen=True)
class PurchaseOrderSummary:
    open_count: int
    supplier_count: int


@dataclass(frozen=True)
class PurchaseOrderFilter:
    """What a list of orders is narrowed to; every field left empty narrows nothing.

    supplier_id is the buyer's choice; a supplier user sees its own orders anyway (and
    naming another supplier is refused). needs_action means, for a supplier user, the
    orders awaiting its answer; for the tenant's people, drafts not yet issued and orders
    with a supplier's proposal or rejection awaiting their decision."""

    statuses: tuple[str, ...] = ()
    supplier_id: uuid.UUID | None = None
    item_id: uuid.UUID | None = None
    ordered_from: date | None = None  # order date, inclusive
    ordered_to: date | None = None  # order date, inclusive
    open_only: bool = False
    needs_action: bool = False


NO_FILTER = PurchaseOrderFilter()
# Sorts with a stable keyset (the column, then the id): a leading "-" is descending.
SORT_COLUMNS = {
    "created": (PurchaseOrder.created_at, datetime),
    "order_date": (PurchaseOrder.order_date, date),
    "number": (PurchaseOrder.number, str),
}
DEFAULT_SORT = "-created"
SORTS = tuple(f"{sign}{name}" for name in SORT_COLUMNS for sign in ("-", ""))
EXPORT_BATCH = 1000

BAD_SORT = N_("Choose one of the sort orders offered.")
BAD_STATUS = N_("Choose statuses from the list.")
DATE_RANGE = N_("The start of the date range must not be after its end.")
OTHER_SUPPLIER = N_("You can only list your own company's orders.")


def list_purchase_orders(
    uow,
    *,
    after: str | None = None,
    limit: int = 50,
    filters: PurchaseOrderFilter = NO_FILTER,
    sort: str = DEFAULT_SORT,
) -> Page[PurchaseOrderRow]:
    """`limit` at a time in the `sort` order (newest first by default); `after` is the
    previous page's next_cursor, which is only good for the same sort."""
    require(uow.actor, "po.view")
    check_limit(limit)
    return _page(uow, filters, sort, after, limit)


def export_purchase_orders(
    uow, *, filters: PurchaseOrderFilter = NO_FILTER, sort: str = DEFAULT_SORT, max_rows: int = 50_000
) -> list[PurchaseOrderRow]:
    """Every order the filters match, in the `sort` order, read a batch at a time; more
    than `max_rows` is refused (TooManyRows) rather than cut short without a word."""
    require(uow.actor, "po.view")
    rows: list[PurchaseOrderRow] = []
    cursor = None
    while True:
        page = _page(uow, filters, sort, cursor, min(EXPORT_BATCH, max_rows + 1 - len(rows)))
        rows += page.items
        if len(rows) > max_rows:
            raise TooManyRows(limit=max_rows)
        if page.next_cursor is None:
            return rows
        cursor = page.next_cursor


def ordered_items(uow, *, limit: int = 500) -> list[Item]:
    """The items on the caller's orders (a supplier's: its own), by part number: the
    choices of the list's item filter."""
    require(uow.actor, "po.view")
    line = PurchaseOrderLine
    on_orders = sa.select(line.id).where(line.tenant_id == Item.tenant_id, line.item_id == Item.id).exists()
    return list(uow.session.scalars(sa.select(Item).where(on_orders).order_by(Item.part_number).limit(limit)))


def _page(uow, filters: PurchaseOrderFilter, sort: str, after: str | None, limit: int) -> Page[PurchaseOrderRow]:
    if sort not in SORTS:
        raise ValidationFailed(errors={"sort": BAD_SORT})
    descending = sort.startswith("-")
    name = sort.lstrip("-")
    column, kind = SORT_COLUMNS[name]
    order = (column.desc(), PurchaseOrder.id.desc()) if descending else (column.asc(), PurchaseOrder.id.asc())
    stmt = _with_totals().where(*_conditions(uow.actor, filters)).order_by(*order)
    stmt = stmt.limit(limit + 1)  # one more than shown tells whether a next page exists
    if after:
        if sort == DEFAULT_SORT:  # the cursor every caller had before there were sorts
            value, row_id = decode_cursor(after)
        else:
            value, row_id = decode_sort_cursor(after, sort=sort, kind=kind)
        key, seen = sa.tuple_(column, PurchaseOrder.id), sa.tuple_(value, row_id)
        stmt = stmt.where(key < seen if descending else key > seen)
    rows = uow.execute(stmt).all()
    more = len(rows) > limit
    rows = rows[:limit]
    suppliers = tenants.organisations_by_id(uow, ids={po.supplier_id for po, _, _ in rows})
    days = reminders.reminder_days(uow)
    items = [_row(po, count, total, suppliers.get(po.supplier_id), days) for po, count, total in rows]
    next_cursor = None
    if more:
        last = rows[-1][0]
        if sort == DEFAULT_SORT:
            next_cursor = encode_cursor(last.created_at, last.id)
        else:
            next_cursor = encode_sort_cursor(sort, getattr(last, column.key), last.id)
    return Page(items=items, next_cursor=next_cursor)


def _conditions(actor, filters: PurchaseOrderFilter) -> list:
    """The WHERE terms of a list: the filters checked, and the caller's side."""
    errors = {}
    if any(status not in STATUSES for status in filters.statuses):
        errors["status"] = BAD_STATUS
    if filters.ordered_from and filters.ordered_to and filters.ordered_from > filters.ordered_to:
        errors["ordered_to"] = DATE_RANGE
    supplier_user = actor.supplier_id is not None
    if supplier_user and filters.supplier_id not in (None, actor.supplier_id):
        errors["supplier_id"] = OTHER_SUPPLIER
    if errors:
        raise ValidationFailed(errors=errors)
    po, line, answer = PurchaseOrder, PurchaseOrderLine, PoLineResponse
    terms = []
    if supplier_user:
        # Row-level security already limits a supplier to its own orders; its restrictive
        # policy (a CASE, see migrations/support.py) cannot pick an index, so the supplier
        # is named here too, for ix_purchase_order_supplier_created. Without it a small
        # supplier's first page read the tenant's whole history (bench supplier_pos).
        terms.append(po.supplier_id == actor.supplier_id)
        # Drafts are not the supplier's to see until they are issued (as on the order's page).
        terms.append(po.status != "draft")
    elif filters.supplier_id is not None:
        terms.append(po.supplier_id == filters.supplier_id)
    if filters.statuses:
        terms.append(po.status.in_(filters.statuses))
    if filters.open_only:
        terms.append(po.status.not_in(CLOSED_STATUSES))
    if filters.ordered_from:
        terms.append(po.order_date >= filters.ordered_from)
    if filters.ordered_to:
        terms.append(po.order_date <= filters.ordered_to)
    if filters.item_id is not None:
        terms.append(
            sa.select(line.id)
            .where(line.tenant_id == po.tenant_id, line.purchase_order_id == po.id, line.item_id == filters.item_id)
            .exists()
        )
    if filters.needs_action:
        # Answers of the order's current revision: a pending one awaits the buyer, an
        # accepted one settled its line.
        current = sa.and_(answer.tenant_id == po.tenant_id, answer.purchase_order_id == po.id, answer.revision == po.revision)
        if supplier_user:
            # An open line of the current revision that has no answer waiting or taken.
            unanswered = (
                sa.select(line.id)
                .where(
                    line.tenant_id == po.tenant_id,
                    line.purchase_order_id == po.id,
                    line.status == "open",
                    ~sa.select(answer.id)
                    .where(current, answer.purchase_order_line_id == line.id, answer.decision.in_(("pending", "accepted")))
                    .exists(),
                )
                .exists()
            )
            terms.append(sa.and_(po.status.in_(AWAITING), unanswered))
        else:
            proposals = (
                sa.select(answer.id)
                .where(current, answer.decision == "pending", answer.action.in_(("propose", "reject")))
                .exists()
            )
            terms.append(sa.or_(po.status == "draft", sa.and_(po.status.in_(AWAITING), proposals)))
    return terms


def get_purchase_order(uow, *, po_id: uuid.UUID) -> PurchaseOrderRow:
    """One order, if the caller may see it (PurchaseOrderNotFound otherwise: an order of
    another tenant or supplier is not there for them)."""
    require(uow.actor, "po.view")
    found = uow.execute(_with_totals().where(PurchaseOrder.id == po_id)).one_or_none()
    if found is None or hidden(uow.actor, found[0]):
        raise PurchaseOrderNotFound()
    po, count, total = found
    supplier = tenants.organisations_by_id(uow, ids={po.supplier_id}).get(po.supplier_id)
    return _row(po, count, total, supplier, reminders.reminder_days(uow))


def purchase_order_exists_elsewhere(uow, *, po_id: uuid.UUID) -> bool:
    """After get_purchase_order found nothing: whether the id is an order of another
    tenant or supplier (so the caller can note the probe); never what it is."""
    return bool(uow.scalar(sa.text("SELECT app.purchase_order_exists(:po)"), {"po": po_id}))


def _with_totals():
    """Orders with their line count and total (a lateral subquery per order)."""
    line = PurchaseOrderLine
    totals = (
        sa.select(
            sa.func.count().label("line_count"),
            sa.func.coalesce(sa.func.sum(line.quantity * line.unit_price), 0).label("total"),
        )
        .where(line.tenant_id == PurchaseOrder.tenant_id, line.purchase_order_id == PurchaseOrder.id)
        .lateral("totals")
    )
    return sa.select(PurchaseOrder, totals.c.line_count, totals.c.total).join(totals, sa.true())


def _row(po: PurchaseOrder, line_count: int, total: Decimal, supplier, reminder_days: int = 0) -> PurchaseOrderRow:
    return PurchaseOrderRow(
        id=po.id,
        number=po.number,
        status=po.status,
        order_date=po.order_date,
        created_at=po.created_at,
        currency=po.currency,
        supplier_id=po.supplier_id,
        supplier_name=supplier.name if supplier else "",
        supplier_name_zh=supplier.name_zh if supplier else None,
        line_count=line_count,
        total=Decimal(total),
        issued_at=po.issued_at,
        overdue=reminders.is_overdue(po.status, po.issued_at, reminder_days),
    )


def purchase_order_summary(uow) -> PurchaseOrderSummary:
    require(uow.actor, "po.view")
    open_count = uow.scalar(
        sa.select(sa.func.count()).select_from(PurchaseOrder).where(PurchaseOrder.status.not_in(CLOSED_STATUSES))
    )
    return PurchaseOrderSummary(open_count=open_count, supplier_count=tenants.count_suppliers(uow))
