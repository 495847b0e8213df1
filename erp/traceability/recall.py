"""Recall cases and mock recalls (ISO 13485 §8.3.3, §7.5.9; 21 CFR 806 and 820.160).

A recall opens from a stored trace (`TraceSnapshot`): its "affected" units (the root lot
or serial, everything made from it, and the component lot itself when the trace started
there) become the scope, one line per place each unit is now:

- stock: a stock row in one of our locations (a line per stock row: location, status);
- customer: shipped to a customer (customer shipment lines), a line per customer;
- consumed: used in another lot, which is itself in scope (genealogy links);
- in_transit: on a supplier's ship notice submitted and not yet received;
- unknown: what of the affected quantity none of these accounts for.

Lines in stock or in transit are located at once; a line at a customer is located when
the customer confirms it (a user marks it located, with a note) or a return is recorded;
an unknown line when a user says where it is. When every included line is located the
recall records `all_located_at`: for a mock recall the time from opening to that moment
is the figure auditors ask for.

The scope is reviewed line by line: a unit added by its code or a line taken out, each
with a reason. Actions: hold (every in-scope stock row in our warehouses goes on hold at
once, a "hold" movement naming the recall; held stock cannot be consumed or shipped),
notify suppliers (a notice per supplier of in-scope component lots, read and acknowledged
in the supplier portal), notify customers (an email per customer with in-scope shipments,
in the customer's language), returns (at most what was shipped) and destruction. A mock
recall changes no stock and sends nothing outside: each action records what it would
have done. Closing needs every included line located and an electronic signature.

Every change is audited by the tables' triggers; `RecallAction` rows are the timeline.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa

from auth import signatures
from auth.models import User
from auth.permissions import require, require_any
from erp.gs1.errors import Gs1Invalid
from erp.gs1.parse import parse_code
from erp.inventory import service as inventory
from erp.inventory.models import Lot, Stock
from erp.items.models import Item
from erp.pagination import Page, check_limit, decode_cursor, encode_cursor
from erp.shipping.models import Asn, AsnLine, AsnSerial
from erp.traceability.models import (
    CLASSIFICATIONS,
    Customer,
    CustomerShipment,
    CustomerShipmentLine,
    GenealogyLink,
    Recall,
    RecallAction,
    RecallNotice,
    RecallScope,
    TraceSnapshot,
)
from kernel.clock import utcnow
from kernel.errors import N_, Conflict, Forbidden, NotFound, ValidationFailed, checked_text
from kernel.ids import new_id
from kernel.mail import queue_mail
from kernel.outbox import emit
from tenants import service as tenants

# Words shown for the model's codes (translated where shown).
CLASSIFICATION_LABELS = {
    "class_i": N_("Class I (serious health hazard)"),
    "class_ii": N_("Class II (temporary or reversible harm)"),
    "class_iii": N_("Class III (unlikely to cause harm)"),
}
PLACE_LABELS = {
    "stock": N_("In our stock"),
    "in_transit": N_("In transit to us"),
    "customer": N_("At a customer"),
    "consumed": N_("Used in another lot"),
    "unknown": N_("Unknown"),
}
STATE_LABELS = {
    "to_locate": N_("To locate"),
    "located": N_("Located"),
    "held": N_("Held"),
    "returned": N_("Returned"),
    "destroyed": N_("Destroyed"),
}
ACTION_LABELS = {
    "hold": N_("Stock put on hold"),
    "notify_supplier": N_("Supplier notified"),
    "notify_customer": N_("Customer notified"),
    "return": N_("Return recorded"),
    "destroy": N_("Destruction recorded"),
    "scope_change": N_("Scope changed"),
    "located": N_("Marked as located"),
    "note": N_("Note"),
}
# In a mock recall the same actions are recorded as what would have been done.
MOCK_ACTION_LABELS = {
    "hold": N_("Would put stock on hold (mock recall: stock unchanged)"),
    "notify_supplier": N_("Would notify the supplier (mock recall: nothing sent)"),
    "notify_customer": N_("Would email the customer (mock recall: nothing sent)"),
}
STATUS_LABELS = {"open": N_("Open"), "closed": N_("Closed")}
LIST_STATES = ("open", "closed", "mock")

# Stock in one of our locations (consumed and shipped stock has left: the genealogy and
# the shipments say where it went).
ON_HAND = ("quarantine", "released", "on_hold", "rejected")
HOLDABLE = ("quarantine", "released")
IN_TRANSIT = ("submitted", "in_transit")
CLOSE_MEANING = "approved"
MAX_TITLE = 200
MAX_TEXT = 4000
MAX_CODE = 1000
MAX_NOTE = 2000
SUPPLIER_MAIL = "erp/traceability/recall_supplier"
CUSTOMER_MAIL = "erp/traceability/recall_customer"

SNAPSHOT_NOT_FOUND = N_("This trace does not exist. Run a trace first, then open the recall from it.")
NOTHING_AFFECTED = N_("This trace found nothing to recall.")
RECALL_NOT_FOUND = N_("This recall does not exist.")
SCOPE_NOT_FOUND = N_("This line is not in the recall.")
NOTICE_NOT_FOUND = N_("This recall notice does not exist.")
CLOSED = N_("This recall is closed: nothing in it changes any more.")
CHOOSE_CLASSIFICATION = N_("Choose a classification.")
REASON_NEEDED = N_("Say why: every change of the scope is recorded with its reason.")
NOTE_NEEDED = N_("Say how it was located (who confirmed it, where it is).")
QUANTITY_POSITIVE = N_("Enter a quantity greater than zero.")
MORE_THAN_SHIPPED = N_("At most %(open)s can still be returned: more than that was not shipped to this customer.")
MORE_THAN_SCOPE = N_("At most %(open)s of this line can still be destroyed.")
RETURN_FROM_CUSTOMER = N_("Returns are recorded against a line at a customer.")
ALREADY_OUT = N_("This line is already out of scope.")
ALREADY_IN = N_("This unit is already in the recall's scope.")
ALREADY_LOCATED = N_("This line is located already.")
UNKNOWN_UNIT = N_("No lot of ours matches this code: it needs a product code (GTIN) and a lot or serial number.")
AMBIGUOUS_LOT = N_("Several suppliers have a lot with this number for this item; add the unit from its trace instead.")
NOT_ALL_LOCATED = N_("Not every unit in scope is located yet (%(open)s lines to locate). A recall closes when all are located.")
ALREADY_ACKNOWLEDGED = N_("This notice is acknowledged already.")
RESPONSE_NEEDED = N_("Write your response: what you have checked and what you will do.")
NOTHING_TO_HOLD = N_("Nothing in scope is in our stock: there is nothing to hold.")
NO_SUPPLIER = N_("No supplier's lots are in scope: there is nobody to notify.")
NO_CUSTOMER = N_("Nothing in scope was shipped to a customer: there is nobody to email.")
SUPPLIER_ONLY = N_("Only the supplier a notice is addressed to acknowledges it.")


@dataclass
class Place:
    """Where (some of) an affected unit is now."""

    place: str
    quantity: Decimal
    state: str
    serial: str | None = None
    location_id: uuid.UUID | None = None
    customer_id: uuid.UUID | None = None


@dataclass(frozen=True)
class Progress:
    """How far the recall has got: lines (included) by state and place, and quantities."""

    lines: int
    to_locate: int
    located: int  # lines in any state but to_locate
    held: int
    returned: int
    destroyed: int
    quantity: Decimal
    located_quantity: Decimal
    held_quantity: Decimal
    returned_quantity: Decimal
    destroyed_quantity: Decimal
    by_place: dict[str, int]
    excluded: int
    all_located: bool
    elapsed: timedelta | None  # open to all located (the mock recall's figure)

    @property
    def percent_located(self) -> int:
        return 100 if not self.lines else int(self.located * 100 / self.lines)


@dataclass(frozen=True)
class RecallView:
    """A recall with everything its page and its report show, names looked up."""

    recall: Recall
    lines: list[RecallScope]
    progress: Progress
    actions: list[RecallAction]
    notices: list[RecallNotice]
    signature: signatures.SignatureView | None
    snapshot: TraceSnapshot | None
    items: dict
    lots: dict
    locations: dict
    customers: dict
    suppliers: dict
    people: dict  # user id -> full name

    def item_label(self, item_id, *, chinese: bool = False) -> str:
        item = self.items.get(item_id)
        if item is None:
            return ""
        return f"{item.part_number} {item.name_zh if chinese and item.name_zh else item.name}"

    def supplier_name(self, supplier_id, *, chinese: bool = False) -> str:
        org = self.suppliers.get(supplier_id)
        if org is None:
            return ""
        return org.name_zh if chinese and org.name_zh else org.name

    def udi(self, line: RecallScope) -> str | None:
        return inventory.udi_text(self.items.get(line.item_id), self.lots.get(line.lot_id), line.serial)


@dataclass
class CustomerNotices:
    """What notify_customers did: customers emailed (or, mock, that would have been),
    and customers with no email address (to call)."""

    notified: list[Customer] = field(default_factory=list)
    without_email: list[Customer] = field(default_factory=list)


# --- opening ---------------------------------------------------------------------------------


def open_recall(
    uow,
    actor,
    *,
    snapshot_id: uuid.UUID | None,
    title: str | None,
    reason: str | None,
    classification: str | None,
    mock: bool = False,
) -> Recall:
    """Open a recall (or a mock recall) from a stored trace; its scope is the trace's
    affected units, each where it is now. Numbered RC-<year>-nnnnnn (mock MR-…)."""
    require(actor, "recall.run")
    _buyer_only(actor)
    errors: dict[str, str] = {}
    title = checked_text(title, MAX_TITLE, "title", errors, required=True)
    reason = checked_text(reason, MAX_TEXT, "reason", errors, required=True)
    if classification not in CLASSIFICATIONS:
        errors["classification"] = CHOOSE_CLASSIFICATION
    snapshot = uow.session.get(TraceSnapshot, (uow.tenant_id, snapshot_id)) if isinstance(snapshot_id, uuid.UUID) else None
    if snapshot is None:
        errors["snapshot_id"] = SNAPSHOT_NOT_FOUND
    if errors:
        raise ValidationFailed(errors=errors)
    affected = _affected(snapshot.result)
    if not affected:
        raise Conflict(NOTHING_AFFECTED)
    prefix = "MR" if mock else "RC"
    now = utcnow()
    recall = Recall(
        id=new_id(),
        number=tenants.next_number(uow, name=prefix, prefix=prefix, year=now.year),
        mock=mock,
        title=title,
        reason=reason,
        classification=classification,
        status="open",
        trace_snapshot_id=snapshot.id,
        opened_by=actor.user_id,
    )
    uow.reason = f"Recall {recall.number} opened"
    uow.add(recall)
    uow.flush()
    for unit in affected:
        places = locate(uow, item_id=unit["item_id"], lot_id=unit["lot_id"], serial=unit["serial"], quantity=unit["quantity"])
        for place in places:
            uow.add(_scope_line(recall, unit, place))
    uow.flush()
    _check_all_located(uow, recall)
    emit(uow, "recall.opened", {"recall_id": str(recall.id), "number": recall.number, "mock": mock})
    return recall


def _affected(result: dict) -> list[dict]:
    """The snapshot's affected units, parsed, one per lot or serial: a serial of a lot
    that is in scope as a whole is covered by the lot."""
    units, seen = [], set()
    for raw in (result or {}).get("affected") or []:
        try:
            unit = {
                "item_id": uuid.UUID(str(raw["item_id"])),
                "lot_id": uuid.UUID(str(raw["lot_id"])) if raw.get("lot_id") else None,
                "serial": raw.get("serial") or None,
                "quantity": _decimal(raw.get("quantity")) or Decimal(0),
                "supplier_id": uuid.UUID(str(raw["supplier_id"])) if raw.get("supplier_id") else None,
            }
        except (KeyError, ValueError, TypeError):
            continue
        key = (unit["item_id"], unit["lot_id"], unit["serial"])
        if key not in seen:
            seen.add(key)
            units.append(unit)
    whole_lots = {u["lot_id"] for u in units if u["serial"] is None and u["lot_id"] is not None}
    return [u for u in units if u["serial"] is None or u["lot_id"] not in whole_lots]


def _scope_line(recall: Recall, unit: dict, place: Place, *, reason: str | None = None) -> RecallScope:
    return RecallScope(
        id=new_id(),
        recall_id=recall.id,
        item_id=unit["item_id"],
        lot_id=unit["lot_id"],
        serial=place.serial if place.serial is not None else unit["serial"],
        quantity=place.quantity,
        supplier_id=unit["supplier_id"],
        place=place.place,
        location_id=place.location_id,
        customer_id=place.customer_id,
        state=place.state,
        included=True,
        reason=reason,
    )


def locate(uow, *, item_id: uuid.UUID, lot_id: uuid.UUID | None, serial: str | None, quantity: Decimal) -> list[Place]:
    """Where an affected lot (a quantity) or serial is now: our stock (a place per stock
    row), customers, lots it went into, ship notices on the way; what none accounts for
    is unknown."""
    if serial is not None:
        return [_locate_serial(uow, item_id=item_id, lot_id=lot_id, serial=serial)]
    if lot_id is None:
        return [Place("unknown", quantity, "to_locate")]
    places: list[Place] = []
    for row in uow.session.scalars(
        sa.select(Stock)
        .where(Stock.lot_id == lot_id, Stock.status.in_(ON_HAND), Stock.quantity > 0)
        .order_by(Stock.location_id, Stock.status, Stock.serial.nulls_first(), Stock.id)
    ):
        places.append(Place("stock", row.quantity, "located", serial=row.serial, location_id=row.location_id))
    shipped = uow.execute(
        sa.select(CustomerShipment.customer_id, CustomerShipmentLine.serial, sa.func.sum(CustomerShipmentLine.quantity))
        .join(
            CustomerShipment,
            sa.and_(
                CustomerShipment.tenant_id == CustomerShipmentLine.tenant_id,
                CustomerShipment.id == CustomerShipmentLine.shipment_id,
            ),
        )
        .where(CustomerShipmentLine.lot_id == lot_id)
        .group_by(CustomerShipment.customer_id, CustomerShipmentLine.serial)
        .order_by(CustomerShipment.customer_id, CustomerShipmentLine.serial.nulls_first())
    ).all()
    for customer_id, unit_serial, amount in shipped:
        places.append(Place("customer", amount, "to_locate", serial=unit_serial, customer_id=customer_id))
    consumed = uow.execute(
        sa.select(GenealogyLink.input_serial, sa.func.sum(GenealogyLink.quantity))
        .where(GenealogyLink.input_lot_id == lot_id)
        .group_by(GenealogyLink.input_serial)
        .order_by(GenealogyLink.input_serial.nulls_first())
    ).all()
    for unit_serial, amount in consumed:
        places.append(Place("consumed", amount, "located", serial=unit_serial))
    on_the_way = uow.scalar(
        sa.select(sa.func.sum(AsnLine.quantity))
        .join(Asn, sa.and_(Asn.tenant_id == AsnLine.tenant_id, Asn.id == AsnLine.asn_id))
        .where(AsnLine.lot_id == lot_id, Asn.status.in_(IN_TRANSIT))
    )
    if on_the_way:
        places.append(Place("in_transit", on_the_way, "located"))
    accounted = sum((p.quantity for p in places), Decimal(0))
    if quantity > accounted or not places:
        places.append(Place("unknown", max(quantity - accounted, Decimal(0)), "to_locate"))
    return places


def _locate_serial(uow, *, item_id: uuid.UUID, lot_id: uuid.UUID | None, serial: str) -> Place:
    one = Decimal(1)
    row = uow.session.scalars(
        sa.select(Stock).where(Stock.item_id == item_id, Stock.serial == serial, Stock.status.in_(ON_HAND), Stock.quantity > 0)
    ).first()
    if row is not None:
        return Place("stock", one, "located", serial=serial, location_id=row.location_id)
    customer_id = uow.scalar(
        sa.select(CustomerShipment.customer_id)
        .join(
            CustomerShipmentLine,
            sa.and_(
                CustomerShipment.tenant_id == CustomerShipmentLine.tenant_id,
                CustomerShipment.id == CustomerShipmentLine.shipment_id,
            ),
        )
        .where(CustomerShipmentLine.item_id == item_id, CustomerShipmentLine.serial == serial)
        .order_by(CustomerShipment.shipped_at.desc())
        .limit(1)
    )
    if customer_id is not None:
        return Place("customer", one, "to_locate", serial=serial, customer_id=customer_id)
    if uow.scalar(sa.select(sa.exists().where(GenealogyLink.input_item_id == item_id, GenealogyLink.input_serial == serial))):
        return Place("consumed", one, "located", serial=serial)
    if uow.scalar(
        sa.select(
            sa.exists()
            .where(AsnSerial.item_id == item_id, AsnSerial.serial == serial)
            .where(Asn.tenant_id == AsnSerial.tenant_id, Asn.id == AsnSerial.asn_id, Asn.status.in_(IN_TRANSIT))
        )
    ):
        return Place("in_transit", one, "located", serial=serial)
    return Place("unknown", one, "to_locate", serial=serial)


# --- scope review ----------------------------------------------------------------------------


def add_to_scope(uow, actor, *, recall_id: uuid.UUID, code: str | None, reason: str | None) -> list[RecallScope]:
    """Add a unit by its code (a UDI or any GS1 form with a product code and a lot or
    serial): its lines where it is now, with the reason. A unit already in scope is
    refused; lines of it taken out earlier come back in."""
    require(actor, "recall.run")
    recall = _open_recall(uow, recall_id, lock=True)
    errors: dict[str, str] = {}
    code = checked_text(code, MAX_CODE, "code", errors, required=True)
    reason = checked_text(reason, MAX_NOTE, "reason", errors, required=True)
    if "reason" in errors:
        errors["reason"] = REASON_NEEDED
    if errors:
        raise ValidationFailed(errors=errors)
    item, lot, serial = _unit_of_code(uow, code)
    lines = _lines_of(uow, recall.id)
    lot_id = lot.id if lot else None
    same = [s for s in lines if s.item_id == item.id and s.lot_id == lot_id and (serial is None or s.serial == serial)]
    taken_out = [s for s in same if not s.included]
    if same and not taken_out:
        raise ValidationFailed(errors={"code": ALREADY_IN})
    uow.reason = f"Recall {recall.number}: scope changed"
    if taken_out:
        for line in taken_out:
            line.included, line.reason = True, reason
            _act(uow, actor, recall, "scope_change", scope=line, quantity=line.quantity, note=reason)
        _check_all_located(uow, recall)
        return taken_out
    unit = {"item_id": item.id, "lot_id": lot_id, "serial": serial, "supplier_id": lot.supplier_id if lot else None}
    quantity = Decimal(1) if serial else _lot_quantity(uow, lot.id)
    added = []
    for place in locate(uow, item_id=item.id, lot_id=unit["lot_id"], serial=serial, quantity=quantity):
        line = _scope_line(recall, unit, place, reason=reason)
        uow.add(line)
        added.append(line)
    uow.flush()
    for line in added:
        _act(uow, actor, recall, "scope_change", scope=line, quantity=line.quantity, note=reason)
    if any(line.state == "to_locate" for line in added):
        recall.all_located_at = None
    _check_all_located(uow, recall)
    return added


def take_out_of_scope(uow, actor, *, scope_id: uuid.UUID, reason: str | None) -> RecallScope:
    """Take a line out of scope, with the reason (the line stays, marked out)."""
    require(actor, "recall.run")
    line, recall = _line(uow, scope_id)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(errors={"reason": REASON_NEEDED})
    if len(reason) > MAX_NOTE:
        raise ValidationFailed(errors={"reason": N_("At most 2,000 characters.")})
    if not line.included:
        raise Conflict(ALREADY_OUT)
    uow.reason = f"Recall {recall.number}: scope changed"
    line.included, line.reason = False, reason
    _act(uow, actor, recall, "scope_change", scope=line, quantity=-line.quantity, note=reason)
    uow.flush()
    _check_all_located(uow, recall)
    return line


def _unit_of_code(uow, code: str) -> tuple[Item, Lot | None, str | None]:
    try:
        parsed = parse_code(code)
    except Gs1Invalid as error:
        raise ValidationFailed(errors={"code": error.message}, **error.params) from error
    item = uow.session.scalars(sa.select(Item).where(Item.udi_di == parsed.di)).first() if parsed.di else None
    if item is None or not (parsed.lot or parsed.serial):
        raise ValidationFailed(errors={"code": UNKNOWN_UNIT})
    lot = None
    if parsed.lot:
        lots = list(uow.session.scalars(sa.select(Lot).where(Lot.item_id == item.id, Lot.number == parsed.lot)))
        if not lots:
            raise ValidationFailed(errors={"code": UNKNOWN_UNIT})
        if len(lots) > 1:
            raise ValidationFailed(errors={"code": AMBIGUOUS_LOT})
        lot = lots[0]
    elif parsed.serial:
        lot_id = uow.scalar(sa.select(Stock.lot_id).where(Stock.item_id == item.id, Stock.serial == parsed.serial).limit(1))
        lot = uow.session.get(Lot, (uow.tenant_id, lot_id)) if lot_id else None
        if lot is None:
            raise ValidationFailed(errors={"code": UNKNOWN_UNIT})
    return item, lot, parsed.serial


def _lot_quantity(uow, lot_id: uuid.UUID) -> Decimal:
    """How much of a lot there ever was: its stock rows (on hand, consumed, shipped)."""
    return uow.scalar(sa.select(sa.func.coalesce(sa.func.sum(Stock.quantity), 0)).where(Stock.lot_id == lot_id)) or Decimal(0)


# --- actions ---------------------------------------------------------------------------------


def hold_stock(uow, actor, *, recall_id: uuid.UUID) -> list[RecallScope]:
    """Put every included in-scope stock row in our warehouses on hold at once (a "hold"
    movement naming the recall); held stock cannot be consumed or shipped. A mock recall
    changes no stock: it records what would have been held. Returns the lines held."""
    require(actor, "recall.run")
    recall = _open_recall(uow, recall_id, lock=True)
    lines = [s for s in _lines_of(uow, recall.id) if s.included and s.place == "stock" and s.state in ("located", "to_locate")]
    if not lines:
        raise Conflict(NOTHING_TO_HOLD)
    uow.reason = f"Recall {recall.number}: hold" + (" (mock)" if recall.mock else "")
    held = []
    done: set[uuid.UUID] = set()
    for line in lines:
        amount = line.quantity
        if not recall.mock:
            query = sa.select(Stock).where(
                Stock.lot_id.is_not_distinct_from(line.lot_id),
                Stock.item_id == line.item_id,
                Stock.location_id == line.location_id,
                Stock.status.in_([*HOLDABLE, "on_hold"]),
                Stock.quantity > 0,
            )
            if line.serial is not None:
                query = query.where(Stock.serial == line.serial)
            amount = Decimal(0)
            for row in uow.session.scalars(query.order_by(Stock.id).with_for_update()):
                if row.id in done:
                    continue
                done.add(row.id)
                amount += row.quantity
                if row.status in HOLDABLE:
                    changed = inventory.change_status(
                        uow, actor, stock=row, status="on_hold", kind="hold", reference=("recall", recall.id)
                    )
                    done.add(changed.id)
        line.state = "held"
        _act(uow, actor, recall, "hold", scope=line, quantity=amount)
        held.append(line)
    uow.flush()
    _check_all_located(uow, recall)
    if not recall.mock:
        emit(uow, "recall.stock_held", {"recall_id": str(recall.id), "number": recall.number, "lines": len(held)})
    return held


def notify_suppliers(uow, actor, *, recall_id: uuid.UUID, message: str | None = None) -> list[RecallNotice]:
    """A notice to each supplier whose lots are in scope (not yet notified), read in its
    portal with the lots concerned; its people who acknowledge recalls get an email. A
    mock recall sends nothing: it records who would have been notified (and returns no
    notices)."""
    require(actor, "recall.run")
    recall = _open_recall(uow, recall_id, lock=True)
    errors: dict[str, str] = {}
    message = checked_text(message, MAX_TEXT, "message", errors) or recall.reason
    if errors:
        raise ValidationFailed(errors=errors)
    by_supplier: dict[uuid.UUID, list[RecallScope]] = defaultdict(list)
    for line in _lines_of(uow, recall.id):
        if line.included and line.supplier_id is not None:
            by_supplier[line.supplier_id].append(line)
    if not by_supplier:
        raise Conflict(NO_SUPPLIER)
    already = set(uow.session.scalars(sa.select(RecallNotice.supplier_id).where(RecallNotice.recall_id == recall.id)))
    if recall.mock:
        already |= set(
            uow.session.scalars(
                sa.select(RecallAction.supplier_id).where(
                    RecallAction.recall_id == recall.id, RecallAction.kind == "notify_supplier"
                )
            )
        )
    uow.reason = f"Recall {recall.number}: suppliers notified" + (" (mock)" if recall.mock else "")
    items = inventory.items_by_id(uow, ids={s.item_id for lines in by_supplier.values() for s in lines})
    lots = inventory.lots_by_id(uow, ids={s.lot_id for lines in by_supplier.values() for s in lines})
    notices = []
    for supplier_id, lines in sorted(by_supplier.items(), key=lambda kv: str(kv[0])):
        if supplier_id in already:
            continue
        concerned = _lots_concerned(lines, items, lots)
        quantity = sum((s.quantity for s in lines), Decimal(0))
        _act(uow, actor, recall, "notify_supplier", supplier_id=supplier_id, quantity=quantity)
        if recall.mock:
            continue
        notice = RecallNotice(
            id=new_id(), recall_id=recall.id, supplier_id=supplier_id, message=message, lots=concerned, sent_by=actor.user_id
        )
        uow.add(notice)
        notices.append(notice)
    uow.flush()
    if notices:
        _mail_suppliers(uow, recall, notices)
    return notices


def _lots_concerned(lines: list[RecallScope], items: dict, lots: dict) -> list[dict]:
    concerned: dict[tuple, dict] = {}
    for line in lines:
        item, lot = items.get(line.item_id), lots.get(line.lot_id)
        entry = concerned.setdefault(
            (line.item_id, line.lot_id),
            {
                "item_id": str(line.item_id),
                "item": f"{item.part_number} {item.name}" if item else "",
                "item_zh": f"{item.part_number} {item.name_zh}" if item and item.name_zh else None,
                "lot_id": str(line.lot_id) if line.lot_id else None,
                "lot": lot.number if lot else None,
                "serials": [],
                "quantity": "0",
            },
        )
        if line.serial and line.serial not in entry["serials"]:
            entry["serials"].append(line.serial)
        entry["quantity"] = inventory.plain_quantity(Decimal(entry["quantity"]) + line.quantity)
    return sorted(concerned.values(), key=lambda e: (e["item"], e["lot"] or ""))


def _mail_suppliers(uow, recall: Recall, notices: list[RecallNotice]) -> None:
    tenant = tenants.own_organisation(uow)
    people = tenants.members_holding_by_organisation(
        uow, organisation_ids=[n.supplier_id for n in notices], permission="recall.acknowledge"
    )
    for notice in notices:
        for person in people.get(notice.supplier_id, []):
            chinese = (person.locale or "").startswith("zh")
            queue_mail(
                uow,
                to=person.email,
                template=SUPPLIER_MAIL,
                locale=person.locale,
                context={
                    "full_name": person.full_name,
                    "customer": tenant.name_zh if chinese and tenant and tenant.name_zh else (tenant.name if tenant else ""),
                    "number": recall.number,
                    "title": recall.title,
                    "lot_count": len(notice.lots),
                    "path": f"/traceability/supplier/recall-notices/{notice.id}",
                },
            )


def notify_customers(uow, actor, *, recall_id: uuid.UUID) -> CustomerNotices:
    """Email each customer with in-scope shipments (not yet notified) in the customer's
    language: the recall, what they received of it, what to do. A mock recall sends
    nothing: it records who would have been emailed."""
    require(actor, "recall.run")
    recall = _open_recall(uow, recall_id, lock=True)
    by_customer: dict[uuid.UUID, list[RecallScope]] = defaultdict(list)
    for line in _lines_of(uow, recall.id):
        if line.included and line.place == "customer" and line.customer_id is not None:
            by_customer[line.customer_id].append(line)
    if not by_customer:
        raise Conflict(NO_CUSTOMER)
    already = set(
        uow.session.scalars(
            sa.select(RecallAction.customer_id).where(RecallAction.recall_id == recall.id, RecallAction.kind == "notify_customer")
        )
    )
    customers = customers_by_id(uow, ids=by_customer)
    items = inventory.items_by_id(uow, ids={s.item_id for lines in by_customer.values() for s in lines})
    lots = inventory.lots_by_id(uow, ids={s.lot_id for lines in by_customer.values() for s in lines})
    tenant = tenants.own_organisation(uow)
    uow.reason = f"Recall {recall.number}: customers notified" + (" (mock)" if recall.mock else "")
    result = CustomerNotices()
    for customer_id, lines in sorted(by_customer.items(), key=lambda kv: customers[kv[0]].code):
        customer = customers[customer_id]
        if customer_id in already:
            continue
        if not customer.email:
            result.without_email.append(customer)
            continue
        quantity = sum((s.quantity for s in lines), Decimal(0))
        _act(uow, actor, recall, "notify_customer", customer_id=customer_id, quantity=quantity, note=customer.email)
        result.notified.append(customer)
        if recall.mock:
            continue
        chinese = (customer.locale or "").startswith("zh")
        queue_mail(
            uow,
            to=customer.email,
            template=CUSTOMER_MAIL,
            locale=customer.locale,
            context={
                "customer": customer.name,
                "company": tenant.name_zh if chinese and tenant and tenant.name_zh else (tenant.name if tenant else ""),
                "number": recall.number,
                "title": recall.title,
                "reason": recall.reason,
                "classification": CLASSIFICATION_LABELS[recall.classification],
                "opened_at": recall.created_at,
                "units": [_unit_for_mail(s, items, lots, chinese) for s in lines],
            },
        )
    uow.flush()
    return result


def _unit_for_mail(line: RecallScope, items: dict, lots: dict, chinese: bool) -> dict:
    item, lot = items.get(line.item_id), lots.get(line.lot_id)
    name = (item.name_zh if chinese and item and item.name_zh else item.name) if item else ""
    return {
        "item": f"{item.part_number} {name}" if item else "",
        "udi_di": item.udi_di if item else None,
        "lot": lot.number if lot else None,
        "serial": line.serial,
        "quantity": inventory.plain_quantity(line.quantity),
    }


def record_return(uow, actor, *, scope_id: uuid.UUID, quantity, note: str | None = None) -> RecallScope:
    """A customer sent back (part of) a line: at most what is still out. A return
    locates the line; all of it back makes the line returned."""
    require(actor, "recall.run")
    line, recall = _line(uow, scope_id)
    if line.place != "customer":
        raise Conflict(RETURN_FROM_CUSTOMER)
    amount = _decimal(quantity)
    open_ = line.quantity - line.returned_quantity
    if amount is None or amount <= 0:
        raise ValidationFailed(errors={"quantity": QUANTITY_POSITIVE})
    if amount > open_:
        raise ValidationFailed(errors={"quantity": MORE_THAN_SHIPPED}, open=inventory.plain_quantity(open_))
    note = _note(note)
    uow.reason = f"Recall {recall.number}: return"
    line.returned_quantity += amount
    if line.state != "destroyed":
        line.state = "returned" if line.returned_quantity == line.quantity else "located"
    _act(uow, actor, recall, "return", scope=line, customer_id=line.customer_id, quantity=amount, note=note)
    uow.flush()
    _check_all_located(uow, recall)
    return line


def record_destruction(uow, actor, *, scope_id: uuid.UUID, quantity, note: str | None = None) -> RecallScope:
    """(Part of) a line destroyed: at most the line's quantity. In a real recall, held
    stock of the line is rejected (it can never be used again); a mock recall changes no
    stock."""
    require(actor, "recall.run")
    line, recall = _line(uow, scope_id)
    amount = _decimal(quantity)
    open_ = line.quantity - line.destroyed_quantity
    if amount is None or amount <= 0:
        raise ValidationFailed(errors={"quantity": QUANTITY_POSITIVE})
    if amount > open_:
        raise ValidationFailed(errors={"quantity": MORE_THAN_SCOPE}, open=inventory.plain_quantity(open_))
    note = _note(note)
    uow.reason = f"Recall {recall.number}: destruction"
    if line.place == "stock" and not recall.mock:
        left = amount
        query = sa.select(Stock).where(
            Stock.lot_id.is_not_distinct_from(line.lot_id),
            Stock.item_id == line.item_id,
            Stock.location_id == line.location_id,
            Stock.status.in_(["on_hold", *HOLDABLE]),
            Stock.quantity > 0,
        )
        if line.serial is not None:
            query = query.where(Stock.serial == line.serial)
        for row in uow.session.scalars(query.order_by(Stock.status, Stock.id).with_for_update()):
            if left <= 0:
                break
            take = min(left, row.quantity)
            inventory.change_status(
                uow, actor, stock=row, status="rejected", kind="reject", quantity=take, reference=("recall", recall.id)
            )
            left -= take
    line.destroyed_quantity += amount
    if line.destroyed_quantity == line.quantity:
        line.state = "destroyed"
    elif line.state == "to_locate":
        line.state = "located"
    _act(uow, actor, recall, "destroy", scope=line, quantity=amount, note=note)
    uow.flush()
    _check_all_located(uow, recall)
    return line


def mark_located(uow, actor, *, scope_id: uuid.UUID, note: str | None) -> RecallScope:
    """A line to locate is located: the customer confirmed it, or someone found it. The
    note says how."""
    require(actor, "recall.run")
    line, recall = _line(uow, scope_id)
    note = (note or "").strip()
    if not note:
        raise ValidationFailed(errors={"note": NOTE_NEEDED})
    if len(note) > MAX_NOTE:
        raise ValidationFailed(errors={"note": N_("At most 2,000 characters.")})
    if line.state != "to_locate":
        raise Conflict(ALREADY_LOCATED)
    uow.reason = f"Recall {recall.number}: located"
    line.state = "located"
    _act(uow, actor, recall, "located", scope=line, customer_id=line.customer_id, quantity=line.quantity, note=note)
    uow.flush()
    _check_all_located(uow, recall)
    return line


def add_note(uow, actor, *, recall_id: uuid.UUID, note: str | None) -> RecallAction:
    """A note on the recall's timeline (a call made, a decision taken)."""
    require(actor, "recall.run")
    recall = _open_recall(uow, recall_id)
    note = (note or "").strip()
    if not note:
        raise ValidationFailed(errors={"note": N_("Write the note.")})
    if len(note) > MAX_NOTE:
        raise ValidationFailed(errors={"note": N_("At most 2,000 characters.")})
    uow.reason = f"Recall {recall.number}: note"
    action = _act(uow, actor, recall, "note", note=note)
    uow.flush()
    return action


