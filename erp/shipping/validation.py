"""Checking a ship notice before it is saved: every rule of the ASN, each problem on the
row and field that is wrong ("lines.7.serials.2"), all of them in one pass so a
supplier fixes a file or a form once. Warnings (a short shelf life) are kept apart:
they may be acknowledged, errors may not.

The input is one shape for the form, the CSV/XLSX upload, the API and "ship everything
open":

    {ship_to_site_id, ship_from_site_id?, carrier?, tracking_number?, seal_number?,
     ship_date, expected_arrival,
     packages: [{sscc, level: "pallet" | "case", parent?: sscc of a pallet}],
     lines: [{purchase_order_line_id, package?: sscc, quantity, lot?, production_date?,
              expiry_date?, serials?: [..], gtin?: the UDI-DI scanned, if any}]}
"""

from __future__ import annotations

import re
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal

import sqlalchemy as sa
from biip.checksums import gs1_standard_check_digit

from erp import fields
from erp.inventory.models import LOT_MAX, Lot
from erp.items.models import Item
from erp.items.udi import CSET82
from erp.purchasing import gate
from erp.purchasing.models import PurchaseOrder, PurchaseOrderLine
from erp.shipping.models import LEVELS, LIVE, SERIAL_MAX, Asn, AsnLine, AsnPackage
from erp.shipping.settings import ShippingRules
from erp.suppliers import compliance
from erp.suppliers import service as suppliers
from kernel.errors import N_, REQUIRED, TOO_LONG, checked_text
from tenants import service as tenants

MAX_TEXT = 100
SEAL_MAX = 40  # the asn.seal_number and receipt.seal_number columns
# A truck's or container's seal number: letters, digits and dashes, a letter or digit first and last.
SEAL_PATTERN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?")
# Orders against which nothing more ships.
FINISHED_ORDERS = ("received", "closed", "cancelled")

NO_SITE = N_("Choose one of the customer's sites.")
NO_OWN_SITE = N_("Choose one of your own sites.")
SEAL_FORMAT = N_("A seal number has only letters, digits and dashes, such as SL-0042817: no spaces or other signs.")
ARRIVAL_BEFORE_SHIPPING = N_("The expected arrival cannot be before the ship date.")
NO_LINES = N_("A ship notice needs at least one line.")
SSCC_FORMAT = N_("An SSCC has 18 digits.")
SSCC_CHECK = N_("The check digit of this SSCC is wrong: it should end in %(digit)s.")
SSCC_TWICE = N_("This SSCC is on the ship notice twice.")
SSCC_TAKEN = N_("This SSCC is on another ship notice already: every pallet and case needs its own.")
LEVEL = N_("Choose pallet or case.")
PARENT = N_("A case can be on a pallet of this ship notice; a pallet is on nothing.")
NO_PACKAGE = N_("This SSCC is not one of the packages of this ship notice.")
NO_PO_LINE = N_("This is not a line of one of your purchase orders.")
NOT_ACKNOWLEDGED = N_("Line %(line)s of %(order)s is not acknowledged: only accepted lines can be shipped.")
ORDER_CLOSED = N_("%(order)s is %(status)s: nothing more can be shipped against it.")
WRONG_SITE = N_("Line %(line)s of %(order)s goes to another site than this ship notice.")
WRONG_ITEM = N_("This code is for another item (%(gtin)s), not %(part)s of this order line.")
LOT_NEEDED = N_("This item is lot-controlled: give the lot.")
LOT_FORMAT = N_("A lot has up to 20 letters, digits or GS1 punctuation (no spaces).")
LOT_DATES = N_("Lot %(lot)s has other dates elsewhere (expiry %(expiry)s, made %(made)s): one lot has one set of dates.")
PRODUCTION_NEEDED = N_("This item's label carries its manufacture date: give it.")
PRODUCTION_FUTURE = N_("The manufacture date is in the future.")
EXPIRY_NEEDED = N_("This item's label carries an expiry date: give it.")
EXPIRED = N_("This lot has expired.")
EXPIRY_BEFORE_PRODUCTION = N_("The expiry date is before the manufacture date.")
SHORT_SHELF_LIFE = N_(
    "Lot %(lot)s expires on %(expiry)s, less than the %(days)d days of shelf life the customer asks for on arrival."
)
SERIALS_NEEDED = N_("This item is serialised: give one serial number per unit (%(count)s).")
NOT_SERIALISED = N_("This item is not serialised: leave the serial numbers out.")
SERIAL_FORMAT = N_("A serial number has up to 20 letters, digits or GS1 punctuation (no spaces).")
SERIAL_TWICE = N_("Serial %(serial)s is on this ship notice twice.")
SERIAL_TAKEN = N_("Serial %(serial)s of this item has been shipped already (on another ship notice).")
TOO_MUCH = N_(
    "Line %(line)s of %(order)s has %(open)s open (with the allowed over-delivery); this ship notice sends %(sent)s."
)
CERTIFICATES_MISSING = N_(
    "%(supplier)s lacks a valid %(certificate)s: the customer accepts no shipments from it until it has one."
)
DISQUALIFIED = N_("You are disqualified for this item (approved supplier list): it cannot be shipped.")


