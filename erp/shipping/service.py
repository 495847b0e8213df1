"""Ship notices: the supplier saves a draft, submits it, changes it after submit (a new
revision, with the reason and the old content kept) or cancels it; the buyer side reads
them. Every entry path (form, file, API, "ship everything open") ends in `save_asn`,
so one set of rules (erp.shipping.validation) holds for all.

Content (packages, lines, serials) is written in bulk, a statement per table, so the
audit triggers (statement-level) stay cheap for an ASN of 10,000 serials.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm.exc import StaleDataError

from auth.permissions import require, require_any
from erp import fields
from erp.inventory.models import Lot
from erp.items.models import Item
from erp.purchasing.models import PurchaseOrder, PurchaseOrderLine
from erp.shipping import settings, validation
from erp.shipping.errors import AsnChanged, AsnNotFound, AsnWrongStatus, WarningsNotAcknowledged
from erp.shipping.models import EDITABLE, Asn, AsnLine, AsnPackage, AsnRevision, AsnSerial
from kernel.bulk import insert_rows
from kernel.clock import utcnow
from kernel.errors import N_, Forbidden, ValidationFailed, checked_text
from kernel.ids import new_id
from kernel.outbox import emit
from tenants import service as tenants

REASON_NEEDED = N_("Say why the ship notice changes after it was submitted.")
MAX_REASON = 500
# Orders in these statuses have goods on the way once an ASN is submitted.
TO_IN_DELIVERY = ("partially_acknowledged", "acknowledged")


@dataclass
class SavedAsn:
    asn: Asn
    warnings: list[validation.Problem]


@dataclass
class AsnDetail:
    asn: Asn
    packages: list[AsnPackage]
    lines: list[AsnLine]
    serials: dict[uuid.UUID, list[str]]  # by ASN line
    orders: dict[uuid.UUID, PurchaseOrder]
    po_lines: dict[uuid.UUID, PurchaseOrderLine]
    items: dict[uuid.UUID, Item]
    revisions: list[AsnRevision]


def _supplier_of(actor, supplier_id: uuid.UUID | None) -> uuid.UUID:
    """ASNs are the supplier's: a supplier user writes its own; a system actor (an import
    job, the demo) names the supplier."""
    require(actor, "asn.submit")
    if actor.supplier_id is not None:
        return actor.supplier_id
    if actor.kind == "system" and supplier_id is not None:
        return supplier_id
    raise Forbidden(permission="asn.submit")


def check_asn(uow, actor, *, data: dict, asn_id: uuid.UUID | None = None, supplier_id: uuid.UUID | None = None):
    """The rules applied without saving anything: a CheckedAsn (errors, warnings)."""
    supplier = _supplier_of(actor, supplier_id)
    return validation.check(
        uow, supplier_id=supplier, data=data, asn_id=asn_id, rules=settings.rules(uow), today=utcnow().date()
    )


def save_asn(
    uow,
    actor,
    *,
    data: dict,
    asn_id: uuid.UUID | None = None,
    version: int | None = None,
    reason: str | None = None,
    supplier_id: uuid.UUID | None = None,
) -> SavedAsn:
    """Create a draft, or replace an ASN's content. A change to a submitted ASN needs a
    reason and makes a new revision (the old content kept in asn_revision). Raises
    ValidationFailed with every problem keyed by field ("lines.3.serials.1"), the
    parameters of each message in `params_by_field`; nothing is written then."""
    checked = check_asn(uow, actor, data=data, asn_id=asn_id, supplier_id=supplier_id)
    asn = _current(uow, asn_id, version) if asn_id else None
    if asn is not None and asn.status not in EDITABLE:
        raise AsnWrongStatus()
    why = None
    if asn is not None and asn.status != "draft":
        errors: dict[str, str] = {}
        why = checked_text(reason, MAX_REASON, "reason", errors)
        if why is None:
            checked.errors.setdefault("reason", errors.get("reason", REASON_NEEDED))
    if checked.errors:
        raise refusal(checked)
    if asn is None:
        asn = Asn(
            number=tenants.next_number(uow, name="ASN", prefix="ASN", year=utcnow().year),
            supplier_id=checked.supplier_id,
            status="draft",
            created_by=actor.user_id,
            **_header(checked),
        )
        uow.add(asn)
        uow.flush()
    else:
        if why is not None:
            uow.add(
                AsnRevision(
                    asn_id=asn.id, supplier_id=asn.supplier_id, revision=asn.revision, reason=why,
                    content=content_of(get_asn(uow, actor, asn_id=asn.id)), created_by=actor.user_id,
                )
            )
            asn.revision += 1
        for key, value in _header(checked).items():
            setattr(asn, key, value)
        _write(uow, asn)
        _clear(uow, asn.id)
    _write_content(uow, asn, checked)
    if why is not None:
        emit(uow, "asn.revised", {"asn_id": str(asn.id), "number": asn.number, "revision": asn.revision, "reason": why})
    return SavedAsn(asn, checked.warnings)


def refusal(checked) -> ValidationFailed:
    error = ValidationFailed(errors=checked.errors)
    error.params_by_field = checked.params
    return error


def submit_asn(uow, actor, *, asn_id: uuid.UUID, version: int, acknowledge_warnings: bool = False) -> SavedAsn:
    """Send a draft: checked again (orders, serials and rules may have changed since it
    was saved); warnings must be acknowledged. Emits asn.submitted; the orders shipped
    against move to "in delivery"."""
    asn = _current(uow, asn_id, version)
    if asn.status != "draft":
        raise AsnWrongStatus()
    data = data_of(get_asn(uow, actor, asn_id=asn.id))
    checked = check_asn(uow, actor, data=data, asn_id=asn.id, supplier_id=asn.supplier_id)
    if checked.errors:
        raise refusal(checked)
    if checked.warnings and not acknowledge_warnings:
        error = WarningsNotAcknowledged(errors={w.field: w.message for w in checked.warnings})
        error.params_by_field = {w.field: w.params for w in checked.warnings}
        raise error
    asn.status = "submitted"
    asn.submitted_at = utcnow()
    _write(uow, asn)
    order_ids = {line.order.id for line in checked.lines}
    uow.execute(
        sa.update(PurchaseOrder)
        .where(PurchaseOrder.id.in_(order_ids), PurchaseOrder.status.in_(TO_IN_DELIVERY))
        .values(status="in_delivery", version=PurchaseOrder.version + 1, updated_at=sa.func.now())
    )
    emit(
        uow,
        "asn.submitted",
        {
            "asn_id": str(asn.id),
            "number": asn.number,
            "supplier_id": str(asn.supplier_id),
            "expected_arrival": asn.expected_arrival.isoformat(),
            "purchase_order_ids": sorted(str(i) for i in order_ids),
        },
    )
    return SavedAsn(asn, checked.warnings)


def cancel_asn(uow, actor, *, asn_id: uuid.UUID, version: int, reason: str) -> Asn:
    """Withdraw an ASN not yet received: its serials and SSCCs are free again (the audit
    trail and a last revision keep what it held)."""
    asn = _current(uow, asn_id, version)
    _supplier_of(actor, asn.supplier_id)
    if asn.status not in EDITABLE:
        raise AsnWrongStatus()
    errors: dict[str, str] = {}
    why = checked_text(reason, MAX_REASON, "reason", errors, required=True)
    if errors:
        raise ValidationFailed(errors=errors)
    uow.add(
        AsnRevision(
            asn_id=asn.id, supplier_id=asn.supplier_id, revision=asn.revision, reason=why,
            content=content_of(get_asn(uow, actor, asn_id=asn.id)), created_by=actor.user_id,
        )
    )
    was = asn.status
    asn.status = "cancelled"
    asn.revision += 1
    _write(uow, asn)
    _clear(uow, asn.id)
    if was != "draft":
        emit(uow, "asn.cancelled", {"asn_id": str(asn.id), "number": asn.number, "reason": why})
    return asn


# Received ASNs the buyer side may close: nothing more is expected against them.
CLOSABLE = ("partially_received", "received")


def close_asn(uow, actor, *, asn_id: uuid.UUID, version: int) -> Asn:
    """Close a received ASN (the last step of its lifecycle): the buyer side accepts that
    nothing more comes against it, a short delivery included. Emits asn.closed."""
    require(actor, "po.manage")
    asn = _current(uow, asn_id, version)
    if asn.status not in CLOSABLE:
        raise AsnWrongStatus()
    asn.status = "closed"
    _write(uow, asn)
    emit(uow, "asn.closed", {"asn_id": str(asn.id), "number": asn.number})
    return asn


# --- reading ---------------------------------------------------------------------------


def get_asn(uow, actor, *, asn_id: uuid.UUID) -> AsnDetail:
    require_any(actor, "asn.view", "asn.submit")
    asn = uow.scalar(sa.select(Asn).where(Asn.id == asn_id))
    if asn is None:
        raise AsnNotFound()
    packages = list(uow.session.scalars(sa.select(AsnPackage).where(AsnPackage.asn_id == asn.id).order_by(AsnPackage.seq)))
    lines = list(uow.session.scalars(sa.select(AsnLine).where(AsnLine.asn_id == asn.id).order_by(AsnLine.line_no)))
    serials: dict[uuid.UUID, list[str]] = defaultdict(list)
    for line_id, serial in uow.session.execute(
        sa.select(AsnSerial.asn_line_id, AsnSerial.serial).where(AsnSerial.asn_id == asn.id).order_by(AsnSerial.id)
    ):
        serials[line_id].append(serial)
    po_line_ids = {line.purchase_order_line_id for line in lines}
    po_lines = {
        r.id: r for r in uow.session.scalars(sa.select(PurchaseOrderLine).where(PurchaseOrderLine.id.in_(po_line_ids)))
    } if po_line_ids else {}
    order_ids = {line.purchase_order_id for line in lines}
    orders = (
        {o.id: o for o in uow.session.scalars(sa.select(PurchaseOrder).where(PurchaseOrder.id.in_(order_ids)))}
        if order_ids
        else {}
    )
    item_ids = {line.item_id for line in lines}
    items = {i.id: i for i in uow.session.scalars(sa.select(Item).where(Item.id.in_(item_ids)))} if item_ids else {}
    revisions = list(
        uow.session.scalars(sa.select(AsnRevision).where(AsnRevision.asn_id == asn.id).order_by(AsnRevision.revision.desc()))
    )
    return AsnDetail(asn, packages, lines, dict(serials), orders, po_lines, items, revisions)


def asn_exists_elsewhere(uow, *, asn_id: uuid.UUID) -> bool:
    """After a "not found": whether the id is an ASN of another tenant or supplier (for
    the security log; the caller answers 404 either way)."""
    return bool(uow.scalar(sa.text("SELECT app.asn_exists(:a)"), {"a": asn_id}))


def data_of(detail: AsnDetail) -> dict:
    """The ASN as input for save_asn (the shape erp.shipping.validation describes)."""
    asn = detail.asn
    by_id = {p.id: p.sscc for p in detail.packages}
    return {
        "ship_to_site_id": asn.ship_to_site_id,
        "ship_from_site_id": asn.ship_from_site_id,
        "carrier": asn.carrier,
        "tracking_number": asn.tracking_number,
        "seal_number": asn.seal_number,
        "ship_date": asn.ship_date,
        "expected_arrival": asn.expected_arrival,
        "packages": [{"sscc": p.sscc, "level": p.level, "parent": by_id.get(p.parent_id)} for p in detail.packages],
        "lines": [
            {
                "purchase_order_line_id": line.purchase_order_line_id,
                "package": by_id.get(line.package_id),
                "quantity": line.quantity,
                "lot": line.lot,
                "production_date": line.production_date,
                "expiry_date": line.expiry_date,
                "serials": detail.serials.get(line.id, []),
            }
            for line in detail.lines
        ],
    }


def content_of(detail: AsnDetail) -> dict:
    """The ASN as JSON, for a revision's record of what it was."""

    def plain(value):
        if isinstance(value, dict):
            return {k: plain(v) for k, v in value.items()}
        if isinstance(value, list):
            return [plain(v) for v in value]
        if isinstance(value, uuid.UUID | date):
            return str(value) if isinstance(value, uuid.UUID) else value.isoformat()
        if isinstance(value, Decimal):
            return fields.plain(value)
        return value

    return plain(data_of(detail))


