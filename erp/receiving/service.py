"""Receiving by scan: the warehouse opens a receipt for a ship notice (or scans one of its
SSCCs), scans packages and units, and closes it.

Each scan says at once what it found: matched (on the ASN, received), unexpected
(received into quarantine but flagged: a lot or serial the ASN does not list, a package
of no ASN - that one is only recorded) or refused (nothing written: a serial received
already, an item this ASN does not ship, a code that is not valid). Everything received
goes into the receipt's location in quarantine, a stock row and a "receipt" movement per
received line, for quality to release.

A scan is a handful of indexed lookups (the SSCC, the item's UDI-DI, the serial on the
tenant's ASNs, the serial among receipts) and three inserts; it never loads the whole
ASN, so its cost does not grow with the ASN or the tenant's history. Cases whose contents
are not serialised are received as shipped when their SSCC is scanned; serialised units
need their own scans. Closing compares the ASN with what its receipts found: short,
over and missing packages become discrepancies, and the ASN is received or partially
received.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert

from auth.permissions import require, require_any
from erp import fields
from erp.gs1.errors import Gs1Invalid
from erp.gs1.parse import parse_code
from erp.inventory.locations import receiving_location
from erp.inventory.models import LOT_MAX, Location, Lot, Stock, StockMovement
from erp.items.models import Item
from erp.receiving import inspection
from erp.receiving.errors import AsnNotReceivable, NothingToReceive, ReceiptClosed, ReceiptNotFound
from erp.receiving.models import Discrepancy, Receipt, ReceiptLine
from erp.shipping import service as shipping
from erp.shipping.models import SERIAL_MAX, Asn, AsnLine, AsnPackage, AsnSerial
from kernel.clock import utcnow
from kernel.errors import N_, REQUIRED, TOO_LONG, ValidationFailed, checked_text
from kernel.ids import new_id
from kernel.outbox import emit
from tenants import service as tenants
from tenants.models import Organisation

# The ship notices a truck can bring: sent, on the way, or part received already.
RECEIVABLE = ("submitted", "in_transit", "partially_received")
MATCHED, UNEXPECTED, REFUSED = "matched", "unexpected", "refused"
MAX_NOTE = 500
MAX_CODE = 1000

# What a scan says (the screen shows it in the operator's language, with its params).
PALLET_FOUND = N_("Pallet %(sscc)s is on the ship notice: scan its cases.")
CASE_RECEIVED = N_("Case %(sscc)s is on the ship notice: %(quantity)s received as shipped.")
CASE_UNITS = N_("Case %(sscc)s is on the ship notice: scan its %(units)s serialised units.")
CASE_RECEIVED_UNITS = N_("Case %(sscc)s: %(quantity)s received as shipped; now scan its %(units)s serialised units.")
PACKAGE_AGAIN = N_("Case %(sscc)s was received already.")
EXTRA_PACKAGE = N_("Package %(sscc)s is not on this ship notice: recorded as an extra package. Put it aside.")
EXTRA_AGAIN = N_("Package %(sscc)s is recorded as an extra package already.")
PACKAGE_WITHOUT_ASN = N_("This receipt has no ship notice: scan the units' labels, or enter the item below.")
UNIT_MATCHED = N_("%(item)s serial %(serial)s, lot %(lot)s: on the ship notice, received.")
QUANTITY_MATCHED = N_("%(quantity)s × %(item)s, lot %(lot)s: on the ship notice, received.")
WRONG_LOT = N_("%(item)s lot %(lot)s is not on the ship notice (it lists %(expected)s): received into quarantine and flagged.")
UNKNOWN_SERIAL = N_("%(item)s serial %(serial)s is not on the ship notice: received into quarantine and flagged.")
WITHOUT_ASN = N_("%(quantity)s × %(item)s, lot %(lot)s, serial %(serial)s: received without a ship notice.")
SERIAL_AGAIN = N_("%(item)s serial %(serial)s was received already (%(receipt)s).")
NOT_ON_ASN = N_("%(item)s is not on this ship notice. Put it aside and tell the buyer.")
UNKNOWN_ITEM = N_("No item has the product code %(code)s.")
NO_CODE = N_("This code holds neither an SSCC nor a product code: scan a case label or a unit label.")
SERIAL_NEEDED = N_("%(item)s is serialised: scan the unit's label with its serial.")
LOT_NEEDED = N_("%(item)s is lot-controlled: scan a label with its lot.")
# Form messages.
CHOOSE_LINE = N_("Choose a line of the ship notice.")
CHOOSE_ITEM = N_("Choose an item.")
CHOOSE_SUPPLIER = N_("Choose one of your suppliers.")
UNKNOWN_LOCATION = N_("Choose a location.")
POSITIVE = N_("Enter a quantity greater than zero.")
NO_ASN_DAMAGE = N_("Damage is recorded against a line of the ship notice; this receipt has none.")
NONE = "—"


@dataclass
class LineCount:
    """Expected and received (by all receipts of the ASN) of one ASN line."""

    asn_line_id: uuid.UUID
    line_no: int
    expected: Decimal
    received: Decimal


@dataclass
class ScanResult:
    kind: str  # matched / unexpected / refused
    message: str  # a catalog key; params fill it in the reader's language
    params: dict = field(default_factory=dict)
    flag: str | None = None  # the discrepancy kind recorded, if any
    counts: list[LineCount] = field(default_factory=list)


@dataclass
class LineProgress:
    line: AsnLine
    item: Item
    package_sscc: str | None
    serialised: bool
    expected: Decimal
    received: Decimal
    damaged: Decimal

    @property
    def state(self) -> str:
        if self.received == self.expected:
            return "complete"
        if self.received > self.expected:
            return "over"
        return "open" if self.received == 0 else "short"


@dataclass
class PackageProgress:
    package: AsnPackage
    found: bool


@dataclass
class Progress:
    """A receipt as its page shows it: the ASN's lines and packages against what came."""

    receipt: Receipt
    asn: Asn | None
    supplier: Organisation | None
    location: Location
    lines: list[LineProgress]
    packages: list[PackageProgress]
    unexpected: list[ReceiptLine]  # received against no ASN line (flagged, or no ASN at all)
    discrepancies: list[Discrepancy]
    items: dict[uuid.UUID, Item]
    lots: dict[uuid.UUID, str]


