"""The purchase order lifecycle and the supplier's confirmation, line by line.

draft → issued → partially_acknowledged / acknowledged → in_delivery → received →
closed, or cancelled. The supplier answers each line of the current revision: accept
(the line is accepted at once), reject with a reason code of the tenant's list, or
propose a change (quantity, price, promised date, a split into schedule lines). A
rejection or a proposal changes nothing on the order until the buyer accepts it.

Every write names the order's `version` the caller saw (and the supplier also its
`revision`); the order row is locked and a stale copy is refused with
PurchaseOrderChanged. The version column is SQLAlchemy's version_id_col as well, so a
write that slipped past the check still fails cleanly.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm.exc import StaleDataError

from audit import service as audit
from auth.models import User
from auth.permissions import require
from erp.fields import PAST_DATE, a_date
from erp.fields import QUANTITY as QUANTITY
from erp.fields import QUANTITY_DECIMALS as QUANTITY_DECIMALS
from erp.fields import as_uuid as _as_uuid
from erp.fields import decimals as _decimals
from erp.fields import given as _given
from erp.fields import number as _number
from erp.fields import quantity as _quantity
from erp.items.models import Item
from erp.purchasing import gate
from erp.purchasing.access import visible_order
from erp.purchasing.errors import (
    AlreadyDecided,
    NotAwaitingConfirmation,
    PurchaseOrderChanged,
    PurchaseOrderNotFound,
    ResponseNotFound,
    WrongStatus,
)
from erp.purchasing.models import (
    ACTIONS,
    AWAITING,
    PoLineResponse,
    PoReasonCode,
    PurchaseOrder,
    PurchaseOrderLine,
    PurchaseOrderSchedule,
)
from erp.suppliers import service as suppliers
from kernel.clock import utcnow
from kernel.errors import N_, REQUIRED, TOO_LONG, ValidationFailed
from kernel.mail import queue_mail
from tenants import service as tenants

# Quantities are checked by erp.fields (units, decimals).
PRICE_DECIMALS = 6  # numeric(18, 6)
MAX_PRICE = Decimal(10) ** 12  # numeric(18, 6)
CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_COMMENT = 2000
HISTORY_LIMIT = 200  # audit events shown with an order, newest first
ISSUED_MAIL = "erp/purchasing/po_issued"

# The reasons a new tenant starts with (it edits its own list later).
DEFAULT_REASON_CODES = (
    ("capacity", "Insufficient capacity", "产能不足"),
    ("price", "Price not agreed", "价格未达成一致"),
    ("lead_time", "Lead time too short", "交期过短"),
    ("discontinued", "Item discontinued", "物料已停产"),
    ("spec", "Specification unclear", "规格不明确"),
    ("other", "Other", "其他"),
)

PRICE = N_("Enter a price of zero or more, with at most six decimals.")
WRONG_CURRENCY = N_("Prices must be in the currency of the order.")
CURRENCY_CODE = N_("Enter a three-letter currency code, such as EUR.")
NO_SUPPLIER = N_("Choose one of your suppliers.")
NO_ITEM = N_("Choose one of the items.")
NO_SITE = N_("Choose one of your own sites.")
DISQUALIFIED = N_("The supplier is disqualified for this item (approved supplier list).")
NO_LINES = N_("An order needs at least one line.")
SCHEDULE_EMPTY = N_("A schedule needs at least one delivery.")
SCHEDULE_SUM = N_("The quantities of the schedule must add up to the quantity of the line.")
NO_ANSWERS = N_("Answer at least one line.")
NOT_ON_ORDER = N_("This line is not on this purchase order.")
TWICE = N_("Answer each line once.")
ANSWERED = N_("This line has been answered already.")
ACTION = N_("Choose accept, reject or propose a change.")
ACCEPT_AS_IS = N_("An acceptance takes the line as it is: to change it, propose a change.")
LATER_DATE = N_("A date after the requested one is a change: propose it.")
REASON = N_("Choose one of the reasons.")
REASON_ONLY = N_("A rejection gives a reason; to change the line, propose a change.")
NO_CHANGE = N_("A proposal must change the quantity, the price, the date or the schedule.")


@dataclass(frozen=True)
class LineDetail:
    line: PurchaseOrderLine
    schedule: list[PurchaseOrderSchedule]
    # Every answer to the line, newest first: the buyer sees a proposal beside the line.
    responses: list[PoLineResponse]


@dataclass(frozen=True)
class PurchaseOrderDetail:
    order: PurchaseOrder
    supplier_name: str
    supplier_name_zh: str | None
    lines: list[LineDetail]
    reason_codes: list[PoReasonCode]
    # The lines' items by id, and the names of the people who answered and decided.
    items: dict[uuid.UUID, Item] = field(default_factory=dict)
    people: dict[uuid.UUID, str] = field(default_factory=dict)

    @property
    def acknowledgement_hours(self) -> float | None:
        return acknowledgement_hours(self.order)


def acknowledgement_hours(po: PurchaseOrder) -> float | None:
    """Hours from issue to acknowledgement (every line accepted); None until then."""
    if po.issued_at is None or po.acknowledged_at is None:
        return None
    return (po.acknowledged_at - po.issued_at).total_seconds() / 3600


# -- reason codes --------------------------------------------------------------------


def reason_codes(uow, *, active_only: bool = False) -> list[PoReasonCode]:
    """The tenant's rejection reasons. A tenant that has none yet gets the defaults, in
    the caller's transaction (concurrent first readers insert them once)."""
    stmt = sa.select(PoReasonCode).order_by(PoReasonCode.created_at, PoReasonCode.id)  # ids are UUIDv7
    codes = list(uow.session.scalars(stmt))
    if not codes:
        uow.execute(
            insert(PoReasonCode)
            .values([{"code": code, "name": name, "name_zh": name_zh} for code, name, name_zh in DEFAULT_REASON_CODES])
            .on_conflict_do_nothing(index_elements=["tenant_id", "code"])
        )
        codes = list(uow.session.scalars(stmt))
    return [c for c in codes if c.is_active] if active_only else codes