@dataclass
class Problem:
    """A warning: where, the message and its parameters."""

    field: str
    message: str
    params: dict = field(default_factory=dict)


@dataclass
class CheckedLine:
    po_line: PurchaseOrderLine
    order: PurchaseOrder
    item: Item
    package: str | None
    quantity: Decimal
    lot: str | None
    production_date: date | None
    expiry_date: date | None
    serials: list[str]


@dataclass
class CheckedAsn:
    supplier_id: uuid.UUID
    ship_to_site_id: uuid.UUID
    ship_from_site_id: uuid.UUID | None
    carrier: str | None
    tracking_number: str | None
    seal_number: str | None
    ship_date: date
    expected_arrival: date
    packages: list[tuple[str, str, str | None]]  # (sscc, level, parent sscc)
    lines: list[CheckedLine]
    warnings: list[Problem]
    errors: dict[str, str]
    # Parameters of the messages in `errors`, by field (several rows, several values).
    params: dict[str, dict]


def check(uow, *, supplier_id: uuid.UUID, data: dict, asn_id: uuid.UUID | None, rules: ShippingRules, today: date) -> CheckedAsn:
    """Every rule at once; the result's `errors` is empty when the ASN may be saved."""
    errors: dict[str, str] = {}
    params: dict[str, dict] = {}
    warnings: list[Problem] = []
    header = _header(uow, supplier_id, data, errors)
    packages = _packages(uow, data.get("packages") or [], asn_id, errors, params)
    lines = _lines(uow, supplier_id, data.get("lines"), header, {p[0] for p in packages}, rules, today, errors, params, warnings)
    if lines:
        _quantities(uow, lines, asn_id, rules, errors, params)
        _serials_taken(uow, lines, asn_id, errors, params)
        _lot_dates(uow, supplier_id, lines, errors, params)
        _approval(uow, supplier_id, lines, today, errors, params)
    return CheckedAsn(
        supplier_id=supplier_id,
        packages=packages,
        lines=[line for _, line in lines],
        warnings=warnings,
        errors=errors,
        params=params,
        **header,
    )


def _fail(errors: dict, params: dict, at: str, message: str, **values) -> None:
    if at not in errors:
        errors[at] = message
        if values:
            params[at] = values


def _header(uow, supplier_id, data: dict, errors: dict) -> dict:
    to_id = fields.as_uuid(data.get("ship_to_site_id"))
    from_id = fields.as_uuid(data.get("ship_from_site_id")) if fields.given(data.get("ship_from_site_id")) else None
    sites = tenants.sites_by_id(uow, ids={i for i in (to_id, from_id) if i})
    if to_id is None or to_id not in sites or sites[to_id].supplier_id is not None:
        errors["ship_to_site_id"] = NO_SITE
    if fields.given(data.get("ship_from_site_id")) and (from_id not in sites or sites[from_id].supplier_id != supplier_id):
        errors["ship_from_site_id"] = NO_OWN_SITE
    ship_date = fields.a_date(data.get("ship_date"), errors, "ship_date")
    arrival = fields.a_date(data.get("expected_arrival"), errors, "expected_arrival")
    if ship_date and arrival and arrival < ship_date:
        errors["expected_arrival"] = ARRIVAL_BEFORE_SHIPPING
    return {
        "ship_to_site_id": to_id,
        "ship_from_site_id": from_id,
        "carrier": checked_text(data.get("carrier"), MAX_TEXT, "carrier", errors),
        "tracking_number": checked_text(data.get("tracking_number"), MAX_TEXT, "tracking_number", errors),
        "seal_number": seal_number(data.get("seal_number"), errors),
        "ship_date": ship_date,
        "expected_arrival": arrival,
    }


