"""Batch release: the signed decision on a lot, what it does to the stock, what it
refuses, and the batch release time."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from auth.errors import SignatureRefused
from auth.models import Signature
from erp.inventory.models import Stock, StockMovement
from erp.receiving import inspection, release
from erp.receiving.models import LotRelease, Receipt
from kernel.clock import utcnow
from kernel.errors import Conflict, Forbidden, NotFound, ValidationFailed
from kernel.outbox import OutboxMessage
from tests.erp.receiving.receiving_support import decide, item, receive
from tests.erp.receiving.receiving_support import who as who  # the fixture
from tests.factories import actor_in

D = Decimal


def _received(uow, who, world, *, category="packaging", **kw):
    """A lot whose category is not inspected by default: ready for a decision."""
    thing = item(uow, category=category)
    return receive(uow, who["warehouse"], supplier=world.suppliers[0], item_id=thing.id, **kw)


def _statuses(uow, lot_id) -> dict:
    rows = uow.session.scalars(sa.select(Stock).where(Stock.lot_id == lot_id))
    return {(s.serial, s.status): s.quantity for s in rows}


def test_release_moves_quarantine_stock_and_signs(tx, world, who, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        got = _received(uow, who, world, serials=("A1", "A2"))
        decided = decide(uow, who["quality"], settings, got)
        assert (decided.decision, decided.decided_by, decided.supplier_id) == (
            "released",
            who["quality"].user_id,
            world.suppliers[0].id,
        )
        assert decided.received_at == got.receipt.created_at
        assert decided.decided_at >= decided.received_at
        assert _statuses(uow, got.lot.id) == {("A1", "released"): D(1), ("A2", "released"): D(1)}
        signature = uow.session.get(Signature, (world.tenant_id, decided.signature_id))
        assert (signature.record_type, signature.record_id, signature.meaning) == ("lot", got.lot.id, "released")
        moves = uow.session.scalars(
            sa.select(StockMovement).where(StockMovement.kind == "release", StockMovement.lot_id == got.lot.id)
        ).all()
        assert {(m.serial, m.from_status, m.to_status, m.reference_id) for m in moves} == {
            ("A1", "quarantine", "released", decided.id),
            ("A2", "quarantine", "released", decided.id),
        }
        message = uow.session.scalars(sa.select(OutboxMessage).where(OutboxMessage.topic == "lot.released")).one()
        assert message.payload["lot_id"] == str(got.lot.id)
        [view] = release.releases_of(uow, who["quality"], lot_id=got.lot.id)
        assert view.signature.matches and view.signature.printed_name


def test_hold_then_release(tx, world, who, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        got = _received(uow, who, world)
        held = decide(uow, who["quality"], settings, got, "on_hold", reason="Waiting for the CoA")
        assert _statuses(uow, got.lot.id) == {(None, "on_hold"): D(100)}
        assert uow.session.get(Signature, (world.tenant_id, held.signature_id)).meaning == "reviewed"
        decide(uow, who["quality"], settings, got, "released")
        assert _statuses(uow, got.lot.id) == {(None, "released"): D(100)}
        views = release.releases_of(uow, who["quality"], lot_id=got.lot.id)
        assert [v.release.decision for v in views] == ["on_hold", "released"]
        assert all(v.signature.matches for v in views)
        topics = set(uow.session.scalars(sa.select(OutboxMessage.topic)))
        assert {"lot.on_hold", "lot.released"} <= topics


def test_reject(tx, world, who, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        got = _received(uow, who, world)
        decide(uow, who["quality"], settings, got, "rejected", reason="Wrong material")
        assert _statuses(uow, got.lot.id) == {(None, "rejected"): D(100)}
        assert "lot.rejected" in set(uow.session.scalars(sa.select(OutboxMessage.topic)))


@pytest.mark.parametrize(
    ("decision", "reason", "field"),
    [("rejected", "", "reason"), ("on_hold", "  ", "reason"), ("scrapped", "x", "decision"), ("rejected", "x" * 2001, "reason")],
)
def test_bad_decisions(tx, world, who, settings, decision, reason, field):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        got = _received(uow, who, world)
        with pytest.raises(ValidationFailed) as failed:
            decide(uow, who["quality"], settings, got, decision, reason=reason)
        assert field in failed.value.errors
        assert _statuses(uow, got.lot.id) == {(None, "quarantine"): D(100)}


def test_an_open_inspection_blocks_release_not_hold(tx, world, who, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        got = _received(uow, who, world, category="sterile_barrier")
        [opened] = inspection.open_inspections(uow, who["warehouse"], receipt_id=got.receipt.id)
        with pytest.raises(Conflict) as refused:
            decide(uow, who["quality"], settings, got)
        assert refused.value.message == release.INSPECTION_OPEN
        decide(uow, who["quality"], settings, got, "on_hold", reason="Inspection pending")
        inspection.record_inspection(uow, who["quality"], inspection_id=opened.id, accepted_quantity="100", rejected_quantity="0")
        decide(uow, who["quality"], settings, got)
        assert _statuses(uow, got.lot.id) == {(None, "released"): D(100)}


def test_nothing_to_decide(tx, world, who, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        got = _received(uow, who, world)
        decide(uow, who["quality"], settings, got)
        with pytest.raises(Conflict) as again:
            decide(uow, who["quality"], settings, got)
        assert again.value.message == release.NOTHING_TO_DECIDE
        with pytest.raises(Conflict) as hold:
            decide(uow, who["quality"], settings, got, "on_hold", reason="x")
        assert hold.value.message == release.NOTHING_TO_HOLD


def test_inspection_rejects_then_release_leaves_rejected_stock(tx, world, who, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        got = _received(uow, who, world, category="sterile_barrier")
        [opened] = inspection.open_inspections(uow, who["warehouse"], receipt_id=got.receipt.id)
        inspection.record_inspection(
            uow,
            who["quality"],
            inspection_id=opened.id,
            accepted_quantity="97",
            rejected_quantity="3",
            defect_codes=["contamination"],
        )
        decide(uow, who["quality"], settings, got)
        assert _statuses(uow, got.lot.id) == {(None, "released"): D(97), (None, "rejected"): D(3)}


def test_a_wrong_password_decides_nothing(tx, world, who, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        got = _received(uow, who, world)
        with pytest.raises(SignatureRefused):
            decide(uow, who["quality"], settings, got, password="wrong-password")
        assert _statuses(uow, got.lot.id) == {(None, "quarantine"): D(100)}
        assert uow.scalar(sa.select(sa.func.count()).select_from(LotRelease).where(LotRelease.lot_id == got.lot.id)) == 0


@pytest.mark.parametrize("person", ["warehouse", "viewer", "buyer", "supplier1"])
def test_only_lot_release_holders_decide(tx, world, who, settings, person):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        got = _received(uow, who, world)
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=who[person]) as uow:
        with pytest.raises(Forbidden):
            decide(uow, who[person], settings, got)


def test_another_tenant_cannot_decide(tx, world, other_world, who, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        got = _received(uow, who, world)
        uow.commit()
    with tx.uow() as lookup:
        stranger = actor_in(lookup, other_world, "quality")
    with tx.uow(tenant_id=other_world.tenant_id, actor=stranger) as uow:
        with pytest.raises(NotFound):
            decide(uow, stranger, settings, got)
        with pytest.raises(NotFound):
            release.releases_of(uow, stranger, lot_id=got.lot.id)


def test_batch_release_times(tx, world, who, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        start = utcnow() - timedelta(minutes=1)
        for hours in (10, 20, 30):
            got = _received(uow, who, world)
            # Received `hours` ago, released now.
            uow.execute(
                sa.update(Receipt).where(Receipt.id == got.receipt.id).values(created_at=sa.func.now() - timedelta(hours=hours))
            )
            decide(uow, who["quality"], settings, got)
        times = release.batch_release_times(uow, since=start)
        assert times.lots == 3
        assert times.median_hours == pytest.approx(20, abs=0.1)
        assert times.p90_hours == pytest.approx(28, abs=0.1)
        assert release.batch_release_times(uow, since=utcnow() + timedelta(days=1)).lots == 0