# -- buyer: create and issue ------------------------------------------------------------


def create_purchase_order(uow, actor, *, supplier_id: uuid.UUID, currency: str, lines: list[dict]) -> PurchaseOrder:
    """A draft order: lines of {item_id, quantity, unit_price, requested_date,
    ship_to_site_id?, schedule?: [{quantity, date}]}, each priced in `currency`.

    The approved supplier list (erp.suppliers) is checked for the supplier as a whole: a
    line of an item the supplier is disqualified for is refused (SupplierDisqualified,
    naming the supplier, the item, and the date and reason). Conditional and probation
    do not block (the screens will warn); an item the list says nothing about is allowed,
    so tenants can adopt the list gradually."""
    require(actor, "po.manage")
    today = utcnow().date()
    errors: dict[str, str] = {}
    currency = (currency or "").strip().upper() if isinstance(currency, str) else ""
    if not CURRENCY.fullmatch(currency):
        errors["currency"] = CURRENCY_CODE
    supplier = tenants.organisations_by_id(uow, ids={supplier_id}).get(supplier_id) if supplier_id else None
    if supplier is None or supplier.kind != "supplier":
        errors["supplier_id"] = NO_SUPPLIER
    if not lines:
        errors["lines"] = NO_LINES
    lines = lines or []
    item_ids = {line.get("item_id") for line in lines if isinstance(line.get("item_id"), uuid.UUID)}
    items = {item.id: item for item in uow.session.scalars(sa.select(Item).where(Item.id.in_(item_ids)))} if item_ids else {}
    site_ids = {line.get("ship_to_site_id") for line in lines if isinstance(line.get("ship_to_site_id"), uuid.UUID)}
    sites = tenants.sites_by_id(uow, ids=site_ids)
    blocked = suppliers.disqualified_items(uow, supplier_id=supplier.id, item_ids=items) if "supplier_id" not in errors else {}
    refusal = None
    checked = []
    for n, line in enumerate(lines):
        at = f"lines.{n}."
        item = items.get(line.get("item_id"))
        if item is None:
            errors[at + "item_id"] = NO_ITEM
        elif item.id in blocked:
            errors[at + "item_id"] = DISQUALIFIED
            refusal = refusal or (item, blocked[item.id])
        uom = item.uom if item else None
        quantity = _quantity(line.get("quantity"), uom, errors, at + "quantity")
        price = _price(line.get("unit_price"), errors, at + "unit_price")
        if line.get("currency") not in (None, "") and str(line["currency"]).strip().upper() != currency:
            errors[at + "currency"] = WRONG_CURRENCY
        requested = _date(line.get("requested_date"), errors, at + "requested_date", today=today)
        site_id = line.get("ship_to_site_id")
        if site_id is not None:
            site = sites.get(site_id)
            if site is None or site.supplier_id is not None:
                errors[at + "ship_to_site_id"] = NO_SITE
        schedule = None
        if line.get("schedule"):
            schedule = _schedule(line["schedule"], quantity, uom, errors, at + "schedule", today=today)
        checked.append((item, quantity, price, requested, site_id, schedule))
    if refusal:
        raise suppliers.disqualification(supplier, *refusal, errors=errors)
    if errors:
        raise ValidationFailed(errors=errors)
    po = PurchaseOrder(
        number=tenants.next_number(uow, name="PO", prefix="PO", year=today.year),
        supplier_id=supplier.id,
        status="draft",
        currency=currency,
        order_date=today,
    )
    uow.add(po)
    uow.flush()
    for n, (item, quantity, price, requested, site_id, schedule) in enumerate(checked, start=1):
        line = PurchaseOrderLine(
            purchase_order_id=po.id,
            supplier_id=po.supplier_id,
            line_no=n * 10,
            item_id=item.id,
            quantity=quantity,
            uom=item.uom,
            unit_price=price,
            requested_date=requested,
            ship_to_site_id=site_id,
            status="open",
        )
        uow.add(line)
        uow.flush()
        if schedule:
            _replace_schedule(uow, line, schedule)
    uow.flush()
    return po