def list_asns(uow, actor, *, statuses: tuple[str, ...] | None = None, limit: int = 50) -> list[Asn]:
    """ASNs by expected arrival (the buyer's incoming list), then number; row-level
    security keeps a supplier to its own."""
    require_any(actor, "asn.view", "asn.submit")
    stmt = sa.select(Asn)
    if statuses:
        stmt = stmt.where(Asn.status.in_(statuses))
    return list(uow.session.scalars(stmt.order_by(Asn.expected_arrival, Asn.number).limit(limit)))


@dataclass
class AsnRow:
    """A ship notice as the lists show it: with its supplier, ship-to site, orders and size."""

    asn: Asn
    supplier_name: str
    supplier_name_zh: str | None
    ship_to: str
    po_numbers: list[str]
    packages: int
    units: Decimal


def asn_rows(
    uow, actor, *, statuses: tuple[str, ...] | None = None, newest_first: bool = False, page: int = 0, limit: int = 50
) -> tuple[list[AsnRow], bool]:
    """A page of ASNs for a list, and whether there are more: by expected arrival (the
    buyer's incoming shipments) or newest first (the supplier's own); row-level security
    keeps a supplier to its own. Names, orders and counts come in a query each for the page."""
    require_any(actor, "asn.view", "asn.submit")
    stmt = sa.select(Asn)
    if statuses:
        stmt = stmt.where(Asn.status.in_(statuses))
    order = (Asn.created_at.desc(), Asn.id.desc()) if newest_first else (Asn.expected_arrival, Asn.number)
    found = list(uow.session.scalars(stmt.order_by(*order).offset(max(page, 0) * limit).limit(limit + 1)))
    more, found = len(found) > limit, found[:limit]
    ids = [a.id for a in found]
    if not ids:
        return [], False
    organisations = tenants.organisations_by_id(uow, ids={a.supplier_id for a in found})
    sites = tenants.sites_by_id(uow, ids={a.ship_to_site_id for a in found})
    numbers: dict[uuid.UUID, list[str]] = defaultdict(list)
    for asn_id, number in uow.session.execute(
        sa.select(AsnLine.asn_id, PurchaseOrder.number)
        .join(PurchaseOrder, PurchaseOrder.id == AsnLine.purchase_order_id)
        .where(AsnLine.asn_id.in_(ids))
        .distinct()
        .order_by(AsnLine.asn_id, PurchaseOrder.number)
    ):
        numbers[asn_id].append(number)
    packages = dict(
        uow.session.execute(
            sa.select(AsnPackage.asn_id, sa.func.count()).where(AsnPackage.asn_id.in_(ids)).group_by(AsnPackage.asn_id)
        ).all()
    )
    units = dict(
        uow.session.execute(
            sa.select(AsnLine.asn_id, sa.func.sum(AsnLine.quantity)).where(AsnLine.asn_id.in_(ids)).group_by(AsnLine.asn_id)
        ).all()
    )
    rows = []
    for asn in found:
        supplier = organisations.get(asn.supplier_id)
        site = sites.get(asn.ship_to_site_id)
        rows.append(
            AsnRow(
                asn=asn,
                supplier_name=supplier.name if supplier else "",
                supplier_name_zh=supplier.name_zh if supplier else None,
                ship_to=site.name if site else "",
                po_numbers=numbers.get(asn.id, []),
                packages=packages.get(asn.id, 0),
                units=units.get(asn.id, Decimal(0)),
            )
        )
    return rows, more