def seal_number(value, errors: dict) -> str | None:
    """The seal number trimmed (None when empty): up to SEAL_MAX letters, digits and
    dashes (ASCII: as printed on the seal), a letter or digit first and last."""
    seal = checked_text(value, SEAL_MAX, "seal_number", errors)
    if seal is not None and "seal_number" not in errors and not SEAL_PATTERN.fullmatch(seal):
        errors["seal_number"] = SEAL_FORMAT
    return seal


def sscc_problem(value: str) -> tuple[str, dict] | None:
    """What is wrong with an SSCC (AI 00: 18 digits, the last a GS1 check digit), or None."""
    if not re.fullmatch(r"[0-9]{18}", value):
        return SSCC_FORMAT, {}
    digit = gs1_standard_check_digit(value[:17])
    if value[17] != str(digit):
        return SSCC_CHECK, {"digit": digit}
    return None


def _packages(uow, entries, asn_id, errors: dict, params: dict) -> list[tuple[str, str, str | None]]:
    found: list[tuple[str, str, str | None]] = []
    seen: set[str] = set()
    levels: dict[str, str] = {}
    for n, entry in enumerate(entries):
        entry = entry if isinstance(entry, dict) else {}
        at = f"packages.{n}."
        sscc = str(entry.get("sscc") or "").strip()
        problem = sscc_problem(sscc) if sscc else (REQUIRED, {})
        if problem:
            _fail(errors, params, at + "sscc", problem[0], **problem[1])
        elif sscc in seen:
            errors[at + "sscc"] = SSCC_TWICE
        seen.add(sscc)
        level = entry.get("level") or "case"
        if level not in LEVELS:
            errors[at + "level"] = LEVEL
        levels[sscc] = level
        parent = str(entry.get("parent") or "").strip() or None
        found.append((sscc, level, parent))
    for n, (_, level, parent) in enumerate(found):
        if parent is not None and (level != "case" or levels.get(parent) != "pallet"):
            errors[f"packages.{n}.parent"] = PARENT
    taken = set(
        uow.session.scalars(
            sa.select(AsnPackage.sscc).where(AsnPackage.sscc.in_(seen), AsnPackage.asn_id.is_distinct_from(asn_id))
        )
    ) if seen else set()
    for n, (sscc, _, _) in enumerate(found):
        if sscc in taken:
            errors.setdefault(f"packages.{n}.sscc", SSCC_TAKEN)
    return found


def _lines(uow, supplier_id, entries, header, ssccs, rules, today, errors, params, warnings) -> list[tuple[int, CheckedLine]]:
    if not isinstance(entries, list) or not entries:
        errors["lines"] = NO_LINES
        return []
    ids = {fields.as_uuid(e.get("purchase_order_line_id")) for e in entries if isinstance(e, dict)} - {None}
    rows = uow.session.execute(
        sa.select(PurchaseOrderLine, PurchaseOrder, Item)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .join(Item, Item.id == PurchaseOrderLine.item_id)
        .where(PurchaseOrderLine.id.in_(ids), PurchaseOrder.supplier_id == supplier_id, PurchaseOrder.status != "draft")
    ).all() if ids else []
    by_id = {line.id: (line, order, item) for line, order, item in rows}
    checked: list[tuple[int, CheckedLine]] = []
    for n, entry in enumerate(entries):
        entry = entry if isinstance(entry, dict) else {}
        at = f"lines.{n}."
        found = by_id.get(fields.as_uuid(entry.get("purchase_order_line_id")))
        if found is None:
            errors[at + "purchase_order_line_id"] = NO_PO_LINE
            continue
        po_line, order, item = found
        names = {"line": po_line.line_no, "order": order.number}
        if order.status in FINISHED_ORDERS:
            _fail(errors, params, at + "purchase_order_line_id", ORDER_CLOSED, order=order.number, status=order.status)
        elif po_line.status != "accepted":
            _fail(errors, params, at + "purchase_order_line_id", NOT_ACKNOWLEDGED, **names)
        if po_line.ship_to_site_id and header["ship_to_site_id"] and po_line.ship_to_site_id != header["ship_to_site_id"]:
            _fail(errors, params, at + "purchase_order_line_id", WRONG_SITE, **names)
        gtin = str(entry.get("gtin") or "").strip()
        if gtin and gtin != (item.udi_di or ""):
            _fail(errors, params, at + "gtin", WRONG_ITEM, gtin=gtin, part=item.part_number)
        package = str(entry.get("package") or "").strip() or None
        if package is not None and package not in ssccs:
            errors[at + "package"] = NO_PACKAGE
        quantity = fields.quantity(entry.get("quantity"), item.uom, errors, at + "quantity")
        lot = _lot(entry.get("lot"), item, errors, at + "lot")
        made, expiry = _dates(entry, item, rules, today, lot, errors, warnings, at)
        serials = _serials(entry.get("serials"), item, quantity, errors, params, at)
        line = CheckedLine(po_line, order, item, package, quantity, lot, made, expiry, serials)
        checked.append((n, line))
    _serials_twice(checked, errors, params)
    return checked