def issue_purchase_order(uow, actor, *, po_id: uuid.UUID, version: int) -> PurchaseOrder:
    """Send a draft to the supplier: it becomes visible to them and awaits confirmation."""
    require(actor, "po.manage")
    po = _locked(uow, po_id, actor)
    _current(po, version=version)
    if po.status != "draft":
        raise WrongStatus()
    today = utcnow().date()
    errors = {}
    lines = _lines(uow, po)
    for n, line in enumerate(lines):
        if line.requested_date < today:
            errors[f"lines.{n}.requested_date"] = PAST_DATE
    if errors:
        raise ValidationFailed(errors=errors)
    gate.check_issue(uow, po, today, actor)
    po.status = "issued"
    po.issued_at = utcnow()
    _write(uow, po)
    _tell_supplier(uow, po)
    return po


def _tell_supplier(uow, po: PurchaseOrder) -> None:
    """Mail the supplier's people who confirm orders, each in their language (sent after
    the commit, through the outbox)."""
    tenant = tenants.own_organisation(uow)  # the customer, named as the tenant names itself
    supplier = tenants.organisations_by_id(uow, ids=[po.supplier_id])[po.supplier_id]
    lines = _lines(uow, po)
    for person in tenants.members_holding(uow, organisation_id=po.supplier_id, permission="po.confirm"):
        chinese = (person.locale or "").startswith("zh")
        queue_mail(
            uow,
            to=person.email,
            template=ISSUED_MAIL,
            locale=person.locale,
            context={
                "full_name": person.full_name,
                "number": po.number,
                "customer": tenant.name_zh if chinese and tenant.name_zh else tenant.name,
                "supplier": supplier.name_zh if chinese and supplier.name_zh else supplier.name,
                "line_count": len(lines),
                "first_date": min(line.requested_date for line in lines) if lines else None,
                "path": f"/purchase-orders/{po.id}",
            },
        )