@dataclass
class ReceiptRow:
    receipt: Receipt
    asn_number: str | None
    supplier_name: str
    supplier_name_zh: str | None
    site_name: str


# --- starting ----------------------------------------------------------------------------


def start_receipt(
    uow,
    actor,
    *,
    asn_id: uuid.UUID | None = None,
    sscc: str | None = None,
    site_id: uuid.UUID | None = None,
    location_id: uuid.UUID | None = None,
    supplier_id: uuid.UUID | None = None,
) -> Receipt:
    """A receipt of an ASN (named, or by any of its SSCCs), into the ship-to site's
    receiving location unless another is named; the ASN's open receipt when it has one
    (a second scanner joins the truck being unloaded). With neither, a receipt without a
    ship notice at `site_id` (flagged), of `supplier_id` when known."""
    require(actor, "receipt.scan")
    if sscc is not None and asn_id is None:
        asn_id = uow.scalar(sa.select(AsnPackage.asn_id).where(AsnPackage.sscc == sscc))
        if asn_id is None:
            raise NothingToReceive()
    if asn_id is None:
        return _without_asn(uow, actor, site_id=site_id, location_id=location_id, supplier_id=supplier_id)
    asn = uow.scalar(sa.select(Asn).where(Asn.id == asn_id))
    if asn is None:
        raise NothingToReceive()
    if asn.status not in RECEIVABLE:
        raise AsnNotReceivable(number=asn.number)
    current = uow.scalar(
        sa.select(Receipt).where(Receipt.asn_id == asn.id, Receipt.status == "open").order_by(Receipt.created_at).limit(1)
    )
    if current is not None:
        return current
    location = _location(uow, asn.ship_to_site_id, location_id)
    receipt = _new(uow, actor, asn_id=asn.id, supplier_id=asn.supplier_id, site_id=asn.ship_to_site_id, location=location)
    if asn.status == "submitted":
        asn.status = "in_transit"  # it is at the dock: on its way no more than that until closed
        uow.flush()
    return receipt


def start_from_code(uow, actor, *, text: str) -> Receipt:
    """The Receiving page's box: an SSCC (scanned or typed) or an ASN number."""
    require(actor, "receipt.scan")
    text = (text or "").strip()
    if not text or len(text) > MAX_CODE:
        raise NothingToReceive()
    asn_id = uow.scalar(sa.select(Asn.id).where(Asn.number == text.upper()))
    if asn_id is not None:
        return start_receipt(uow, actor, asn_id=asn_id)
    sscc = _sscc_in(text)
    if sscc is None:
        raise NothingToReceive()
    return start_receipt(uow, actor, sscc=sscc)