@dataclass
class OpenLine:
    """An accepted PO line the supplier can ship against, with what is left to ship."""

    po_line: PurchaseOrderLine
    order_number: str
    item: Item
    open_quantity: Decimal


def open_lines(uow, actor, *, supplier_id: uuid.UUID | None = None) -> list[OpenLine]:
    """The supplier's accepted lines of orders still open, by order and line number: the
    choices of an ASN form (and the lines a scanned GTIN is matched to). A line fully
    shipped stays on the list with nothing open, so an ASN carrying it can be edited."""
    supplier = _supplier_of(actor, supplier_id)
    rows = uow.session.execute(
        sa.select(PurchaseOrderLine, PurchaseOrder.number, Item)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .join(Item, Item.id == PurchaseOrderLine.item_id)
        .where(
            PurchaseOrder.supplier_id == supplier,
            PurchaseOrderLine.status == "accepted",
            PurchaseOrder.status.not_in(validation.FINISHED_ORDERS),
        )
        .order_by(PurchaseOrder.number, PurchaseOrderLine.line_no)
    ).all()
    shipped = validation.shipped_quantities(uow, [line.id for line, _, _ in rows])
    return [
        OpenLine(line, number, item, max(line.quantity - shipped.get(line.id, Decimal(0)), Decimal(0)))
        for line, number, item in rows
    ]