# -- supplier: answer lines --------------------------------------------------------------


def respond_to_purchase_order(
    uow, actor, *, po_id: uuid.UUID, revision: int, version: int, responses: list[dict]
) -> list[PoLineResponse]:
    """The supplier's answers to lines of the current revision: each {line_id, action:
    accept|reject|propose, reason_code?, quantity?, unit_price?, currency?,
    promised_date?, schedule?: [{quantity, date}], comment?}. The whole order is an
    answer for every line. All are checked first; one bad answer refuses them all."""
    require(actor, "po.confirm")
    po = _locked(uow, po_id, actor)
    if actor.supplier_id != po.supplier_id:
        raise PurchaseOrderNotFound()  # not a word about whose it is
    _current(po, version=version, revision=revision)
    if po.status not in AWAITING:
        raise NotAwaitingConfirmation()
    today = utcnow().date()
    lines = {line.id: line for line in _lines(uow, po)}
    answered = set(
        uow.session.scalars(
            sa.select(PoLineResponse.purchase_order_line_id).where(
                PoLineResponse.purchase_order_id == po.id,
                PoLineResponse.revision == po.revision,
                PoLineResponse.decision.in_(("pending", "accepted")),
            )
        )
    )
    schedules = _schedules(uow, lines.values())
    codes = {c.code for c in reason_codes(uow, active_only=True)}
    errors: dict[str, str] = {}
    if not responses:
        errors["responses"] = NO_ANSWERS
    seen: set[uuid.UUID] = set()
    planned: list[tuple[PurchaseOrderLine, dict]] = []
    for n, answer in enumerate(responses or []):
        at = f"responses.{n}."
        line = lines.get(_as_uuid(answer.get("line_id")))
        if line is None:
            errors[at + "line_id"] = NOT_ON_ORDER
            continue
        if line.id in seen:
            errors[at + "line_id"] = TWICE
            continue
        seen.add(line.id)
        if line.status != "open" or line.id in answered:
            errors[at + "line_id"] = ANSWERED
            continue
        checked = _answer(answer, line, schedules.get(line.id, []), po, codes, errors, at, today)
        if checked is not None:
            planned.append((line, checked))
    if errors:
        raise ValidationFailed(errors=errors)
    now = utcnow()
    made = []
    for line, values in planned:
        response = PoLineResponse(
            purchase_order_id=po.id,
            purchase_order_line_id=line.id,
            supplier_id=po.supplier_id,
            revision=po.revision,
            responded_by=actor.user_id,
            responded_at=now,
            decision="pending",
            **values,
        )
        if values["action"] == "accept":
            # No buyer step: the supplier takes the line as ordered.
            response.decision, response.decided_at = "accepted", now
            line.status = "accepted"
            line.promised_date = values["promised_date"]
        uow.add(response)
        made.append(response)
    _recompute(po, list(lines.values()))
    _write(uow, po)
    return made