def _sscc_in(text: str) -> str | None:
    if len(text) == 18 and text.isdigit():
        return text
    try:
        return parse_code(text).sscc
    except Gs1Invalid:
        return None


def _without_asn(uow, actor, *, site_id, location_id, supplier_id) -> Receipt:
    errors: dict[str, str] = {}
    if site_id is None:
        errors["site_id"] = REQUIRED
    if supplier_id is not None and uow.scalar(
        sa.select(Organisation.id).where(Organisation.id == supplier_id, Organisation.kind == "supplier")
    ) is None:
        errors["supplier_id"] = CHOOSE_SUPPLIER
    if errors:
        raise ValidationFailed(errors=errors)
    location = _location(uow, site_id, location_id)
    return _new(uow, actor, asn_id=None, supplier_id=supplier_id, site_id=site_id, location=location, without_asn=True)


def _location(uow, site_id, location_id) -> Location:
    if location_id is None:
        return receiving_location(uow, site_id)
    location = uow.scalar(sa.select(Location).where(Location.id == location_id))
    if location is None:
        raise ValidationFailed(errors={"location_id": UNKNOWN_LOCATION})
    return location


def _new(uow, actor, *, location: Location, **values) -> Receipt:
    receipt = Receipt(
        number=tenants.next_number(uow, name="RCV", prefix="RCV", year=utcnow().year),
        location_id=location.id,
        status="open",
        received_by=actor.user_id,
        **values,
    )
    uow.add(receipt)
    uow.flush()
    return receipt


# --- scanning ----------------------------------------------------------------------------


def scan(uow, actor, *, receipt_id: uuid.UUID, text: str) -> ScanResult:
    """Read one scanned code into the receipt: a package (SSCC) or a unit (GTIN with its
    lot, serial or count). Refusals write nothing; the code's own faults come back as
    refusals too, so the operator sees them where every scan's result is shown."""
    require(actor, "receipt.scan")
    receipt = _open(uow, receipt_id)
    text = (text or "").strip()[:MAX_CODE]
    if len(text) == 18 and text.isdigit():  # an SSCC typed from the label's digits
        return _package(uow, actor, receipt, text)
    try:
        code = parse_code(text)
    except Gs1Invalid as error:
        return ScanResult(REFUSED, error.message, dict(error.params))
    if code.sscc:
        return _package(uow, actor, receipt, code.sscc)
    if code.di:
        item = uow.scalar(sa.select(Item).where(Item.udi_di == code.di))
        if item is None:
            return ScanResult(REFUSED, UNKNOWN_ITEM, {"code": code.di})
        quantity = Decimal(code.quantity) if code.quantity and not code.serial else Decimal(1)
        return _unit(uow, actor, receipt, item, lot=code.lot, serial=code.serial, quantity=quantity)
    return ScanResult(REFUSED, NO_CODE)


def receive_item(
    uow, actor, *, receipt_id: uuid.UUID, item_id, lot: str | None = None, serial: str | None = None, quantity=None
) -> ScanResult:
    """What a label does not say, typed: an item with its lot and a serial or a quantity
    (a receipt without a ship notice, or a label that will not scan). Checked like a scan."""
    require(actor, "receipt.scan")
    receipt = _open(uow, receipt_id)
    errors: dict[str, str] = {}
    item = uow.scalar(sa.select(Item).where(Item.id == item_id)) if isinstance(item_id, uuid.UUID) else None
    if item is None:
        errors["item_id"] = CHOOSE_ITEM
    lot = checked_text(lot, LOT_MAX, "lot", errors)
    serial = checked_text(serial, SERIAL_MAX, "serial", errors)
    amount = Decimal(1) if serial else _quantity(quantity, errors)
    if errors:
        raise ValidationFailed(errors=errors)
    return _unit(uow, actor, receipt, item, lot=lot, serial=serial, quantity=amount)


def _open(uow, receipt_id) -> Receipt:
    receipt = uow.scalar(sa.select(Receipt).where(Receipt.id == receipt_id))
    if receipt is None:
        raise ReceiptNotFound()
    if receipt.status != "open":
        raise ReceiptClosed()
    return receipt


