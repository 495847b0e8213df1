"""A nonconformance's signed disposition: what each does to the stock and the movements
it writes, every refusal (nothing written), the signature it is bound to and the trail;
and the return and rework facts scoring reads."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from audit.models import Event
from auth import signatures
from auth.errors import SignatureRefused
from auth.models import Signature
from erp.inventory.models import Stock, StockMovement
from erp.receiving import disposition, inspection, performance
from erp.receiving.errors import AlreadyDisposed, NoLotToDispose, NonconformanceNotFound, NothingToDispose
from erp.receiving.models import Nonconformance
from kernel.clock import utcnow
from kernel.errors import Forbidden, ValidationFailed
from kernel.outbox import OutboxMessage
from tenants import service as tenants
from tests.erp.receiving.receiving_support import decide, item, receive, signing
from tests.erp.receiving.receiving_support import who as who  # the fixture
from tests.factories import PASSWORD, actor_in

D = Decimal
DISPOSITION_KINDS = ("return", "scrap", "rework", "concession")


def _rejected(uow, who, world, *, rejected="10", serials=(), supplier=0):
    """A lot of 100 (or of serialised units) whose inspection rejected some: the
    nonconformance it opened."""
    thing = item(uow, category="sterile_barrier")
    got = receive(uow, who["warehouse"], supplier=world.suppliers[supplier], item_id=thing.id, serials=serials)
    [opened] = inspection.open_inspections(uow, who["warehouse"], receipt_id=got.receipt.id)
    received = D(len(serials)) if serials else D(100)
    inspection.record_inspection(
        uow,
        who["quality"],
        inspection_id=opened.id,
        accepted_quantity=str(received - D(rejected)),
        rejected_quantity=rejected,
        defect_codes=["packaging"],
    )
    nc = uow.session.scalars(sa.select(Nonconformance).where(Nonconformance.inspection_id == opened.id)).one()
    return got, nc


def _dispose(uow, actor, settings, nc, what="scrap", quantity="10", *, reason="Seals torn", rma=None, password=PASSWORD):
    return disposition.dispose_nonconformance(
        uow,
        actor,
        nonconformance_id=nc.id,
        disposition=what,
        quantity=quantity,
        reason=reason,
        rma_number=rma,
        password=password,
        otp=None,
        **signing(settings),
    )


def _stock(uow, lot_id) -> dict:
    rows = uow.session.scalars(sa.select(Stock).where(Stock.lot_id == lot_id, Stock.quantity > 0))
    found: dict = {}
    for row in rows:
        found[(row.serial, row.status)] = found.get((row.serial, row.status), D(0)) + row.quantity
    return found


def _moves(uow, nc) -> list:
    return list(
        uow.session.scalars(
            sa.select(StockMovement)
            .where(
                StockMovement.reference_kind == "nonconformance",
                StockMovement.reference_id == nc.id,
                StockMovement.kind.in_(DISPOSITION_KINDS),
            )
            .order_by(StockMovement.moved_at, StockMovement.id)
        )
    )


def _untouched(uow, nc, lot_id, before: dict) -> None:
    """Nothing of a disposition was written: the record, the stock, movements, signature."""
    uow.session.expire_all()
    row = uow.session.get(Nonconformance, (nc.tenant_id, nc.id))
    assert (row.status, row.disposition, row.disposition_quantity, row.disposed_at, row.signature_id) == (
        "open", None, None, None, None
    )
    assert _stock(uow, lot_id) == before
    assert _moves(uow, nc) == []
    assert not uow.scalar(sa.select(sa.func.count()).select_from(Signature).where(Signature.record_id == nc.id))
    assert not uow.scalar(
        sa.select(sa.func.count()).select_from(OutboxMessage).where(OutboxMessage.topic == "nonconformance.disposed")
    )


# --- each disposition ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("what", "kind", "becomes"),
    [
        ("return_to_supplier", "return", "returned"),
        ("scrap", "scrap", "scrapped"),
        ("rework", "rework", "quarantine"),
        ("use_as_is", "concession", "quarantine"),
    ],
)
def test_each_disposition_moves_the_rejected_stock(tx, world, who, settings, what, kind, becomes):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        got, nc = _rejected(uow, who, world)
        rma = "RMA-77" if what == "return_to_supplier" else None
        done = _dispose(uow, who["quality"], settings, nc, what, "4", rma=rma)
        assert (done.status, done.disposition, done.disposition_quantity, done.disposition_reason, done.rma_number) == (
            "closed", what, D(4), "Seals torn", rma
        )
        assert done.disposed_by == who["quality"].user_id and done.disposed_at is not None
        left = {(None, "quarantine"): D(90), (None, "rejected"): D(6)}
        left[(None, becomes)] = left.get((None, becomes), D(0)) + D(4)
        assert _stock(uow, got.lot.id) == left
        [move] = _moves(uow, nc)
        assert (move.kind, move.quantity, move.from_status, move.to_status, move.supplier_id) == (
            kind, D(4), "rejected", becomes, world.suppliers[0].id
        )
        assert move.from_location_id == move.to_location_id == got.receipt.location_id
        message = uow.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.topic == "nonconformance.disposed")).one()
        assert message.payload["nonconformance_id"] == str(nc.id)
        assert (message.payload["disposition"], message.payload["quantity"], message.payload["rma_number"]) == (what, "4", rma)


def test_returned_and_scrapped_stock_has_left(tx, world, who, settings):
    from erp.inventory import service as inventory
    from kernel.errors import Conflict

    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        got, nc = _rejected(uow, who, world)
        _dispose(uow, who["quality"], settings, nc, "return_to_supplier", "10")
        returned = uow.session.scalars(sa.select(Stock).where(Stock.lot_id == got.lot.id, Stock.status == "returned")).one()
        with pytest.raises(Conflict) as refused:
            inventory.move_stock(
                uow, who["tenant_admin"], stock_id=returned.id, to_location_id=got.receipt.location_id, quantity="1"
            )
        assert refused.value.message == inventory.STOCK_DISPOSED


def test_rework_goes_back_to_quarantine_and_needs_a_release(tx, world, who, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        got, nc = _rejected(uow, who, world)
        _dispose(uow, who["quality"], settings, nc, "rework", "10", reason="Re-seal the pouches")
        assert _stock(uow, got.lot.id) == {(None, "quarantine"): D(100)}
        decide(uow, who["quality"], settings, got)  # the signed lot release takes the reworked stock too
        assert _stock(uow, got.lot.id) == {(None, "released"): D(100)}


def test_an_inspection_nonconformance_leaves_stock_held_for_another_reason(tx, world, who, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        got, nc = _rejected(uow, who, world)
        decide(uow, who["quality"], settings, got, "on_hold", reason="Supplier to explain")
        assert _stock(uow, got.lot.id) == {(None, "on_hold"): D(90), (None, "rejected"): D(10)}
        # Held for another reason: not this nonconformance's to dispose of.
        assert disposition.get_nonconformance(uow, who["quality"], nonconformance_id=nc.id).available == D(10)
        assert disposition.available_by_nonconformance(uow, nonconformances=[nc]) == {nc.id: D(10)}
        with pytest.raises(ValidationFailed) as refused:
            _dispose(uow, who["quality"], settings, nc, "scrap", "15")
        assert refused.value.errors == {"quantity": disposition.MORE_THAN_NONCONFORMING}
        _dispose(uow, who["quality"], settings, nc, "scrap", "10")
        assert _stock(uow, got.lot.id) == {(None, "on_hold"): D(90), (None, "scrapped"): D(10)}
        assert [(m.from_status, m.quantity) for m in _moves(uow, nc)] == [("rejected", D(10))]


def test_serialised_units_go_whole(tx, world, who, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        got, nc = _rejected(uow, who, world, rejected="1", serials=("S1", "S2", "S3"))
        # The rejected unit waits in quarantine for the lot decision, which names the units.
        decide(uow, who["quality"], settings, got, "rejected", reason="Function test failed")
        view = disposition.get_nonconformance(uow, who["quality"], nonconformance_id=nc.id)
        assert (view.available, view.serialised) == (D(3), True)
        with pytest.raises(ValidationFailed) as half:
            _dispose(uow, who["quality"], settings, nc, "scrap", "1.5")
        assert half.value.errors == {"quantity": disposition.WHOLE_UNITS}
        _dispose(uow, who["quality"], settings, nc, "scrap", "2")
        assert _stock(uow, got.lot.id) == {("S1", "scrapped"): D(1), ("S2", "scrapped"): D(1), ("S3", "rejected"): D(1)}
        assert [(m.serial, m.quantity) for m in _moves(uow, nc)] == [("S1", D(1)), ("S2", D(1))]


# --- refusals --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"what": "keep"}, "disposition", disposition.UNKNOWN_DISPOSITION),
        ({"quantity": ""}, "quantity", disposition.QUANTITY_NEEDED),
        ({"quantity": "ten"}, "quantity", disposition.QUANTITY_NEEDED),
        ({"quantity": "0"}, "quantity", disposition.QUANTITY_NEEDED),
        ({"quantity": "-2"}, "quantity", disposition.QUANTITY_NEEDED),
        ({"quantity": "NaN"}, "quantity", disposition.QUANTITY_NEEDED),
        ({"quantity": "10.5"}, "quantity", disposition.MORE_THAN_NONCONFORMING),
        ({"reason": "  "}, "reason", disposition.REASON_NEEDED),
        ({"reason": "x" * 2001}, "reason", disposition.REASON_TOO_LONG),
        ({"what": "scrap", "rma": "RMA-1"}, "rma_number", disposition.RMA_FOR_RETURNS),
        ({"what": "return_to_supplier", "rma": "R" * 41}, "rma_number", disposition.RMA_TOO_LONG),
    ],
)
def test_bad_values_write_nothing(tx, world, who, settings, fields, field, message):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        got, nc = _rejected(uow, who, world)
        before = _stock(uow, got.lot.id)
        with pytest.raises(ValidationFailed) as failed:
            _dispose(uow, who["quality"], settings, nc, **fields)
        assert failed.value.errors[field] == message
        # The numbers the messages name.
        assert (failed.value.params["available"], failed.value.params["lot"]) == ("10", got.lot.number)
        _untouched(uow, nc, got.lot.id, before)


def test_disposed_once(tx, world, who, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        got, nc = _rejected(uow, who, world)
        _dispose(uow, who["quality"], settings, nc, "scrap", "4")
        before = _stock(uow, got.lot.id)
        with pytest.raises(AlreadyDisposed) as again:
            _dispose(uow, who["quality"], settings, nc, "rework", "6")
        assert again.value.params == {"number": nc.number}
        assert _stock(uow, got.lot.id) == before
        assert [m.kind for m in _moves(uow, nc)] == ["scrap"]


def test_a_nonconformance_with_no_lot_has_nothing_to_act_on(tx, world, who, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        got, _ = _rejected(uow, who, world)
        # As a cold-chain excursion over several lots opens it: no lot, no quantity.
        nc = Nonconformance(
            number=tenants.next_number(uow, name="NC", prefix="NC", year=utcnow().year),
            item_id=got.item_id,
            defect_codes=["cold_chain"],
            description="Cold-chain alert (temperature high)",
            created_by=who["quality"].user_id,
        )
        uow.add(nc)
        uow.flush()
        with pytest.raises(NoLotToDispose) as refused:
            _dispose(uow, who["quality"], settings, nc)
        assert refused.value.params == {"number": nc.number}
        _untouched(uow, nc, got.lot.id, _stock(uow, got.lot.id))
        assert disposition.get_nonconformance(uow, who["quality"], nonconformance_id=nc.id).available == D(0)


def test_no_nonconforming_stock_left(tx, world, who, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        # Serialised rejects stay in quarantine until the lot decision: none is rejected yet.
        got, nc = _rejected(uow, who, world, rejected="1", serials=("T1", "T2"))
        before = _stock(uow, got.lot.id)
        with pytest.raises(NothingToDispose) as refused:
            _dispose(uow, who["quality"], settings, nc, "scrap", "1")
        assert refused.value.params == {"number": nc.number, "lot": got.lot.number}
        _untouched(uow, nc, got.lot.id, before)


def test_a_wrong_password_disposes_of_nothing(tx, world, who, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        got, nc = _rejected(uow, who, world)
        before = _stock(uow, got.lot.id)
        with pytest.raises(SignatureRefused):
            _dispose(uow, who["quality"], settings, nc, password="wrong-password")
        _untouched(uow, nc, got.lot.id, before)


@pytest.mark.parametrize("person", ["warehouse", "viewer", "buyer", "supplier1"])
def test_only_lot_release_holders_dispose(tx, world, who, settings, person):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        got, nc = _rejected(uow, who, world)
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=who[person]) as uow:
        with pytest.raises(Forbidden):
            _dispose(uow, who[person], settings, nc)
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        _untouched(uow, nc, got.lot.id, {(None, "quarantine"): D(90), (None, "rejected"): D(10)})


def test_another_tenant_finds_no_nonconformance(tx, world, other_world, who, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        _, nc = _rejected(uow, who, world)
        uow.commit()
    with tx.uow() as lookup:
        stranger = actor_in(lookup, other_world, "quality")
    with tx.uow(tenant_id=other_world.tenant_id, actor=stranger) as uow:
        with pytest.raises(NonconformanceNotFound):
            _dispose(uow, stranger, settings, nc)
        with pytest.raises(NonconformanceNotFound):
            disposition.get_nonconformance(uow, stranger, nonconformance_id=nc.id)
        assert nc.id not in {n.id for n in disposition.list_nonconformances(uow, stranger).items}


# --- signature and trail ---------------------------------------------------------------------


def test_the_signature_is_bound_to_the_disposition_and_audited(tx, world, who, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        got, nc = _rejected(uow, who, world)
        done = _dispose(uow, who["quality"], settings, nc, "return_to_supplier", "10", rma="RMA-2026-9")
        signature = uow.session.get(Signature, (world.tenant_id, done.signature_id))
        assert (signature.record_type, signature.record_id, signature.meaning, signature.user_id) == (
            "nonconformance", nc.id, "approved", who["quality"].user_id
        )
        assert signature.supplier_id == world.suppliers[0].id and done.disposed_at == signature.signed_at
        stock = [{"location_id": str(got.receipt.location_id), "status": "rejected", "serial": None, "quantity": "10"}]
        content = disposition.signed_content(done, "return_to_supplier", D(10), "Seals torn", "RMA-2026-9", stock)
        assert signature.content_hash == signatures.content_hash(content)
        view = disposition.get_nonconformance(uow, who["quality"], nonconformance_id=nc.id)
        assert view.signature.id == signature.id and view.signature.matches
        assert (view.lot_number, view.part_number, view.available) == (got.lot.number, view.item.part_number, D(0))
        assert [m.kind for m in view.movements] == ["reject", "return"]  # the inspection's, then the disposition's
        events = uow.execute(
            sa.select(Event.action, Event.new_values, Event.reason).where(
                Event.table_name == "nonconformance", Event.row_id == str(nc.id), Event.action == "U"
            )
        ).all()
        assert any(
            e.new_values.get("disposition") == "return_to_supplier" and e.reason == "e-signature: approved" for e in events
        )
        # A record changed after signing no longer matches its signature.
        uow.execute(sa.update(Nonconformance).where(Nonconformance.id == nc.id).values(disposition_reason="Something else"))
        uow.session.expire_all()
        assert not disposition.get_nonconformance(uow, who["quality"], nonconformance_id=nc.id).signature.matches


# --- the list --------------------------------------------------------------------------------


def test_list_open_first_newest_first_with_pages(tx, world, who, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        _, closed = _rejected(uow, who, world)
        _dispose(uow, who["quality"], settings, closed)
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        _, older = _rejected(uow, who, world)
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        _, newer = _rejected(uow, who, world)
        uow.commit()
    mine = {closed.id, older.id, newer.id}
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        # One outer transaction in tests: now() is the same for all; set the order apart.
        for nc, hours in ((older, 2), (newer, 1), (closed, 0)):
            uow.execute(
                sa.update(Nonconformance)
                .where(Nonconformance.id == nc.id)
                .values(created_at=sa.func.now() - sa.text(f"interval '{hours} hours'"))
            )
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=who["warehouse"]) as uow:
        seen, cursor = [], None
        while True:
            page = disposition.list_nonconformances(uow, who["warehouse"], limit=1, cursor=cursor)
            seen += [n.id for n in page.items if n.id in mine]
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
        assert seen == [newer.id, older.id, closed.id]
        only_closed = disposition.list_nonconformances(uow, who["warehouse"], status="closed").items
        assert closed.id in {n.id for n in only_closed} and {n.status for n in only_closed} == {"closed"}
        with pytest.raises(ValidationFailed):
            disposition.list_nonconformances(uow, who["warehouse"], status="pending")
        with pytest.raises(ValidationFailed):
            disposition.list_nonconformances(uow, who["warehouse"], cursor="garbage")
        left = disposition.available_by_nonconformance(uow, nonconformances=[closed, older])
        assert left == {closed.id: D(0), older.id: D(10)}
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier1"]) as uow:
        with pytest.raises(Forbidden):
            disposition.list_nonconformances(uow, who["supplier1"])


# --- facts for scoring -----------------------------------------------------------------------


def test_returns_and_reworks_facts(tx, world, who, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        got, returned = _rejected(uow, who, world)
        _dispose(uow, who["quality"], settings, returned, "return_to_supplier", "7", rma="RMA-55")
        other, reworked = _rejected(uow, who, world, supplier=1)
        _dispose(uow, who["quality"], settings, reworked, "rework", "3")
        _, scrapped = _rejected(uow, who, world)
        _dispose(uow, who["quality"], settings, scrapped, "scrap", "10")
        today = uow.scalar(sa.select(sa.cast(sa.func.timezone("UTC", sa.func.now()), sa.Date)))
        [back] = uow.execute(performance.returns(supplier_ids=[world.suppliers[0].id])).all()
        assert back._asdict() == {
            "supplier_id": world.suppliers[0].id,
            "movement_id": back.movement_id,
            "nonconformance_id": returned.id,
            "nonconformance_number": returned.number,
            "day": today,
            "quantity": D(7),
            "lot_number": got.lot.number,
            "part_number": back.part_number,
            "rma_number": "RMA-55",
        }
        assert back.movement_id == _moves(uow, returned)[0].id
        [again] = uow.execute(performance.reworks(supplier_ids=[world.suppliers[1].id])).all()
        assert (again.supplier_id, again.nonconformance_id, again.day, again.quantity, again.lot_number, again.rma_number) == (
            world.suppliers[1].id, reworked.id, today, D(3), other.lot.number, None
        )
        assert uow.execute(performance.reworks(supplier_ids=[world.suppliers[0].id])).all() == []
        everything = {row.nonconformance_id for row in uow.execute(performance.returns()).all()}
        assert returned.id in everything and scrapped.id not in everything and reworked.id not in everything