def _lot(value, item: Item, errors: dict, at: str) -> str | None:
    lot = str(value).strip() if fields.given(value) else None
    if lot is None:
        if item.label_lot:
            errors[at] = LOT_NEEDED
        return None
    if len(lot) > LOT_MAX:
        errors[at] = TOO_LONG
    elif not _in_cset82(lot):
        errors[at] = LOT_FORMAT
    return lot


def _dates(entry, item: Item, rules: ShippingRules, today: date, lot, errors, warnings, at) -> tuple[date | None, date | None]:
    made = fields.a_date(entry.get("production_date"), errors, at + "production_date", required=False)
    expiry = fields.a_date(entry.get("expiry_date"), errors, at + "expiry_date", required=False)
    if made is None and item.label_manufacture_date and at + "production_date" not in errors:
        errors[at + "production_date"] = PRODUCTION_NEEDED
    if expiry is None and item.label_expiry_date and at + "expiry_date" not in errors:
        errors[at + "expiry_date"] = EXPIRY_NEEDED
    if made and made > today:
        errors[at + "production_date"] = PRODUCTION_FUTURE
    if expiry and expiry < today:
        errors[at + "expiry_date"] = EXPIRED
    elif expiry and made and expiry < made:
        errors[at + "expiry_date"] = EXPIRY_BEFORE_PRODUCTION
    elif expiry and rules.min_shelf_life_days and expiry < today + timedelta(days=rules.min_shelf_life_days):
        values = {"lot": lot or "", "expiry": expiry.isoformat(), "days": rules.min_shelf_life_days}
        warnings.append(Problem(at + "expiry_date", SHORT_SHELF_LIFE, values))
    return made, expiry


def _serials(values, item: Item, quantity, errors: dict, params: dict, at: str) -> list[str]:
    serials = [str(s).strip() for s in values or [] if str(s).strip()] if isinstance(values, list | tuple) else []
    if not item.label_serial:
        if serials:
            errors[at + "serials"] = NOT_SERIALISED
        return []
    if quantity is not None and (quantity != int(quantity) or len(serials) != quantity):
        _fail(errors, params, at + "serials", SERIALS_NEEDED, count=fields.plain(quantity))
    for k, serial in enumerate(serials):
        if len(serial) > SERIAL_MAX or not _in_cset82(serial):
            errors.setdefault(f"{at}serials.{k}", SERIAL_FORMAT)
    return serials


def _in_cset82(text: str) -> bool:
    """Only characters of GS1 AI encodable character set 82 (what AI 10 and 21 may hold)."""
    return all(c in CSET82 for c in text)


def _serials_twice(lines: list[tuple[int, CheckedLine]], errors: dict, params: dict) -> None:
    seen: set[tuple[uuid.UUID, str]] = set()
    for n, line in lines:
        for k, serial in enumerate(line.serials):
            key = (line.item.id, serial)
            if key in seen:
                _fail(errors, params, f"lines.{n}.serials.{k}", SERIAL_TWICE, serial=serial)
            seen.add(key)