def _package(uow, actor, receipt: Receipt, sscc: str) -> ScanResult:
    if receipt.asn_id is None:
        return ScanResult(REFUSED, PACKAGE_WITHOUT_ASN, {"sscc": sscc})
    package = uow.scalar(sa.select(AsnPackage).where(AsnPackage.sscc == sscc))
    if package is None or package.asn_id != receipt.asn_id:
        return _extra_package(uow, actor, receipt, sscc)
    lines = list(
        uow.session.scalars(
            sa.select(AsnLine).where(AsnLine.asn_id == receipt.asn_id, AsnLine.package_id == package.id).order_by(AsnLine.line_no)
        )
    )
    if not lines:
        return ScanResult(MATCHED, PALLET_FOUND, {"sscc": sscc})
    serialised = set(
        uow.session.scalars(sa.select(AsnSerial.asn_line_id).where(AsnSerial.asn_line_id.in_([x.id for x in lines])).distinct())
    )
    loose = [x for x in lines if x.id not in serialised]
    units = fields.plain(sum((x.quantity for x in lines if x.id in serialised), Decimal(0)))
    if not loose:
        return ScanResult(MATCHED, CASE_UNITS, {"sscc": sscc, "units": units}, counts=_counts(uow, receipt, lines))
    if _case_received(uow, receipt, sscc):
        return ScanResult(REFUSED, PACKAGE_AGAIN, {"sscc": sscc}, counts=_counts(uow, receipt, lines))
    for line in loose:
        _receive(uow, actor, receipt, item_id=line.item_id, lot_id=line.lot_id, serial=None, quantity=line.quantity,
                 asn_line_id=line.id, sscc=sscc)
    quantity = fields.plain(sum((x.quantity for x in loose), Decimal(0)))
    message, params = CASE_RECEIVED, {"sscc": sscc, "quantity": quantity}
    if serialised:
        message, params = CASE_RECEIVED_UNITS, params | {"units": units}
    return ScanResult(MATCHED, message, params, counts=_counts(uow, receipt, lines))


def _case_received(uow, receipt: Receipt, sscc: str) -> bool:
    """Whether a receipt of this ASN took the case's contents as shipped already."""
    return uow.scalar(
        sa.select(ReceiptLine.id)
        .where(ReceiptLine.receipt_id.in_(_receipts_of(receipt.asn_id)), ReceiptLine.package_sscc == sscc,
               ReceiptLine.serial.is_(None))
        .limit(1)
    ) is not None


def _extra_package(uow, actor, receipt: Receipt, sscc: str) -> ScanResult:
    recorded = uow.scalar(
        sa.select(Discrepancy.id).where(
            Discrepancy.receipt_id == receipt.id, Discrepancy.kind == "extra_package", Discrepancy.sscc == sscc
        )
    )
    if recorded is not None:
        return ScanResult(UNEXPECTED, EXTRA_AGAIN, {"sscc": sscc}, flag="extra_package")
    _flag(uow, actor, receipt, "extra_package", sscc=sscc)
    return ScanResult(UNEXPECTED, EXTRA_PACKAGE, {"sscc": sscc}, flag="extra_package")


def _unit(uow, actor, receipt: Receipt, item: Item, *, lot, serial, quantity: Decimal) -> ScanResult:
    """A unit (serial) or a quantity of one item and lot, matched against the ASN."""
    params = {"item": item.part_number, "lot": lot or NONE, "serial": serial or NONE, "quantity": fields.plain(quantity)}
    if item.label_serial and not serial:
        return ScanResult(REFUSED, SERIAL_NEEDED, params)
    if item.label_lot and not lot:
        return ScanResult(REFUSED, LOT_NEEDED, params)
    if serial:
        taken = uow.scalar(
            sa.select(Receipt.number)
            .join(ReceiptLine, ReceiptLine.receipt_id == Receipt.id)
            .where(ReceiptLine.item_id == item.id, ReceiptLine.serial == serial)
        )
        if taken is not None:
            return ScanResult(REFUSED, SERIAL_AGAIN, params | {"receipt": taken})
    if receipt.asn_id is None:
        return _received(uow, actor, receipt, item, lot=lot, serial=serial, quantity=quantity, line=None,
                         result=ScanResult(MATCHED, WITHOUT_ASN, params))
    line = _shipped_line(uow, receipt, item, lot=lot, serial=serial)
    if line is not None:
        return _received(uow, actor, receipt, item, lot=lot, serial=serial, quantity=quantity, line=line,
                         result=ScanResult(MATCHED, UNIT_MATCHED if serial else QUANTITY_MATCHED, params))
    lines = list(
        uow.session.scalars(
            sa.select(AsnLine).where(AsnLine.asn_id == receipt.asn_id, AsnLine.item_id == item.id).order_by(AsnLine.line_no)
        )
    )
    if not lines:
        return ScanResult(REFUSED, NOT_ON_ASN, params)
    # On the ASN as an item, not as this unit: received into quarantine (it is here, and
    # quality decides), against no ASN line, and flagged.
    if serial and _serial_on_asn(uow, receipt, item, serial) is None:
        kind, message = "unknown_serial", UNKNOWN_SERIAL
    else:
        kind, message = "unexpected_lot", WRONG_LOT
    expected = ", ".join(sorted({x.lot or NONE for x in lines}))
    _flag(uow, actor, receipt, kind, item_id=item.id, lot=lot, serial=serial, quantity=quantity)
    return _received(uow, actor, receipt, item, lot=lot, serial=serial, quantity=quantity, line=None,
                     result=ScanResult(UNEXPECTED, message, params | {"expected": expected}, flag=kind,
                                       counts=_counts(uow, receipt, lines)))