def ship_everything_open(uow, actor, *, po_ids, supplier_id: uuid.UUID | None = None) -> dict:
    """The lines for "ship everything open": each accepted line of the orders with what
    is left to ship (its quantity less what live ASNs carry), no lots or serials yet."""
    supplier = _supplier_of(actor, supplier_id)
    rows = uow.session.execute(
        sa.select(PurchaseOrderLine)
        .join(PurchaseOrder, PurchaseOrder.id == PurchaseOrderLine.purchase_order_id)
        .where(
            PurchaseOrder.id.in_(list(po_ids)),
            PurchaseOrder.supplier_id == supplier,
            PurchaseOrderLine.status == "accepted",
            PurchaseOrder.status.not_in(validation.FINISHED_ORDERS),
        )
        .order_by(PurchaseOrder.number, PurchaseOrderLine.line_no)
    ).scalars().all()
    shipped = validation.shipped_quantities(uow, [r.id for r in rows])
    lines = []
    for row in rows:
        left = row.quantity - shipped.get(row.id, Decimal(0))
        if left > 0:
            lines.append({"purchase_order_line_id": row.id, "quantity": fields.plain(left)})
    site = next((r.ship_to_site_id for r in rows if r.ship_to_site_id), None)
    return {"ship_to_site_id": site, "packages": [], "lines": lines}