def _answer(answer: dict, line, schedule_rows, po, codes, errors, at: str, today: date) -> dict | None:
    action = answer.get("action")
    if action not in ACTIONS:
        errors[at + "action"] = ACTION
        return None
    before = len(errors)
    comment = answer.get("comment")
    comment = (comment.strip() or None) if isinstance(comment, str) else None
    if comment and len(comment) > MAX_COMMENT:
        errors[at + "comment"] = TOO_LONG
    currency = answer.get("currency")
    if currency not in (None, "") and str(currency).strip().upper() != po.currency:
        errors[at + "currency"] = WRONG_CURRENCY
    changes = ("quantity", "unit_price", "schedule")
    values = {"action": action, "comment": comment, "reason_code": None, "quantity": None, "unit_price": None}
    values |= {"promised_date": None, "schedule": None}
    if action == "accept":
        for field in (*changes, "reason_code"):
            if _given(answer.get(field)):
                errors[at + field] = ACCEPT_AS_IS
        promised = line.requested_date
        if _given(answer.get("promised_date")):
            promised = _date(answer["promised_date"], errors, at + "promised_date", today=today)
            if promised is not None and promised > line.requested_date:
                errors[at + "promised_date"] = LATER_DATE
        values["promised_date"] = promised
    elif action == "reject":
        for field in (*changes, "promised_date"):
            if _given(answer.get(field)):
                errors[at + field] = REASON_ONLY
        if answer.get("reason_code") not in codes:
            errors[at + "reason_code"] = REASON
        values["reason_code"] = answer.get("reason_code")
    else:
        if _given(answer.get("reason_code")):
            errors[at + "reason_code"] = REASON_ONLY
        quantity = price = promised = schedule = None
        if _given(answer.get("quantity")):
            quantity = _quantity(answer["quantity"], line.uom, errors, at + "quantity")
        if _given(answer.get("unit_price")):
            price = _price(answer["unit_price"], errors, at + "unit_price")
        if _given(answer.get("promised_date")):
            promised = _date(answer["promised_date"], errors, at + "promised_date", today=today)
        if _given(answer.get("schedule")):
            total = quantity if quantity is not None else line.quantity
            schedule = _schedule(answer["schedule"], total, line.uom, errors, at + "schedule", today=today)
        elif quantity is not None and schedule_rows and sum(r.quantity for r in schedule_rows) != quantity:
            # The line has a schedule: a new quantity needs a new split.
            errors[at + "schedule"] = SCHEDULE_SUM
        current_schedule = [(r.quantity, r.delivery_date) for r in schedule_rows]
        changed = (
            (quantity is not None and quantity != line.quantity)
            or (price is not None and price != line.unit_price)
            or (promised is not None and promised != (line.promised_date or line.requested_date))
            or (schedule is not None and schedule != current_schedule)
        )
        if len(errors) == before and not changed:
            errors[at + "action"] = NO_CHANGE
        values |= {"quantity": quantity, "unit_price": price, "promised_date": promised}
        if schedule is not None:
            values["schedule"] = [{"quantity": str(q), "date": d.isoformat()} for q, d in schedule]
    return values if len(errors) == before else None


# -- buyer: decide on answers ------------------------------------------------------------


def decide_on_response(
    uow, actor, *, response_id: uuid.UUID, accept: bool, version: int, note: str | None = None
) -> PoLineResponse:
    """The buyer accepts or rejects a supplier's proposal or rejection. Accepting a
    proposal applies it to the line (accepted); accepting a rejection cancels the line;
    rejecting either leaves the line open for the supplier to answer again."""
    require(actor, "po.manage")
    response = uow.scalar(sa.select(PoLineResponse).where(PoLineResponse.id == response_id))
    if response is None:
        raise ResponseNotFound()
    po = _locked(uow, response.purchase_order_id, actor)
    _current(po, version=version)
    if response.decision != "pending":
        raise AlreadyDecided()
    if response.revision != po.revision or po.status not in AWAITING:
        raise PurchaseOrderChanged()
    note = (note or "").strip() or None
    if note and len(note) > MAX_COMMENT:
        raise ValidationFailed(errors={"note": TOO_LONG})
    lines = _lines(uow, po)
    line = next(x for x in lines if x.id == response.purchase_order_line_id)
    if accept and response.action == "propose":
        if response.quantity is not None:
            line.quantity = response.quantity
        if response.unit_price is not None:
            line.unit_price = response.unit_price
        schedule = _schedule_of(response)
        if schedule:
            _replace_schedule(uow, line, schedule)
        # The promise: the date proposed, else the last delivery of the split, else as it was.
        line.promised_date = response.promised_date or (
            max(d for _, d in schedule) if schedule else line.promised_date or line.requested_date
        )
        line.status = "accepted"
    elif accept:  # the supplier's rejection stands: the line is off the order
        line.status = "cancelled"
    response.decision = "accepted" if accept else "rejected"
    response.decided_by = actor.user_id
    response.decided_at = utcnow()
    response.decision_note = note
    _recompute(po, lines)
    _write(uow, po)
    return response