def _serial_on_asn(uow, receipt: Receipt, item: Item, serial: str) -> AsnSerial | None:
    """The serial as this ASN ships it (the tenant-wide unique index finds it)."""
    shipped = uow.scalar(sa.select(AsnSerial).where(AsnSerial.item_id == item.id, AsnSerial.serial == serial))
    return shipped if shipped is not None and shipped.asn_id == receipt.asn_id else None


def _shipped_line(uow, receipt: Receipt, item: Item, *, lot, serial) -> AsnLine | None:
    """The ASN line the unit matches: its serial's line with the same lot, or for a
    quantity the item's line of that lot."""
    if serial:
        shipped = _serial_on_asn(uow, receipt, item, serial)
        if shipped is None:
            return None
        line = uow.scalar(sa.select(AsnLine).where(AsnLine.id == shipped.asn_line_id))
        return line if (line.lot or None) == (lot or None) or lot is None else None
    return uow.scalar(
        sa.select(AsnLine)
        .where(AsnLine.asn_id == receipt.asn_id, AsnLine.item_id == item.id,
               AsnLine.lot == lot if lot else AsnLine.lot.is_(None))
        .order_by(AsnLine.line_no)
        .limit(1)
    )


def _received(uow, actor, receipt: Receipt, item: Item, *, lot, serial, quantity, line: AsnLine | None,
              result: ScanResult) -> ScanResult:
    if line is not None:
        lot_id = line.lot_id
        sscc = uow.scalar(sa.select(AsnPackage.sscc).where(AsnPackage.id == line.package_id)) if line.package_id else None
    else:
        lot_id, sscc = _lot_id(uow, item.id, receipt.supplier_id, lot), None
    written = _receive(uow, actor, receipt, item_id=item.id, lot_id=lot_id, serial=serial, quantity=quantity,
                       asn_line_id=line.id if line else None, sscc=sscc)
    if not written:  # another scanner took this serial a moment ago
        return ScanResult(REFUSED, SERIAL_AGAIN, result.params | {"receipt": receipt.number})
    if line is not None:
        result.counts = _counts(uow, receipt, [line])
    return result


def _lot_id(uow, item_id: uuid.UUID, supplier_id: uuid.UUID | None, number: str | None) -> uuid.UUID | None:
    """The lot of that number of the item by the supplier, made when first seen."""
    if not number:
        return None
    supplier = Lot.supplier_id.is_(None) if supplier_id is None else Lot.supplier_id == supplier_id
    found = uow.scalar(sa.select(Lot.id).where(Lot.item_id == item_id, supplier, Lot.number == number))
    if found is not None:
        return found
    lot = Lot(item_id=item_id, supplier_id=supplier_id, number=number)
    uow.add(lot)
    uow.flush()
    return lot.id


def _receive(uow, actor, receipt: Receipt, *, item_id, lot_id, serial, quantity: Decimal, asn_line_id, sscc) -> bool:
    """A receipt line, its quarantine stock and the receipt movement; False when the
    serial was received by someone else in the meantime (the unique index decides)."""
    line = insert(ReceiptLine).values(
        id=new_id(), receipt_id=receipt.id, supplier_id=receipt.supplier_id, asn_line_id=asn_line_id, item_id=item_id,
        lot_id=lot_id, serial=serial, quantity=quantity, package_sscc=sscc,
    )
    if serial:
        line = line.on_conflict_do_nothing(
            index_elements=["tenant_id", "item_id", "serial"], index_where=sa.text("serial IS NOT NULL")
        )
    if uow.scalar(line.returning(ReceiptLine.id)) is None:
        return False
    place = {"item_id": item_id, "lot_id": lot_id, "serial": serial, "quantity": quantity, "supplier_id": receipt.supplier_id}
    uow.execute(insert(Stock).values(id=new_id(), location_id=receipt.location_id, status="quarantine", **place))
    uow.execute(
        insert(StockMovement).values(
            id=new_id(), kind="receipt", to_location_id=receipt.location_id, to_status="quarantine",
            reference_kind="receipt", reference_id=receipt.id, moved_by=actor.user_id, **place,
        )
    )
    return True