def _serials_taken(uow, lines, asn_id, errors: dict, params: dict) -> None:
    items, serials = [], []
    for _, line in lines:
        items.extend([line.item.id] * len(line.serials))
        serials.extend(line.serials)
    if not serials:
        return
    taken = set(
        uow.session.execute(
            sa.text("select item_id, serial from app.asn_serials_taken(:items, :serials, :asn)"),
            {"items": items, "serials": serials, "asn": asn_id},
        ).all()
    )
    for n, line in lines:
        for k, serial in enumerate(line.serials):
            if (line.item.id, serial) in taken:
                _fail(errors, params, f"lines.{n}.serials.{k}", SERIAL_TAKEN, serial=serial)


def _quantities(uow, lines, asn_id, rules: ShippingRules, errors: dict, params: dict) -> None:
    """Each PO line's shipments (this ASN and the other live ones) within its quantity
    plus the tenant's over-delivery tolerance."""
    sending: dict[uuid.UUID, Decimal] = defaultdict(Decimal)
    first: dict[uuid.UUID, int] = {}
    for n, line in lines:
        if line.quantity is not None:
            sending[line.po_line.id] += line.quantity
            first.setdefault(line.po_line.id, n)
    shipped = shipped_quantities(uow, list(sending), except_asn=asn_id)
    po_lines = {line.po_line.id: line for _, line in lines}
    for po_line_id, sent in sending.items():
        line = po_lines[po_line_id]
        allowed = line.po_line.quantity * (1 + rules.over_delivery_pct / 100)
        open_quantity = allowed - shipped.get(po_line_id, Decimal(0))
        if sent > open_quantity:
            _fail(
                errors, params, f"lines.{first[po_line_id]}.quantity", TOO_MUCH,
                line=line.po_line.line_no, order=line.order.number,
                open=fields.plain(max(open_quantity, Decimal(0))), sent=fields.plain(sent),
            )


def shipped_quantities(uow, po_line_ids, *, except_asn: uuid.UUID | None = None) -> dict[uuid.UUID, Decimal]:
    """What the live ASNs (all but `except_asn`) carry of each PO line."""
    if not po_line_ids:
        return {}
    return dict(
        uow.session.execute(
            sa.select(AsnLine.purchase_order_line_id, sa.func.sum(AsnLine.quantity))
            .join(Asn, Asn.id == AsnLine.asn_id)
            .where(
                AsnLine.purchase_order_line_id.in_(po_line_ids), Asn.status.in_(LIVE), Asn.id.is_distinct_from(except_asn)
            )
            .group_by(AsnLine.purchase_order_line_id)
        ).all()
    )


def _lot_dates(uow, supplier_id, lines, errors: dict, params: dict) -> None:
    """One lot, one set of dates: within this ASN and against the lot as known."""
    known = {
        (lot.item_id, lot.number): (lot.expiry_date, lot.production_date)
        for lot in uow.session.scalars(
            sa.select(Lot).where(
                Lot.supplier_id == supplier_id,
                Lot.item_id.in_({line.item.id for _, line in lines}),
                Lot.number.in_({line.lot for _, line in lines if line.lot}),
            )
        )
    }
    for n, line in lines:
        if not line.lot:
            continue
        key = (line.item.id, line.lot)
        dates = (line.expiry_date, line.production_date)
        expected = known.setdefault(key, dates)
        if expected != dates:
            _fail(
                errors, params, f"lines.{n}.lot", LOT_DATES, lot=line.lot,
                expiry=expected[0].isoformat() if expected[0] else "—", made=expected[1].isoformat() if expected[1] else "—",
            )


def _approval(uow, supplier_id, lines, today: date, errors: dict, params: dict) -> None:
    """The approved supplier list, and the certificates when the tenant blocks on them."""
    item_ids = {line.item.id for _, line in lines}
    blocked = suppliers.disqualified_items(uow, supplier_id=supplier_id, item_ids=item_ids)
    for n, line in lines:
        if line.item.id in blocked:
            errors.setdefault(f"lines.{n}.purchase_order_line_id", DISQUALIFIED)
    if gate.certificate_gate(uow) == "block":
        gaps = compliance.order_gaps(uow, supplier_id=supplier_id, item_ids=item_ids, today=today)
        if gaps:
            supplier = tenants.organisations_by_id(uow, ids=[supplier_id])[supplier_id]
            _fail(errors, params, "form", CERTIFICATES_MISSING, supplier=supplier.name, certificate=gaps[0].type.name)