# -- reading -------------------------------------------------------------------------------


def get_purchase_order_detail(uow, *, po_id: uuid.UUID) -> PurchaseOrderDetail:
    """The order with its lines, schedules and answers, as the caller may see it: row-level
    security limits a supplier to its own orders, and drafts are not theirs to see yet."""
    require(uow.actor, "po.view")
    po = visible_order(uow, uow.actor, po_id)
    lines = _lines(uow, po)
    schedules = _schedules(uow, lines)
    answers: dict[uuid.UUID, list[PoLineResponse]] = {}
    for response in uow.session.scalars(
        sa.select(PoLineResponse)
        .where(PoLineResponse.purchase_order_id == po.id)
        .order_by(PoLineResponse.responded_at.desc(), PoLineResponse.id.desc())
    ):
        answers.setdefault(response.purchase_order_line_id, []).append(response)
    supplier = tenants.organisations_by_id(uow, ids={po.supplier_id}).get(po.supplier_id)
    item_ids = {x.item_id for x in lines}
    items = {i.id: i for i in uow.session.scalars(sa.select(Item).where(Item.id.in_(item_ids)))} if item_ids else {}
    people_ids = {p for rs in answers.values() for r in rs for p in (r.responded_by, r.decided_by) if p is not None}
    people = dict(uow.execute(sa.select(User.id, User.full_name).where(User.id.in_(people_ids))).all()) if people_ids else {}
    return PurchaseOrderDetail(
        order=po,
        supplier_name=supplier.name if supplier else "",
        supplier_name_zh=supplier.name_zh if supplier else None,
        lines=[LineDetail(line=x, schedule=schedules.get(x.id, []), responses=answers.get(x.id, [])) for x in lines],
        reason_codes=reason_codes(uow, active_only=True),
        items=items,
        people=people,
    )


def response_order_id(uow, *, response_id: uuid.UUID) -> uuid.UUID:
    """The order an answer belongs to (ResponseNotFound when the caller may not see it)."""
    require(uow.actor, "po.view")
    found = uow.scalar(sa.select(PoLineResponse.purchase_order_id).where(PoLineResponse.id == response_id))
    if found is None:
        raise ResponseNotFound()
    return found


def purchase_order_trail(uow, detail: PurchaseOrderDetail, *, limit: int = HISTORY_LIMIT) -> list[audit.TrailEvent]:
    """The audit trail of an order (as read by get_purchase_order_detail): the events of
    the order, its lines, the supplier's answers and the delivery schedules (replaced ones
    too), newest first. The trail shows every changed field, so it needs audit.view - a
    permission only the tenant's own people can hold."""
    require(uow.actor, "audit.view")
    po = detail.order
    line_ids = [str(d.line.id) for d in detail.lines]
    return audit.events_of(
        uow,
        rows={
            "purchase_order": [str(po.id)],
            "purchase_order_line": line_ids,
            "po_line_response": [str(r.id) for d in detail.lines for r in d.responses],
            "purchase_order_schedule": [str(s.id) for d in detail.lines for s in d.schedule],
        },
        children={
            "purchase_order_line": ("purchase_order_id", [str(po.id)]),
            "po_line_response": ("purchase_order_id", [str(po.id)]),
            "purchase_order_schedule": ("purchase_order_line_id", line_ids),
        },
        limit=limit,
    )


# -- helpers ---------------------------------------------------------------------------------


def _locked(uow, po_id, actor) -> PurchaseOrder:
    """The order, locked for this transaction and read afresh (never a stale copy from
    the session); PurchaseOrderNotFound when the caller may not see it."""
    return visible_order(uow, actor, po_id, lock=True)