def _flag(uow, actor, receipt: Receipt, kind: str, **values) -> Discrepancy:
    discrepancy = Discrepancy(
        receipt_id=receipt.id, supplier_id=receipt.supplier_id, kind=kind, created_by=actor.user_id, **values
    )
    uow.add(discrepancy)
    uow.flush()
    return discrepancy


def _receipts_of(asn_id: uuid.UUID):
    return sa.select(Receipt.id).where(Receipt.asn_id == asn_id).scalar_subquery()


def _received_by_line(uow, asn_id: uuid.UUID, line_ids=None) -> dict[uuid.UUID, Decimal]:
    """Received per ASN line, by every receipt of the ASN."""
    stmt = sa.select(ReceiptLine.asn_line_id, sa.func.sum(ReceiptLine.quantity)).where(
        ReceiptLine.receipt_id.in_(_receipts_of(asn_id)), ReceiptLine.asn_line_id.is_not(None)
    )
    if line_ids is not None:
        stmt = stmt.where(ReceiptLine.asn_line_id.in_(line_ids))
    return dict(uow.session.execute(stmt.group_by(ReceiptLine.asn_line_id)).all())


def _counts(uow, receipt: Receipt, lines: list[AsnLine]) -> list[LineCount]:
    received = _received_by_line(uow, receipt.asn_id, [x.id for x in lines])
    return [LineCount(x.id, x.line_no, x.quantity, received.get(x.id, Decimal(0))) for x in lines]


def _quantity(value, errors: dict[str, str], field_name: str = "quantity") -> Decimal | None:
    try:
        amount = Decimal(str(value).strip()) if value not in (None, "") else None
    except InvalidOperation:
        amount = None
    if amount is None or not amount.is_finite() or amount <= 0:
        errors[field_name] = POSITIVE
        return None
    if amount.as_tuple().exponent < -4 or amount >= 10**14:
        errors[field_name] = TOO_LONG
        return None
    return amount


# --- damage and closing ------------------------------------------------------------------


def record_damage(uow, actor, *, receipt_id: uuid.UUID, asn_line_id, quantity, note: str | None = None) -> Discrepancy:
    """A damaged quantity of an ASN line (it came, and counts as received)."""
    require(actor, "receipt.scan")
    receipt = _open(uow, receipt_id)
    errors: dict[str, str] = {}
    if receipt.asn_id is None:
        raise ValidationFailed(errors={"asn_line_id": NO_ASN_DAMAGE})
    line = (
        uow.scalar(sa.select(AsnLine).where(AsnLine.id == asn_line_id, AsnLine.asn_id == receipt.asn_id))
        if isinstance(asn_line_id, uuid.UUID)
        else None
    )
    if line is None:
        errors["asn_line_id"] = CHOOSE_LINE
    amount = _quantity(quantity, errors)
    note = checked_text(note, MAX_NOTE, "note", errors)
    if errors:
        raise ValidationFailed(errors=errors)
    return _flag(uow, actor, receipt, "damaged", asn_line_id=line.id, item_id=line.item_id, lot=line.lot, quantity=amount,
                 note=note)


def close_receipt(uow, actor, *, receipt_id: uuid.UUID) -> Receipt:
    """Close the receipt: short and over per ASN line (against everything the ASN's
    receipts found) and packages nothing was found of become discrepancies; the ASN is
    received when every line is complete, partially received otherwise. Opens the
    incoming inspections and emits receipt.closed."""
    require(actor, "receipt.scan")
    receipt = _open(uow, receipt_id)
    if receipt.asn_id is not None:
        _compare(uow, actor, receipt)
    receipt.status = "closed"
    receipt.closed_at = utcnow()
    uow.flush()
    inspection.open_inspections(uow, actor, receipt_id=receipt.id)
    counts = dict(
        uow.session.execute(
            sa.select(Discrepancy.kind, sa.func.count()).where(Discrepancy.receipt_id == receipt.id).group_by(Discrepancy.kind)
        ).all()
    )
    emit(
        uow,
        "receipt.closed",
        {
            "receipt_id": str(receipt.id),
            "number": receipt.number,
            "asn_id": str(receipt.asn_id) if receipt.asn_id else None,
            "supplier_id": str(receipt.supplier_id) if receipt.supplier_id else None,
            "without_asn": receipt.without_asn,
            "discrepancies": counts,
        },
    )
    return receipt