# --- writing ---------------------------------------------------------------------------


def _current(uow, asn_id: uuid.UUID, version: int | None) -> Asn:
    asn = uow.scalar(
        sa.select(Asn).where(Asn.id == asn_id).with_for_update().execution_options(populate_existing=True)
    )
    if asn is None:
        raise AsnNotFound()
    if version is None or asn.version != version:
        raise AsnChanged()
    return asn


def _write(uow, asn: Asn) -> None:
    try:
        uow.flush()
    except StaleDataError as exc:
        raise AsnChanged() from exc


def _header(checked) -> dict:
    return {
        key: getattr(checked, key)
        for key in (
            "ship_to_site_id", "ship_from_site_id", "carrier", "tracking_number", "seal_number", "ship_date", "expected_arrival"
        )
    }


def _clear(uow, asn_id: uuid.UUID) -> None:
    for table in (AsnSerial, AsnLine, AsnPackage):
        uow.execute(sa.delete(table).where(table.asn_id == asn_id))


def _write_content(uow, asn: Asn, checked) -> None:
    package_ids = {sscc: new_id() for sscc, _, _ in checked.packages}
    if checked.packages:
        insert_rows(
            uow,
            AsnPackage,
            [
                {
                    "id": package_ids[sscc], "asn_id": asn.id, "supplier_id": asn.supplier_id, "seq": n,
                    "sscc": sscc, "level": level, "parent_id": package_ids.get(parent) if parent else None,
                }
                for n, (sscc, level, parent) in enumerate(checked.packages, start=1)
            ],
        )
    lots = _lots(uow, asn.supplier_id, checked.lines)
    line_rows, serial_rows = [], []
    for n, line in enumerate(checked.lines, start=1):
        line_id = new_id()
        line_rows.append(
            {
                "id": line_id, "asn_id": asn.id, "supplier_id": asn.supplier_id, "line_no": n,
                "package_id": package_ids.get(line.package) if line.package else None,
                "purchase_order_id": line.order.id, "purchase_order_line_id": line.po_line.id,
                "item_id": line.item.id, "quantity": line.quantity,
                "lot_id": lots.get((line.item.id, line.lot)) if line.lot else None, "lot": line.lot,
                "production_date": line.production_date, "expiry_date": line.expiry_date, "udi_di": line.item.udi_di,
            }
        )
        serial_rows.extend(
            {"id": new_id(), "asn_id": asn.id, "asn_line_id": line_id, "supplier_id": asn.supplier_id,
             "item_id": line.item.id, "serial": serial}
            for serial in line.serials
        )
    insert_rows(uow, AsnLine, line_rows)
    insert_rows(uow, AsnSerial, serial_rows)


def _lots(uow, supplier_id: uuid.UUID, lines) -> dict[tuple[uuid.UUID, str], uuid.UUID]:
    """The lots the lines name, made where new (their dates from the first line naming
    them: validation has checked that all agree)."""
    wanted: dict[tuple[uuid.UUID, str], tuple] = {}
    for line in lines:
        if line.lot:
            wanted.setdefault((line.item.id, line.lot), (line.production_date, line.expiry_date))
    if not wanted:
        return {}
    uow.execute(
        insert(Lot)
        .values(
            [
                {"id": new_id(), "item_id": item_id, "supplier_id": supplier_id, "number": number,
                 "production_date": made, "expiry_date": expiry}
                for (item_id, number), (made, expiry) in wanted.items()
            ]
        )
        .on_conflict_do_nothing()
    )
    found = uow.session.execute(
        sa.select(Lot.item_id, Lot.number, Lot.id).where(
            Lot.supplier_id == supplier_id,
            Lot.item_id.in_({k[0] for k in wanted}),
            Lot.number.in_({k[1] for k in wanted}),
        )
    )
    return {(item_id, number): lot_id for item_id, number, lot_id in found}


