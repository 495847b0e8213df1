"""Incoming inspection: plans, sampling (ISO 2859-1), opening on receipt, recording,
nonconformances and rejected stock."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from erp.inventory.models import Stock, StockMovement
from erp.receiving import inspection
from erp.receiving.models import Inspection, Nonconformance
from erp.receiving.sampling import AQLS, code_letter, plan_for
from kernel.errors import Conflict, Forbidden, NotFound, ValidationFailed
from kernel.outbox import OutboxMessage
from tests.erp.receiving.receiving_support import item, receive
from tests.erp.receiving.receiving_support import who as who  # the fixture

D = Decimal


# --- sampling ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("lot_size", "aql", "letter", "sample", "accept"),
    [
        (5000, "2.5", "L", 200, 10),  # Table 2-A: L 200, AQL 2.5 -> Ac 10
        (5000, "4.0", "L", 200, 14),
        (1000, "0.65", "J", 80, 1),
        (60, "1.5", "D", 8, 0),  # E at 1.5 is an up arrow: D's plan (8, Ac 0)
        (40, "2.5", "C", 5, 0),  # D at 2.5: up arrow to C
        (100000, "10", "K", 125, 21),  # N at 10: up arrows to K's Ac 21
        (1000000, "0.10", "Q", 1250, 3),
        (300, "1.0", "H", 50, 1),
    ],
)
def test_plans_follow_the_iso_2859_1_tables(lot_size, aql, letter, sample, accept):
    plan = plan_for(lot_size, D(aql))
    assert (plan.code_letter, plan.sample_size, plan.accept, plan.reject) == (letter, sample, accept, accept + 1)


def test_code_letters_of_level_ii():
    assert [code_letter(n) for n in (2, 8, 9, 25, 26, 280, 281, 1200, 1201, 500000, 500001)] == list("AABCDGHJKPQ")


def test_a_small_lot_is_inspected_in_full():
    plan = plan_for(6, D("1.0"))
    assert plan.sample_size == 6 and plan.full_inspection and plan.accept == 0


def test_aqls_are_the_preferred_series():
    assert [str(a) for a in AQLS] == ["0.10", "0.15", "0.25", "0.40", "0.65", "1.0", "1.5", "2.5", "4.0", "6.5", "10"]


# --- plans ---------------------------------------------------------------------------------


def test_save_plan_and_defaults(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        before = {p.category: p for p in inspection.plans(uow, who["quality"])}
        assert before["sterile_barrier"].inspect and before["sterile_barrier"].is_default
        assert not before["packaging"].inspect
        saved = inspection.save_plan(uow, who["quality"], category="packaging", inspect=True, aql="2.5")
        again = inspection.save_plan(uow, who["quality"], category="packaging", inspect=True, aql="4.0")
        assert saved.id == again.id and again.aql == D("4.0")
        after = {p.category: p for p in inspection.plans(uow, who["quality"])}
        assert after["packaging"].inspect and not after["packaging"].is_default and after["packaging"].aql == D("4.0")


@pytest.mark.parametrize(
    ("category", "aql", "field"),
    [
        ("nonsense", "1.0", "category"),
        ("component", "3", "aql"),
        ("component", "0", "aql"),
        ("component", "15", "aql"),
        ("component", "x", "aql"),
    ],
)
def test_save_plan_refuses_bad_values(tx, world, who, category, aql, field):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        with pytest.raises(ValidationFailed) as failed:
            inspection.save_plan(uow, who["quality"], category=category, inspect=True, aql=aql)
        assert field in failed.value.errors


@pytest.mark.parametrize("person", ["viewer", "warehouse", "supplier1"])
def test_save_plan_needs_inspection_record(tx, world, who, person):
    with tx.uow(tenant_id=world.tenant_id, actor=who[person]) as uow:
        with pytest.raises(Forbidden):
            inspection.save_plan(uow, who[person], category="component", inspect=True, aql="1.0")


# --- opening -------------------------------------------------------------------------------


def test_open_inspections_per_item_and_lot_idempotent(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["warehouse"]) as uow:
        sterile = item(uow, category="sterile_barrier")
        packaging = item(uow, category="packaging")
        got = receive(uow, who["warehouse"], supplier=world.suppliers[0], item_id=sterile.id, quantity="500")
        # A second line of the same lot on the same receipt adds to its quantity.
        from erp.receiving.models import ReceiptLine

        uow.add(
            ReceiptLine(
                receipt_id=got.receipt.id,
                supplier_id=world.suppliers[0].id,
                item_id=sterile.id,
                lot_id=got.lot.id,
                quantity=D(300),
            )
        )
        other = receive(uow, who["warehouse"], supplier=world.suppliers[0], item_id=packaging.id, quantity="10")
        opened = inspection.open_inspections(uow, who["warehouse"], receipt_id=got.receipt.id)
        assert len(opened) == 1
        one = opened[0]
        assert (one.status, one.received_quantity, one.lot_id, one.supplier_id) == (
            "open",
            D(800),
            got.lot.id,
            world.suppliers[0].id,
        )
        assert one.sample_size == 80  # 800 -> J, AQL 1.0 -> 80
        assert [i.id for i in inspection.open_inspections(uow, who["warehouse"], receipt_id=got.receipt.id)] == [one.id]
        # Packaging is not inspected by default ...
        assert inspection.open_inspections(uow, who["warehouse"], receipt_id=other.receipt.id) == []
        # ... unless the tenant's plan says so, at its AQL.
        inspection.save_plan(uow, who["quality"], category="packaging", inspect=True, aql="6.5")
        [plan] = inspection.open_inspections(uow, who["warehouse"], receipt_id=other.receipt.id)
        assert plan.sample_size == 2  # 10 -> B; B at 6.5 is an up arrow to A (2, Ac 0)


def test_a_plan_can_turn_inspection_off(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        sterile = item(uow, category="sterile_barrier")
        inspection.save_plan(uow, who["quality"], category="sterile_barrier", inspect=False, aql="1.0")
        got = receive(uow, who["warehouse"], supplier=world.suppliers[0], item_id=sterile.id)
        assert inspection.open_inspections(uow, who["warehouse"], receipt_id=got.receipt.id) == []


def test_open_inspections_needs_receiving_or_inspection(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["viewer"]) as uow:
        with pytest.raises(Forbidden):
            inspection.open_inspections(uow, who["viewer"], receipt_id=world.tenant_id)


# --- recording -----------------------------------------------------------------------------


def _opened(uow, who, world, **kw):
    sterile = item(uow, category="sterile_barrier")
    got = receive(uow, who["warehouse"], supplier=world.suppliers[0], item_id=sterile.id, **kw)
    [opened] = inspection.open_inspections(uow, who["warehouse"], receipt_id=got.receipt.id)
    return got, opened


def test_record_all_accepted(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        got, opened = _opened(uow, who, world)
        done = inspection.record_inspection(
            uow, who["quality"], inspection_id=opened.id, accepted_quantity="100", rejected_quantity="0"
        )
        assert (done.status, done.accepted_quantity, done.inspected_by) == ("done", D(100), who["quality"].user_id)
        assert done.completed_at is not None
        assert uow.scalar(sa.select(sa.func.count()).select_from(Nonconformance)) == 0
        assert {s.status for s in uow.session.scalars(sa.select(Stock).where(Stock.lot_id == got.lot.id))} == {"quarantine"}


def test_rejects_open_a_nonconformance_and_reject_that_much_stock(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        got, opened = _opened(uow, who, world)
        inspection.record_inspection(
            uow,
            who["quality"],
            inspection_id=opened.id,
            accepted_quantity="88",
            rejected_quantity="12",
            defect_codes=["packaging", "dimension"],
            note="Seals torn on 12 pouches",
        )
        nc = uow.session.scalars(sa.select(Nonconformance).where(Nonconformance.inspection_id == opened.id)).one()
        assert nc.number.startswith("NC-") and len(nc.number) == len("NC-2026-000001")
        assert (nc.quantity, nc.defect_codes, nc.lot_id, nc.supplier_id) == (
            D(12),
            ["dimension", "packaging"],
            got.lot.id,
            world.suppliers[0].id,
        )
        assert "Seals torn" in nc.description
        rows = {(s.status, s.quantity) for s in uow.session.scalars(sa.select(Stock).where(Stock.lot_id == got.lot.id))}
        assert rows == {("quarantine", D(88)), ("rejected", D(12))}
        move = uow.session.scalars(
            sa.select(StockMovement).where(StockMovement.lot_id == got.lot.id, StockMovement.kind == "reject")
        ).one()
        assert (move.quantity, move.from_status, move.to_status, move.reference_id) == (D(12), "quarantine", "rejected", nc.id)
        topics = uow.session.scalars(sa.select(OutboxMessage.topic)).all()
        assert "nonconformance.opened" in topics


def test_rejected_serialised_units_stay_in_quarantine(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        got, opened = _opened(uow, who, world, serials=("S1", "S2", "S3"))
        inspection.record_inspection(
            uow, who["quality"], inspection_id=opened.id, accepted_quantity="2", rejected_quantity="1", defect_codes=["function"]
        )
        assert {s.status for s in uow.session.scalars(sa.select(Stock).where(Stock.lot_id == got.lot.id))} == {"quarantine"}
        assert uow.scalar(sa.select(sa.func.count()).select_from(Nonconformance)) == 1


@pytest.mark.parametrize(
    ("accepted", "rejected", "codes", "note", "field"),
    [
        ("90", "0", [], None, "rejected_quantity"),  # does not add up
        ("-1", "101", ["other"], "x", "accepted_quantity"),
        ("abc", "0", [], None, "accepted_quantity"),
        ("95", "5", [], None, "defect_codes"),  # rejects need codes
        ("95", "5", ["bent"], None, "defect_codes"),  # unknown code
        ("95", "5", ["other"], "", "note"),  # "other" needs the note
        ("100", "0", [], "x" * 2001, "note"),
    ],
)
def test_record_refuses_bad_results(tx, world, who, accepted, rejected, codes, note, field):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        _, opened = _opened(uow, who, world)
        with pytest.raises(ValidationFailed) as failed:
            inspection.record_inspection(
                uow,
                who["quality"],
                inspection_id=opened.id,
                accepted_quantity=accepted,
                rejected_quantity=rejected,
                defect_codes=codes,
                note=note,
            )
        assert field in failed.value.errors
        assert uow.session.get(Inspection, (world.tenant_id, opened.id)).status == "open"


def test_record_twice_is_a_conflict(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        _, opened = _opened(uow, who, world)
        inspection.record_inspection(uow, who["quality"], inspection_id=opened.id, accepted_quantity="100", rejected_quantity="0")
        with pytest.raises(Conflict):
            inspection.record_inspection(
                uow, who["quality"], inspection_id=opened.id, accepted_quantity="100", rejected_quantity="0"
            )


@pytest.mark.parametrize("person", ["viewer", "warehouse", "buyer", "supplier1"])
def test_record_needs_inspection_record(tx, world, who, person):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        _, opened = _opened(uow, who, world)
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=who[person]) as uow:
        with pytest.raises(Forbidden):
            inspection.record_inspection(
                uow, who[person], inspection_id=opened.id, accepted_quantity="100", rejected_quantity="0"
            )


def test_another_tenant_sees_no_inspection(tx, world, other_world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        _, opened = _opened(uow, who, world)
        uow.commit()
    with tx.uow() as lookup:
        from tests.factories import actor_in

        stranger = actor_in(lookup, other_world, "quality")
    with tx.uow(tenant_id=other_world.tenant_id, actor=stranger) as uow:
        assert inspection.list_inspections(uow, stranger) == []
        with pytest.raises(NotFound):
            inspection.get_inspection(uow, stranger, inspection_id=opened.id)
        with pytest.raises(NotFound):
            inspection.record_inspection(uow, stranger, inspection_id=opened.id, accepted_quantity="100", rejected_quantity="0")


def test_list_shows_open_first(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        _, first = _opened(uow, who, world)
        _, second = _opened(uow, who, world)
        inspection.record_inspection(uow, who["quality"], inspection_id=first.id, accepted_quantity="100", rejected_quantity="0")
        listed = [i.id for i in inspection.list_inspections(uow, who["quality"]) if i.id in (first.id, second.id)]
        assert listed == [second.id, first.id]
        assert inspection.sampling_for(uow, second).sample_size == 13  # 100 -> F; F at 1.0 is an up arrow to E (13, Ac 0)
