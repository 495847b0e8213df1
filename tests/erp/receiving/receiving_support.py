"""Receipts and stock written straight through the ORM, as receiving writes them (a
closed receipt, its lines, the lot's stock in quarantine at a receiving location and a
"receipt" movement per row), so inspection, release and inventory are tested without
the scanning flow. Also the people these tests use."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

import pytest

from erp.inventory.models import Location, Lot, Stock, StockMovement
from erp.receiving.models import Receipt, ReceiptLine
from kernel.crypto import FieldCipher
from kernel.ids import new_id
from tenants import service as tenants
from tests.factories import PASSWORD, actor_in, make_item, unique

PEOPLE = ("quality", "warehouse", "viewer", "buyer", "tenant_admin", "supplier1", "supplier2")


def people(tx, world) -> dict:
    with tx.uow() as lookup:
        return {who: actor_in(lookup, world, who) for who in PEOPLE}


@pytest.fixture
def who(tx, world) -> dict:
    return people(tx, world)


@dataclass
class Received:
    receipt: Receipt
    lot: Lot
    item_id: object
    stock: list[Stock] = field(default_factory=list)


def location(uow, *, kind: str = "storage", code: str | None = None) -> Location:
    place = Location(code=code or unique(f"{kind[:3].upper()}-"), name=f"{kind} location", kind=kind)
    uow.add(place)
    uow.flush()
    return place


def item(uow, *, category: str = "sterile_barrier"):
    return make_item(uow, category=category)


def receive(
    uow,
    actor,
    *,
    supplier,
    item_id,
    lot_number: str | None = None,
    quantity: str | None = "100",
    serials: tuple[str, ...] = (),
    at: Location | None = None,
    lot: Lot | None = None,
) -> Received:
    """A closed receipt of one lot: a quantity, or serialised units of quantity 1 each."""
    at = at or location(uow, kind="receiving")
    if lot is None:
        lot = Lot(item_id=item_id, supplier_id=supplier.id, number=lot_number or unique("L"))
        uow.add(lot)
        uow.flush()
    receipt = Receipt(
        number=tenants.next_number(uow, name="GR", prefix="GR", year=2026),
        supplier_id=supplier.id,
        location_id=at.id,
        status="closed",
        without_asn=True,
        received_by=actor.user_id,
    )
    uow.add(receipt)
    uow.flush()
    received = Received(receipt=receipt, lot=lot, item_id=item_id)
    units = [(s, Decimal(1)) for s in serials] or [(None, Decimal(quantity))]
    for serial, amount in units:
        uow.add(
            ReceiptLine(
                receipt_id=receipt.id, supplier_id=supplier.id, item_id=item_id, lot_id=lot.id, serial=serial, quantity=amount
            )
        )
        stock = Stock(
            id=new_id(),
            item_id=item_id,
            lot_id=lot.id,
            serial=serial,
            location_id=at.id,
            status="quarantine",
            quantity=amount,
            supplier_id=supplier.id,
        )
        uow.add(stock)
        uow.add(
            StockMovement(
                kind="receipt",
                item_id=item_id,
                lot_id=lot.id,
                serial=serial,
                quantity=amount,
                to_location_id=at.id,
                to_status="quarantine",
                reference_kind="receipt",
                reference_id=receipt.id,
                supplier_id=supplier.id,
                moved_by=actor.user_id,
            )
        )
        received.stock.append(stock)
    uow.flush()
    return received


def signing(settings) -> dict:
    return {"settings": settings, "cipher": FieldCipher.from_settings(settings)}


def decide(uow, actor, settings, received_or_lot, decision: str = "released", *, reason=None, password: str = PASSWORD):
    from erp.receiving import release

    lot = getattr(received_or_lot, "lot", received_or_lot)
    return release.decide_lot(
        uow, actor, lot_id=lot.id, decision=decision, reason=reason, password=password, otp=None, **signing(settings)
    )