# --- reading for a trace (erp.traceability.trace): set-based, no permission of their own --


def shipments_of_lots(uow, *, lot_ids) -> list:
    """Rows (lot_id, asn_id, asn_number, asn_status, purchase_order_id, po_number,
    supplier_id, quantity): the ship notices that carried these lots (cancelled ones left
    out) and the orders they were shipped against, quantities summed per lot, ASN and order."""
    ids = list({i for i in lot_ids if i})
    if not ids:
        return []
    query = (
        sa.select(
            AsnLine.lot_id, Asn.id.label("asn_id"), Asn.number.label("asn_number"), Asn.status.label("asn_status"),
            AsnLine.purchase_order_id, PurchaseOrder.number.label("po_number"), Asn.supplier_id,
            sa.func.sum(AsnLine.quantity).label("quantity"),
        )
        .join(Asn, Asn.id == AsnLine.asn_id)
        .join(PurchaseOrder, PurchaseOrder.id == AsnLine.purchase_order_id)
        .where(AsnLine.lot_id.in_(ids), Asn.status != "cancelled")
        .group_by(AsnLine.lot_id, Asn.id, Asn.number, Asn.status, Asn.supplier_id, AsnLine.purchase_order_id,
                  PurchaseOrder.number)
    )
    return uow.execute(query).all()


def serial_shipments(uow, *, serial: str, item_id: uuid.UUID | None = None) -> set[tuple[uuid.UUID, uuid.UUID | None]]:
    """(item, lot) of the units of this serial number on ship notices."""
    query = (
        sa.select(AsnSerial.item_id, AsnLine.lot_id)
        .join(AsnLine, AsnLine.id == AsnSerial.asn_line_id)
        .where(AsnSerial.serial == serial)
    )
    if item_id is not None:
        query = query.where(AsnSerial.item_id == item_id)
    return {(row.item_id, row.lot_id) for row in uow.execute(query.distinct())}


def asn_numbered(uow, *, number: str) -> Asn | None:
    return uow.session.scalars(sa.select(Asn).where(Asn.number == number)).first()


def lots_on_asn(uow, *, asn_id: uuid.UUID) -> list[uuid.UUID]:
    query = sa.select(AsnLine.lot_id).where(AsnLine.asn_id == asn_id, AsnLine.lot_id.is_not(None)).distinct()
    return list(uow.session.scalars(query))


def package_numbered(uow, *, sscc: str) -> tuple[AsnPackage, Asn, list[uuid.UUID]] | None:
    """The package of this SSCC, its ship notice and the lots in it (in its cases too, for a pallet)."""
    found = uow.execute(sa.select(AsnPackage, Asn).join(Asn, Asn.id == AsnPackage.asn_id).where(AsnPackage.sscc == sscc)).first()
    if found is None:
        return None
    package, asn = found
    inside = sa.select(AsnPackage.id).where(
        sa.or_(AsnPackage.id == package.id, AsnPackage.parent_id == package.id), AsnPackage.asn_id == package.asn_id
    )
    query = sa.select(AsnLine.lot_id).where(AsnLine.package_id.in_(inside), AsnLine.lot_id.is_not(None)).distinct()
    return package, asn, list(uow.session.scalars(query))


def purchase_order_numbered(uow, *, number: str) -> PurchaseOrder | None:
    return uow.session.scalars(sa.select(PurchaseOrder).where(PurchaseOrder.number == number)).first()


def lots_of_purchase_order(uow, *, po_id: uuid.UUID) -> list[uuid.UUID]:
    """The lots shipped against an order on its ship notices (cancelled ones left out)."""
    query = (
        sa.select(AsnLine.lot_id)
        .join(Asn, Asn.id == AsnLine.asn_id)
        .where(AsnLine.purchase_order_id == po_id, AsnLine.lot_id.is_not(None), Asn.status != "cancelled")
        .distinct()
    )
    return list(uow.session.scalars(query))