def _compare(uow, actor, receipt: Receipt) -> None:
    asn = uow.scalar(sa.select(Asn).where(Asn.id == receipt.asn_id))
    lines = list(uow.session.scalars(sa.select(AsnLine).where(AsnLine.asn_id == asn.id).order_by(AsnLine.line_no)))
    received = _received_by_line(uow, asn.id)
    complete = True
    for line in lines:
        difference = received.get(line.id, Decimal(0)) - line.quantity
        if difference:
            complete = complete and difference > 0
            _flag(uow, actor, receipt, "short" if difference < 0 else "over", asn_line_id=line.id, item_id=line.item_id,
                  lot=line.lot, quantity=abs(difference))
    found = _found_packages(uow, asn.id)
    for package in uow.session.scalars(sa.select(AsnPackage).where(AsnPackage.asn_id == asn.id).order_by(AsnPackage.seq)):
        if package.id not in found:
            _flag(uow, actor, receipt, "missing_package", sscc=package.sscc)
    asn.status = "received" if complete else "partially_received"
    uow.flush()


def _found_packages(uow, asn_id: uuid.UUID) -> set[uuid.UUID]:
    """Packages anything was received from, and the pallets holding them."""
    packages = {p.sscc: p for p in uow.session.scalars(sa.select(AsnPackage).where(AsnPackage.asn_id == asn_id))}
    seen = set(
        uow.session.scalars(
            sa.select(ReceiptLine.package_sscc).where(ReceiptLine.receipt_id.in_(_receipts_of(asn_id))).distinct()
        )
    )
    found = {packages[s].id for s in seen if s in packages}
    found |= {p.parent_id for p in packages.values() if p.id in found and p.parent_id}
    return found


# --- reading ------------------------------------------------------------------------------


def get_receipt(uow, actor, *, receipt_id: uuid.UUID) -> Receipt:
    require_any(actor, "receipt.scan", "stock.view")
    receipt = uow.scalar(sa.select(Receipt).where(Receipt.id == receipt_id))
    if receipt is None:
        raise ReceiptNotFound()
    return receipt


def list_receipts(uow, actor, *, limit: int = 50) -> list[ReceiptRow]:
    """Receipts, the open ones first, then newest first."""
    require_any(actor, "receipt.scan", "stock.view")
    found = list(
        uow.session.scalars(
            sa.select(Receipt)
            .order_by(sa.case((Receipt.status == "open", 0), else_=1), Receipt.created_at.desc(), Receipt.id.desc())
            .limit(limit)
        )
    )
    asns = dict(
        uow.session.execute(sa.select(Asn.id, Asn.number).where(Asn.id.in_({r.asn_id for r in found if r.asn_id}))).all()
    )
    organisations = tenants.organisations_by_id(uow, ids={r.supplier_id for r in found if r.supplier_id})
    sites = tenants.sites_by_id(uow, ids={r.site_id for r in found if r.site_id})
    rows = []
    for receipt in found:
        supplier = organisations.get(receipt.supplier_id)
        site = sites.get(receipt.site_id)
        rows.append(
            ReceiptRow(
                receipt, asns.get(receipt.asn_id), supplier.name if supplier else "", supplier.name_zh if supplier else None,
                site.name if site else "",
            )
        )
    return rows


def incoming_asns(uow, actor, *, limit: int = 50) -> list[shipping.AsnRow]:
    """Ship notices a truck may bring, by expected arrival."""
    require(actor, "receipt.scan")
    rows, _ = shipping.asn_rows(uow, actor, statuses=RECEIVABLE, limit=limit)
    return rows