def close_recall(uow, actor, *, recall_id: uuid.UUID, password: str, otp: str | None = None, settings, cipher) -> Recall:
    """Close a recall, signed (meaning "approved": password, and second factor when
    needed). Refused while any included line is still to locate."""
    require(actor, "recall.run")
    _buyer_only(actor)
    recall = _open_recall(uow, recall_id, lock=True)
    lines = _lines_of(uow, recall.id)
    open_lines = sum(1 for s in lines if s.included and s.state == "to_locate")
    if open_lines:
        raise Conflict(NOT_ALL_LOCATED, open=open_lines)
    now = utcnow()
    signature = signatures.sign(
        uow,
        actor,
        record_type="recall",
        record_id=recall.id,
        content=signed_content(recall, lines, closed_by=actor.user_id),
        meaning=CLOSE_MEANING,
        password=password,
        otp=otp,
        settings=settings,
        cipher=cipher,
    )
    recall.status = "closed"
    recall.closed_at = signature.signed_at or now
    recall.closed_by = actor.user_id
    recall.signature_id = signature.id
    uow.flush()
    emit(uow, "recall.closed", {"recall_id": str(recall.id), "number": recall.number, "mock": recall.mock})
    return recall


def signed_content(recall: Recall, lines: list[RecallScope], *, closed_by) -> dict:
    """What the closing signature covers: the recall and every scope line as it closed."""
    return {
        "recall_id": str(recall.id),
        "number": recall.number,
        "mock": recall.mock,
        "title": recall.title,
        "reason": recall.reason,
        "classification": recall.classification,
        "opened_at": recall.created_at,
        "all_located_at": recall.all_located_at,
        "closed_by": str(closed_by) if closed_by else None,
        "scope": sorted(
            (
                {
                    "item_id": str(s.item_id),
                    "lot_id": str(s.lot_id) if s.lot_id else None,
                    "serial": s.serial,
                    "quantity": inventory.plain_quantity(s.quantity),
                    "place": s.place,
                    "state": s.state,
                    "included": s.included,
                    "returned": inventory.plain_quantity(s.returned_quantity),
                    "destroyed": inventory.plain_quantity(s.destroyed_quantity),
                }
                for s in lines
            ),
            key=lambda d: (d["item_id"], d["lot_id"] or "", d["serial"] or "", d["place"], d["quantity"]),
        ),
    }


