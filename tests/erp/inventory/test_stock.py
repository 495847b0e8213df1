"""Stock on hand, where a lot is, moves and consumption."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from erp.inventory import service as inventory
from erp.inventory.models import Stock, StockMovement
from kernel.errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.erp.receiving.receiving_support import decide, item, location, receive
from tests.erp.receiving.receiving_support import who as who  # the fixture
from tests.factories import actor_in

D = Decimal


def _released(uow, who, world, settings, **kw):
    got = receive(uow, who["warehouse"], supplier=world.suppliers[0], item_id=item(uow, category="packaging").id, **kw)
    decide(uow, who["quality"], settings, got)
    return got


def test_stock_rows_filters_and_pages(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["warehouse"]) as uow:
        thing = item(uow)
        shelf = location(uow, kind="receiving")
        got = [
            receive(uow, who["warehouse"], supplier=world.suppliers[0], item_id=thing.id, lot_number=f"QR{n}", at=shelf)
            for n in range(3)
        ]
        serialised = receive(
            uow, who["warehouse"], supplier=world.suppliers[1], item_id=thing.id, serials=("SN-9", "SN-10"), at=shelf
        )
        actor = who["warehouse"]
        everything = inventory.stock_rows(uow, actor, item_id=thing.id, limit=200)
        assert len(everything.items) == 5 and everything.next_cursor is None
        first = inventory.stock_rows(uow, actor, item_id=thing.id, limit=2)
        second = inventory.stock_rows(uow, actor, item_id=thing.id, limit=2, cursor=first.next_cursor)
        third = inventory.stock_rows(uow, actor, item_id=thing.id, limit=2, cursor=second.next_cursor)
        paged = [s.id for p in (first, second, third) for s in p.items]
        assert sorted(paged) == sorted(s.id for s in everything.items) and third.next_cursor is None
        assert [s.lot_id for s in inventory.stock_rows(uow, actor, lot="QR1").items] == [got[1].lot.id]
        assert [s.serial for s in inventory.stock_rows(uow, actor, serial="SN-10").items] == ["SN-10"]
        assert len(inventory.stock_rows(uow, actor, status="quarantine", location_id=shelf.id).items) == 5
        assert inventory.stock_rows(uow, actor, status="released", location_id=shelf.id).items == []
        assert serialised.lot.id in {s.lot_id for s in everything.items}
        with pytest.raises(ValidationFailed) as bad:
            inventory.stock_rows(uow, actor, status="lost")
        assert "status" in bad.value.errors
        with pytest.raises(ValidationFailed):
            inventory.stock_rows(uow, actor, cursor="not-a-cursor")


@pytest.mark.parametrize("person", ["viewer", "buyer", "supplier1"])
def test_stock_needs_stock_view(tx, world, who, person):
    with tx.uow(tenant_id=world.tenant_id, actor=who[person]) as uow:
        with pytest.raises(Forbidden):
            inventory.stock_rows(uow, who[person])


def test_partial_move_splits_and_joins(tx, world, who, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["warehouse"]) as uow:
        got = _released(uow, who, world, settings)
        shelf = location(uow)
        [row] = got.stock
        moved = inventory.move_stock(uow, who["warehouse"], stock_id=row.id, to_location_id=shelf.id, quantity="30")
        assert (moved.location_id, moved.quantity, moved.status) == (shelf.id, D(30), "released")
        assert row.quantity == D(70)
        again = inventory.move_stock(uow, who["warehouse"], stock_id=row.id, to_location_id=shelf.id, quantity="20")
        assert again.id == moved.id and moved.quantity == D(50)  # joined the row already there
        whole = inventory.move_stock(uow, who["warehouse"], stock_id=row.id, to_location_id=location(uow).id, quantity="50")
        assert whole.id == row.id  # the whole row moves in place
        moves = uow.session.scalars(
            sa.select(StockMovement).where(StockMovement.lot_id == got.lot.id, StockMovement.kind == "move")
        ).all()
        assert sorted(m.quantity for m in moves) == [D(20), D(30), D(50)]
        assert {m.from_location_id for m in moves} == {got.receipt.location_id}
        where = inventory.where_is_lot(uow, who["warehouse"], lot_id=got.lot.id)
        assert sorted(s.quantity for s in where.stock) == [D(50), D(50)]
        assert [m.kind for m in where.movements][:2] == ["receipt", "release"]


def test_a_serialised_unit_moves_whole(tx, world, who, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["warehouse"]) as uow:
        got = _released(uow, who, world, settings, serials=("U1",))
        shelf = location(uow)
        with pytest.raises(ValidationFailed) as part:
            inventory.move_stock(uow, who["warehouse"], stock_id=got.stock[0].id, to_location_id=shelf.id, quantity="0.5")
        assert part.value.errors["quantity"] == inventory.SERIAL_WHOLE
        moved = inventory.move_stock(uow, who["warehouse"], stock_id=got.stock[0].id, to_location_id=shelf.id, quantity="1")
        assert (moved.serial, moved.location_id) == ("U1", shelf.id)


@pytest.mark.parametrize(
    ("quantity", "where", "message"),
    [
        ("101", "other", inventory.MORE_THAN_THERE),
        ("0", "other", inventory.QUANTITY_POSITIVE),
        ("-5", "other", inventory.QUANTITY_POSITIVE),
        ("lots", "other", inventory.QUANTITY_POSITIVE),
        ("10", "same", inventory.SAME_LOCATION),
        ("10", "none", inventory.LOCATION_NOT_FOUND),
    ],
)
def test_bad_moves(tx, world, who, quantity, where, message):
    with tx.uow(tenant_id=world.tenant_id, actor=who["warehouse"]) as uow:
        got = receive(uow, who["warehouse"], supplier=world.suppliers[0], item_id=item(uow).id)
        target = {"other": location(uow).id, "same": got.receipt.location_id, "none": got.lot.id}[where]
        with pytest.raises(ValidationFailed) as bad:
            inventory.move_stock(uow, who["warehouse"], stock_id=got.stock[0].id, to_location_id=target, quantity=quantity)
        assert message in bad.value.errors.values()
        assert got.stock[0].quantity == D(100) and got.stock[0].location_id == got.receipt.location_id


def test_quarantine_stock_moves_but_is_not_consumed(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["warehouse"]) as uow:
        got = receive(uow, who["warehouse"], supplier=world.suppliers[0], item_id=item(uow).id)
        quarantine = location(uow, kind="quarantine")
        inventory.move_stock(uow, who["warehouse"], stock_id=got.stock[0].id, to_location_id=quarantine.id, quantity="100")
        with pytest.raises(Conflict) as refused:
            inventory.consume(uow, who["warehouse"], stock_id=got.stock[0].id, quantity="1", reference="WO-1")
        assert refused.value.message == inventory.NOT_RELEASED["quarantine"]


def test_consume_released_stock(tx, world, who, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["warehouse"]) as uow:
        got = _released(uow, who, world, settings)
        used = inventory.consume(uow, who["warehouse"], stock_id=got.stock[0].id, quantity="40", reference="WO-2026-17")
        assert (used.status, used.quantity) == ("consumed", D(40))
        assert got.stock[0].quantity == D(60)
        move = uow.session.scalars(
            sa.select(StockMovement).where(StockMovement.kind == "consume", StockMovement.lot_id == got.lot.id)
        ).one()
        assert (move.from_status, move.to_status, move.quantity, move.moved_by) == (
            "released",
            "consumed",
            D(40),
            who["warehouse"].user_id,
        )
        with pytest.raises(Conflict):
            inventory.move_stock(uow, who["warehouse"], stock_id=used.id, to_location_id=location(uow).id, quantity="1")
        with pytest.raises(ValidationFailed) as more:
            inventory.consume(uow, who["warehouse"], stock_id=got.stock[0].id, quantity="61")
        assert more.value.errors["quantity"] == inventory.MORE_THAN_THERE and more.value.params["available"] == "60"
        with pytest.raises(ValidationFailed) as long_ref:
            inventory.consume(uow, who["warehouse"], stock_id=got.stock[0].id, quantity="1", reference="x" * 61)
        assert "reference" in long_ref.value.errors
        all_of_it = inventory.consume(uow, who["warehouse"], stock_id=got.stock[0].id, quantity="60")
        assert (all_of_it.id, all_of_it.status) == (got.stock[0].id, "consumed")  # the whole row, in place
        with pytest.raises(Conflict) as gone:
            inventory.consume(uow, who["warehouse"], stock_id=got.stock[0].id, quantity="1")
        assert gone.value.message == inventory.STOCK_GONE


@pytest.mark.parametrize("person", ["quality", "viewer", "supplier1"])
def test_moving_needs_stock_move(tx, world, who, person):
    with tx.uow(tenant_id=world.tenant_id, actor=who["warehouse"]) as uow:
        got = receive(uow, who["warehouse"], supplier=world.suppliers[0], item_id=item(uow).id)
        shelf = location(uow)
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=who[person]) as uow:
        with pytest.raises(Forbidden):
            inventory.move_stock(uow, who[person], stock_id=got.stock[0].id, to_location_id=shelf.id, quantity="1")
        with pytest.raises(Forbidden):
            inventory.consume(uow, who[person], stock_id=got.stock[0].id, quantity="1")


def test_another_tenant_sees_no_stock(tx, world, other_world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["warehouse"]) as uow:
        got = receive(uow, who["warehouse"], supplier=world.suppliers[0], item_id=item(uow).id)
        uow.commit()
    with tx.uow() as lookup:
        stranger = actor_in(lookup, other_world, "warehouse")
    with tx.uow(tenant_id=other_world.tenant_id, actor=stranger) as uow:
        assert got.stock[0].id not in {s.id for s in inventory.stock_rows(uow, stranger, limit=200).items}
        assert uow.session.get(Stock, (world.tenant_id, got.stock[0].id)) is None
        with pytest.raises(NotFound):
            inventory.where_is_lot(uow, stranger, lot_id=got.lot.id)
        with pytest.raises(NotFound):
            inventory.move_stock(uow, stranger, stock_id=got.stock[0].id, to_location_id=got.receipt.location_id, quantity="1")