def expected_vs_received(uow, actor, *, receipt_id: uuid.UUID) -> Progress:
    """The receipt against its ASN: every line expected and received (by all the ASN's
    receipts), damaged; every package found or not; what came unexpected; the
    discrepancies recorded."""
    receipt = get_receipt(uow, actor, receipt_id=receipt_id)
    asn = uow.scalar(sa.select(Asn).where(Asn.id == receipt.asn_id)) if receipt.asn_id else None
    supplier = tenants.organisations_by_id(uow, ids={receipt.supplier_id}).get(receipt.supplier_id)
    location = uow.scalar(sa.select(Location).where(Location.id == receipt.location_id))
    lines, packages = [], []
    if asn is not None:
        lines, packages = _asn_progress(uow, asn)
    unexpected = list(
        uow.session.scalars(
            sa.select(ReceiptLine)
            .where(ReceiptLine.receipt_id == receipt.id, ReceiptLine.asn_line_id.is_(None))
            .order_by(ReceiptLine.created_at, ReceiptLine.id)
        )
    )
    discrepancies = list(
        uow.session.scalars(
            sa.select(Discrepancy).where(Discrepancy.receipt_id == receipt.id).order_by(Discrepancy.created_at, Discrepancy.id)
        )
    )
    item_ids = {x.item_id for x in unexpected} | {d.item_id for d in discrepancies if d.item_id} | {p.line.item_id for p in lines}
    items = {i.id: i for i in uow.session.scalars(sa.select(Item).where(Item.id.in_(item_ids)))} if item_ids else {}
    lot_ids = {x.lot_id for x in unexpected if x.lot_id}
    lots = dict(uow.session.execute(sa.select(Lot.id, Lot.number).where(Lot.id.in_(lot_ids))).all()) if lot_ids else {}
    return Progress(receipt, asn, supplier, location, lines, packages, unexpected, discrepancies, items, lots)


def _asn_progress(uow, asn: Asn) -> tuple[list[LineProgress], list[PackageProgress]]:
    asn_lines = list(uow.session.scalars(sa.select(AsnLine).where(AsnLine.asn_id == asn.id).order_by(AsnLine.line_no)))
    packages = list(uow.session.scalars(sa.select(AsnPackage).where(AsnPackage.asn_id == asn.id).order_by(AsnPackage.seq)))
    sscc = {p.id: p.sscc for p in packages}
    items = {i.id: i for i in uow.session.scalars(sa.select(Item).where(Item.id.in_({x.item_id for x in asn_lines})))}
    serialised = set(uow.session.scalars(sa.select(AsnSerial.asn_line_id).where(AsnSerial.asn_id == asn.id).distinct()))
    received = _received_by_line(uow, asn.id)
    damaged: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    for line_id, amount in uow.session.execute(
        sa.select(Discrepancy.asn_line_id, Discrepancy.quantity).where(
            Discrepancy.receipt_id.in_(_receipts_of(asn.id)), Discrepancy.kind == "damaged"
        )
    ):
        damaged[line_id] += amount or 0
    lines = [
        LineProgress(
            line, items[line.item_id], sscc.get(line.package_id), line.id in serialised, line.quantity,
            received.get(line.id, Decimal(0)), damaged.get(line.id, Decimal(0)),
        )
        for line in asn_lines
    ]
    found = _found_packages(uow, asn.id)
    return lines, [PackageProgress(p, p.id in found) for p in packages]


# --- reading for a trace (erp.traceability.trace): set-based, no permission of their own --


def receipts_of_lots(uow, *, lot_ids) -> list:
    """Rows (lot_id, receipt_id, number, asn_id, supplier_id, received_at, quantity): every
    receipt of these lots, the quantity received summed per lot and receipt."""
    ids = list({i for i in lot_ids if i})
    if not ids:
        return []
    query = (
        sa.select(
            ReceiptLine.lot_id, Receipt.id.label("receipt_id"), Receipt.number, Receipt.asn_id, Receipt.supplier_id,
            Receipt.created_at.label("received_at"), sa.func.sum(ReceiptLine.quantity).label("quantity"),
        )
        .join(Receipt, Receipt.id == ReceiptLine.receipt_id)
        .where(ReceiptLine.lot_id.in_(ids))
        .group_by(ReceiptLine.lot_id, Receipt.id, Receipt.number, Receipt.asn_id, Receipt.supplier_id, Receipt.created_at)
    )
    return uow.execute(query).all()


def serial_receipts(uow, *, serial: str, item_id: uuid.UUID | None = None) -> set[tuple[uuid.UUID, uuid.UUID | None]]:
    """(item, lot) of the received units of this serial number."""
    query = sa.select(ReceiptLine.item_id, ReceiptLine.lot_id).where(ReceiptLine.serial == serial)
    if item_id is not None:
        query = query.where(ReceiptLine.item_id == item_id)
    return {(row.item_id, row.lot_id) for row in uow.execute(query.distinct())}