# --- supplier side ---------------------------------------------------------------------------


def supplier_notices(uow, actor, *, cursor: str | None = None, limit: int = 50) -> Page[RecallNotice]:
    """The recall notices addressed to the actor's company, newest first (the supplier
    policy shows each supplier its own only)."""
    require(actor, "recall.acknowledge")
    check_limit(limit)
    query = sa.select(RecallNotice)
    if cursor:
        sent_at, row_id = decode_cursor(cursor)
        query = query.where(sa.tuple_(RecallNotice.sent_at, RecallNotice.id) < sa.tuple_(sent_at, row_id))
    rows = list(uow.session.scalars(query.order_by(RecallNotice.sent_at.desc(), RecallNotice.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_cursor=encode_cursor(rows[-1].sent_at, rows[-1].id) if more else None)


def get_notice(uow, actor, *, notice_id: uuid.UUID) -> tuple[RecallNotice, Recall]:
    require_any(actor, "recall.acknowledge", "recall.run")
    notice = uow.session.scalars(sa.select(RecallNotice).where(RecallNotice.id == notice_id)).first()
    if notice is None:
        raise NotFound(NOTICE_NOT_FOUND)
    return notice, uow.session.get(Recall, (uow.tenant_id, notice.recall_id))


def recalls_of_notices(uow, actor, *, notices: list[RecallNotice]) -> dict[uuid.UUID, Recall]:
    """The recalls the notices belong to (a supplier reads them beside its notices)."""
    require_any(actor, "recall.acknowledge", "recall.run")
    ids = list({n.recall_id for n in notices})
    if not ids:
        return {}
    return {r.id: r for r in uow.session.scalars(sa.select(Recall).where(Recall.id.in_(ids)))}


def acknowledge_notice(uow, actor, *, notice_id: uuid.UUID, response: str | None) -> RecallNotice:
    """The supplier acknowledges a notice with its response (what it checked, what it
    will do); the response goes on the recall's timeline."""
    require(actor, "recall.acknowledge")
    if actor.supplier_id is None:
        raise Forbidden(SUPPLIER_ONLY)
    notice = uow.session.scalars(sa.select(RecallNotice).where(RecallNotice.id == notice_id).with_for_update()).first()
    if notice is None:
        raise NotFound(NOTICE_NOT_FOUND)
    response = (response or "").strip()
    if not response:
        raise ValidationFailed(errors={"response": RESPONSE_NEEDED})
    if len(response) > MAX_TEXT:
        raise ValidationFailed(errors={"response": N_("At most 4,000 characters.")})
    if notice.acknowledged_at is not None:
        raise Conflict(ALREADY_ACKNOWLEDGED)
    recall = uow.session.get(Recall, (uow.tenant_id, notice.recall_id))
    uow.reason = f"Recall {recall.number}: acknowledged by the supplier"
    notice.acknowledged_at = utcnow()
    notice.acknowledged_by = actor.user_id
    notice.response = response
    uow.add(
        RecallAction(
            id=new_id(),
            recall_id=notice.recall_id,
            kind="note",
            supplier_id=notice.supplier_id,
            note=response,
            done_by=actor.user_id,
            done_at=notice.acknowledged_at,
        )
    )
    uow.flush()
    return notice


# --- reading ---------------------------------------------------------------------------------


def get_recall(uow, actor, *, recall_id: uuid.UUID) -> Recall:
    require(actor, "recall.run")
    return _recall(uow, recall_id)


def list_recalls(uow, actor, *, state: str | None = None, cursor: str | None = None, limit: int = 50) -> Page[Recall]:
    """Recalls newest first: all, open or closed (real ones), or mock recalls."""
    require(actor, "recall.run")
    check_limit(limit)
    query = sa.select(Recall)
    if state == "open":
        query = query.where(Recall.status == "open", Recall.mock.is_(False))
    elif state == "closed":
        query = query.where(Recall.status == "closed", Recall.mock.is_(False))
    elif state == "mock":
        query = query.where(Recall.mock.is_(True))
    if cursor:
        created_at, row_id = decode_cursor(cursor)
        query = query.where(sa.tuple_(Recall.created_at, Recall.id) < sa.tuple_(created_at, row_id))
    rows = list(uow.session.scalars(query.order_by(Recall.created_at.desc(), Recall.id.desc()).limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(items=rows, next_cursor=encode_cursor(rows[-1].created_at, rows[-1].id) if more else None)


def open_count(uow) -> int:
    """How many real recalls are open (mock recalls left out): the quality dashboard's tile."""
    return uow.scalar(sa.select(sa.func.count()).select_from(Recall).where(Recall.status == "open", Recall.mock.is_(False)))


def scope_of(uow, actor, *, recall_id: uuid.UUID) -> list[RecallScope]:
    require(actor, "recall.run")
    return _lines_of(uow, _recall(uow, recall_id).id)


def timeline(uow, actor, *, recall_id: uuid.UUID) -> list[RecallAction]:
    """The recall's actions, oldest first."""
    require(actor, "recall.run")
    recall = _recall(uow, recall_id)
    return list(
        uow.session.scalars(
            sa.select(RecallAction).where(RecallAction.recall_id == recall.id).order_by(RecallAction.done_at, RecallAction.id)
        )
    )


def notices_of(uow, actor, *, recall_id: uuid.UUID) -> list[RecallNotice]:
    require(actor, "recall.run")
    return list(
        uow.session.scalars(sa.select(RecallNotice).where(RecallNotice.recall_id == recall_id).order_by(RecallNotice.sent_at))
    )


def signature_of(uow, recall: Recall) -> signatures.SignatureView | None:
    """The closing signature, with whether the recall is still what was signed."""
    if recall.signature_id is None:
        return None
    lines = _lines_of(uow, recall.id)
    content = signed_content(recall, lines, closed_by=recall.closed_by)
    views = signatures.signatures_for(uow, record_type="recall", record_id=recall.id, content=content)
    return next((v for v in views if v.id == recall.signature_id), None)


def recall_view(uow, actor, *, recall_id: uuid.UUID) -> RecallView:
    """The recall, its scope, progress, timeline, notices and closing signature, with
    the names of what they refer to."""
    require(actor, "recall.run")
    recall = _recall(uow, recall_id)
    lines = _lines_of(uow, recall.id)
    actions = timeline(uow, actor, recall_id=recall.id)
    notices = notices_of(uow, actor, recall_id=recall.id)
    supplier_ids = {s.supplier_id for s in lines} | {a.supplier_id for a in actions} | {n.supplier_id for n in notices}
    people_ids = {a.done_by for a in actions} | {recall.opened_by, recall.closed_by} | {n.acknowledged_by for n in notices}
    return RecallView(
        recall=recall,
        lines=lines,
        progress=progress_of(recall, lines),
        actions=actions,
        notices=notices,
        signature=signature_of(uow, recall),
        snapshot=uow.session.get(TraceSnapshot, (uow.tenant_id, recall.trace_snapshot_id)) if recall.trace_snapshot_id else None,
        items=inventory.items_by_id(uow, ids={s.item_id for s in lines}),
        lots=inventory.lots_by_id(uow, ids={s.lot_id for s in lines}),
        locations=inventory.locations_by_id(uow, ids={s.location_id for s in lines}),
        customers=customers_by_id(uow, ids={s.customer_id for s in lines} | {a.customer_id for a in actions}),
        suppliers=tenants.organisations_by_id(uow, ids=[i for i in supplier_ids if i]),
        people=people_names(uow, ids=people_ids),
    )


def people_names(uow, *, ids) -> dict[uuid.UUID, str]:
    ids = [i for i in set(ids) if i]
    if not ids:
        return {}
    return dict(uow.execute(sa.select(User.id, User.full_name).where(User.id.in_(ids))).all())


def progress(uow, actor, *, recall_id: uuid.UUID) -> Progress:
    require(actor, "recall.run")
    recall = _recall(uow, recall_id)
    return progress_of(recall, _lines_of(uow, recall.id))


def progress_of(recall: Recall, lines: list[RecallScope]) -> Progress:
    included = [s for s in lines if s.included]
    zero = Decimal(0)
    by_place: dict[str, int] = defaultdict(int)
    for s in included:
        by_place[s.place] += 1
    to_locate = [s for s in included if s.state == "to_locate"]
    return Progress(
        lines=len(included),
        to_locate=len(to_locate),
        located=len(included) - len(to_locate),
        held=sum(1 for s in included if s.state == "held"),
        returned=sum(1 for s in included if s.returned_quantity > 0),
        destroyed=sum(1 for s in included if s.destroyed_quantity > 0),
        quantity=sum((s.quantity for s in included), zero),
        located_quantity=sum((s.quantity for s in included if s.state != "to_locate"), zero),
        held_quantity=sum((s.quantity for s in included if s.state == "held"), zero),
        returned_quantity=sum((s.returned_quantity for s in included), zero),
        destroyed_quantity=sum((s.destroyed_quantity for s in included), zero),
        by_place=dict(by_place),
        excluded=len(lines) - len(included),
        all_located=bool(included) and not to_locate,
        elapsed=(recall.all_located_at - recall.created_at) if recall.all_located_at and recall.created_at else None,
    )


def customers_by_id(uow, *, ids) -> dict[uuid.UUID, Customer]:
    ids = [i for i in set(ids) if i]
    if not ids:
        return {}
    return {c.id: c for c in uow.session.scalars(sa.select(Customer).where(Customer.id.in_(ids)))}


def snapshot_for(uow, actor, *, snapshot_id: uuid.UUID) -> TraceSnapshot:
    """The trace a new recall would open from (the new-recall form shows what it found)."""
    require(actor, "recall.run")
    snapshot = uow.session.get(TraceSnapshot, (uow.tenant_id, snapshot_id))
    if snapshot is None:
        raise NotFound(SNAPSHOT_NOT_FOUND)
    return snapshot


def affected_units(snapshot: TraceSnapshot) -> list[dict]:
    return _affected(snapshot.result)


def format_elapsed(elapsed: timedelta | None) -> str | None:
    """h:mm:ss (days as hours), the way a stopwatch shows it."""
    if elapsed is None:
        return None
    seconds = max(int(elapsed.total_seconds()), 0)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


# --- helpers ---------------------------------------------------------------------------------


def _buyer_only(actor) -> None:
    if actor.supplier_id is not None:
        raise Forbidden()


def _recall(uow, recall_id, *, lock: bool = False) -> Recall:
    query = sa.select(Recall).where(Recall.id == recall_id)
    recall = uow.session.scalars(query.with_for_update() if lock else query).first()
    if recall is None:
        raise NotFound(RECALL_NOT_FOUND)
    return recall


def _open_recall(uow, recall_id, *, lock: bool = False) -> Recall:
    recall = _recall(uow, recall_id, lock=lock)
    if recall.status != "open":
        raise Conflict(CLOSED)
    return recall


def _line(uow, scope_id) -> tuple[RecallScope, Recall]:
    line = uow.session.scalars(sa.select(RecallScope).where(RecallScope.id == scope_id).with_for_update()).first()
    if line is None:
        raise NotFound(SCOPE_NOT_FOUND)
    return line, _open_recall(uow, line.recall_id, lock=True)


def _lines_of(uow, recall_id: uuid.UUID) -> list[RecallScope]:
    return list(
        uow.session.scalars(
            sa.select(RecallScope)
            .where(RecallScope.recall_id == recall_id)
            .order_by(
                RecallScope.place, RecallScope.item_id, RecallScope.lot_id, RecallScope.serial.nulls_first(), RecallScope.id
            )
        )
    )


def _act(uow, actor, recall: Recall, kind: str, *, scope=None, supplier_id=None, customer_id=None, quantity=None, note=None):
    action = RecallAction(
        id=new_id(),
        recall_id=recall.id,
        kind=kind,
        scope_id=scope.id if scope is not None else None,
        supplier_id=supplier_id if supplier_id is not None else (scope.supplier_id if scope is not None else None),
        customer_id=customer_id,
        quantity=quantity,
        note=note,
        done_by=actor.user_id,
        done_at=utcnow(),
    )
    uow.add(action)
    return action


def _check_all_located(uow, recall: Recall) -> None:
    """Record the moment every included line is located (once; a line to locate added
    later clears it)."""
    uow.flush()
    lines = [s for s in _lines_of(uow, recall.id) if s.included]
    located = bool(lines) and all(s.state != "to_locate" for s in lines)
    if located and recall.all_located_at is None:
        recall.all_located_at = utcnow()
    elif not located and recall.all_located_at is not None:
        recall.all_located_at = None
    uow.flush()


def _note(note: str | None) -> str | None:
    note = (note or "").strip() or None
    if note and len(note) > MAX_NOTE:
        raise ValidationFailed(errors={"note": N_("At most 2,000 characters.")})
    return note


def _decimal(value) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        amount = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() else None