def _current(po: PurchaseOrder, *, version: int, revision: int | None = None) -> None:
    if version != po.version or (revision is not None and revision != po.revision):
        raise PurchaseOrderChanged()


def _write(uow, po: PurchaseOrder) -> None:
    """Flush the changes with the order's version bumped (the order row is updated even
    when only its lines changed); a stale copy is PurchaseOrderChanged."""
    po.updated_at = utcnow()
    try:
        uow.flush()
    except StaleDataError as exc:
        raise PurchaseOrderChanged() from exc


def _recompute(po: PurchaseOrder, lines: list[PurchaseOrderLine]) -> None:
    live = [line for line in lines if line.status != "cancelled"]
    if not live:
        po.status = "cancelled"
        return
    accepted = sum(1 for line in live if line.status == "accepted")
    if accepted == len(live):
        po.status = "acknowledged"
        if po.acknowledged_at is None:
            po.acknowledged_at = utcnow()
    elif accepted:
        po.status = "partially_acknowledged"
    else:
        po.status = "issued"


def _lines(uow, po: PurchaseOrder) -> list[PurchaseOrderLine]:
    return list(
        uow.session.scalars(
            sa.select(PurchaseOrderLine)
            .where(PurchaseOrderLine.purchase_order_id == po.id)
            .order_by(PurchaseOrderLine.line_no)
            .execution_options(populate_existing=True)
        )
    )


def _schedules(uow, lines) -> dict[uuid.UUID, list[PurchaseOrderSchedule]]:
    ids = [line.id for line in lines]
    found: dict[uuid.UUID, list[PurchaseOrderSchedule]] = {}
    if ids:
        for row in uow.session.scalars(
            sa.select(PurchaseOrderSchedule)
            .where(PurchaseOrderSchedule.purchase_order_line_id.in_(ids))
            .order_by(PurchaseOrderSchedule.seq)
        ):
            found.setdefault(row.purchase_order_line_id, []).append(row)
    return found


def _schedule_of(response: PoLineResponse) -> list[tuple[Decimal, date]]:
    return [(Decimal(s["quantity"]), date.fromisoformat(s["date"])) for s in response.schedule or []]


def _replace_schedule(uow, line: PurchaseOrderLine, schedule: list[tuple[Decimal, date]]) -> None:
    uow.execute(sa.delete(PurchaseOrderSchedule).where(PurchaseOrderSchedule.purchase_order_line_id == line.id))
    for seq, (quantity, when) in enumerate(schedule, start=1):
        uow.add(
            PurchaseOrderSchedule(
                purchase_order_line_id=line.id, supplier_id=line.supplier_id, seq=seq, quantity=quantity, delivery_date=when
            )
        )


def _price(value, errors: dict, field: str) -> Decimal | None:
    if not _given(value):
        errors[field] = REQUIRED
        return None
    number = _number(value)
    if number is None or number < 0 or number >= MAX_PRICE or _decimals(number) > PRICE_DECIMALS:
        errors[field] = PRICE
        return None
    return number


def _schedule(entries, total: Decimal | None, uom: str | None, errors: dict, field: str, *, today: date):
    """[(quantity, date)] from [{quantity, date}], or None with the errors noted; the
    quantities must add up to `total`."""
    if not isinstance(entries, list) or not entries:
        errors[field] = SCHEDULE_EMPTY
        return None
    before = len(errors)
    checked = []
    for n, entry in enumerate(entries):
        entry = entry if isinstance(entry, dict) else {}
        quantity = _quantity(entry.get("quantity"), uom, errors, f"{field}.{n}.quantity")
        when = _date(entry.get("date"), errors, f"{field}.{n}.date", today=today)
        checked.append((quantity, when))
    if len(errors) > before:
        return None
    if total is not None and sum(q for q, _ in checked) != total:
        errors[field] = SCHEDULE_SUM
        return None
    return checked


def _date(value, errors: dict, field: str, *, today: date) -> date | None:
    return a_date(value, errors, field, not_before=today)
