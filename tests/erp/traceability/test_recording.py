"""Production records (genealogy) and customer shipments: stock consumed and made, links
written, shipments moving stock to "shipped"; idempotent by reference; every bad input
refused with its message and nothing written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from erp.inventory import service as inventory
from erp.inventory.models import Location, Lot, Stock, StockMovement
from erp.traceability import service as trace
from erp.traceability.errors import CustomerNotFound, ProductionRunNotFound, ReferenceTaken, ShipmentNotFound
from erp.traceability.models import CustomerShipment, CustomerShipmentLine, GenealogyLink, ProductionRun
from kernel.clock import utcnow
from kernel.errors import Conflict, Forbidden, ValidationFailed
from tests.erp.traceability.support import (
    customer,
    finished_lot,
    people,
    released_component_lot,
    shipped_to_customer,
)
from tests.factories import make_item, unique

D = Decimal
AN_HOUR_AGO = None


@pytest.fixture
def who(tx, world) -> dict:
    return people(tx, world)


def _counts(uow) -> tuple:
    return tuple(
        uow.scalar(sa.select(sa.func.count()).select_from(t))
        for t in (ProductionRun, GenealogyLink, CustomerShipment, CustomerShipmentLine, Lot, Stock, StockMovement)
    )


def _stock(uow, lot_id) -> dict:
    rows = uow.session.scalars(sa.select(Stock).where(Stock.lot_id == lot_id, Stock.quantity > 0))
    out: dict = {}
    for row in rows:
        out[(row.serial, row.status)] = out.get((row.serial, row.status), D(0)) + row.quantity
    return out


def _ago(**kw) -> datetime:
    return utcnow() - timedelta(**(kw or {"hours": 1}))


def _record(uow, actor, *, components, **kw):
    values = {
        "reference": unique("WO-"),
        "item_id": kw.pop("item_id", None) or make_item(uow, category="finished_device").id,
        "lot_number": unique("FL"),
        "quantity": "2",
        "produced_at": _ago(),
    } | kw
    return trace.record_production(uow, actor, components=components, **values)


def _refused(uow, actor, **kw) -> ValidationFailed:
    before = _counts(uow)
    with pytest.raises(ValidationFailed) as failed:
        _record(uow, actor, **kw)
    assert _counts(uow) == before  # nothing half-written
    return failed.value


# --- production ---------------------------------------------------------------------------


def test_production_consumes_components_and_puts_finished_units_in_stock(tx, world, who):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        screws = released_component_lot(uow, world, actor, quantity="100")
        boards = released_component_lot(uow, world, actor, supplier=world.suppliers[1], serials=("B-1", "B-2"))
        device = make_item(uow, category="finished_device")
        uses = [
            trace.ComponentUse(item_id=screws.item_id, lot_number=screws.lot.number, quantity="4"),
            trace.ComponentUse(item_id=boards.item_id, lot_number=boards.lot.number, serial="B-1", quantity=1,
                               output_serial="DEV-1"),
            trace.ComponentUse(item_id=boards.item_id, serial="B-2", quantity=1, output_serial="DEV-2"),
        ]
        run = trace.record_production(
            uow, actor, reference="WO-1001", item_id=device.id, lot_number="FIN-1", quantity="2", produced_at=_ago(),
            serials=["DEV-1", "DEV-2"], components=uses, source="api",
        )
        lot = inventory.get_lot(uow, lot_id=run.lot_id)
        assert (lot.number, lot.supplier_id, lot.item_id) == ("FIN-1", None, device.id)
        assert (run.reference, run.quantity, run.source, run.recorded_by) == ("WO-1001", D(2), "api", actor.user_id)
        links = uow.session.scalars(sa.select(GenealogyLink).where(GenealogyLink.production_run_id == run.id)).all()
        assert sorted((k.input_lot_id == screws.lot.id, k.input_serial, k.output_serial, k.quantity) for k in links) == [
            (False, "B-1", "DEV-1", D(1)),
            (False, "B-2", "DEV-2", D(1)),
            (True, None, None, D(4)),
        ]
        assert {k.output_lot_id for k in links} == {lot.id}
        assert _stock(uow, screws.lot.id) == {(None, "released"): D(96), (None, "consumed"): D(4)}
        assert _stock(uow, boards.lot.id) == {("B-1", "consumed"): D(1), ("B-2", "consumed"): D(1)}
        assert _stock(uow, lot.id) == {("DEV-1", "released"): D(1), ("DEV-2", "released"): D(1)}
        place = uow.scalar(sa.select(Location).where(Location.id == run.location_id))
        assert place.kind == "production"
        moves = uow.session.scalars(
            sa.select(StockMovement).where(StockMovement.reference_kind == "production_run", StockMovement.reference_id == run.id)
        ).all()
        assert sorted((m.kind, m.serial or "", m.quantity) for m in moves) == [
            ("consume", "", D(4)), ("consume", "B-1", D(1)), ("consume", "B-2", D(1)),
            ("produce", "DEV-1", D(1)), ("produce", "DEV-2", D(1)),
        ]
        detail = trace.get_production_run(uow, who["quality"], run_id=run.id)  # recall.run reads
        assert detail.serials == ["DEV-1", "DEV-2"] and len(detail.components) == 3 and detail.location.id == place.id


def test_a_quantity_run_into_an_existing_own_lot_and_a_given_location(tx, world, who):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        parts = released_component_lot(uow, world, actor, quantity="50")
        first = finished_lot(uow, actor, components=[(parts, "10")], quantity="5", lot_number="BATCH-7")
        line = Location(code=unique("LINE-"), name="Line 2", kind="production")
        uow.add(line)
        uow.flush()
        again = finished_lot(
            uow, actor, components=[(parts, "10")], quantity="5", lot_number="BATCH-7", item_id=first.item_id
        )
        assert again.lot.id == first.lot.id
        assert _stock(uow, first.lot.id) == {(None, "released"): D(10)}
        third = trace.record_production(
            uow, actor, reference=unique("WO-"), item_id=first.item_id, lot_number="BATCH-7", quantity="1",
            produced_at=_ago(), location_id=line.id,
            components=[trace.ComponentUse(item_id=parts.item_id, lot_id=parts.lot.id, quantity="2")],
        )
        assert third.location_id == line.id


def test_sub_assemblies_chain_to_any_depth(tx, world, who):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        resin = released_component_lot(uow, world, actor, quantity="1000")
        housing = finished_lot(uow, actor, components=[(resin, "100")], quantity="10")
        pump = finished_lot(uow, actor, components=[(housing, "2")], quantity="2", serials=["PU-1", "PU-2"])
        kit = finished_lot(uow, actor, components=[(pump, "1", "PU-1")], quantity="1")
        assert _stock(uow, housing.lot.id) == {(None, "released"): D(8), (None, "consumed"): D(2)}
        assert _stock(uow, pump.lot.id)[("PU-1", "consumed")] == D(1)
        link = uow.scalar(sa.select(GenealogyLink).where(GenealogyLink.production_run_id == kit.run.id))
        assert (link.input_lot_id, link.input_serial) == (pump.lot.id, "PU-1")


def test_same_reference_same_content_returns_the_first_run(tx, world, who):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        parts = released_component_lot(uow, world, actor, quantity="10")
        units = released_component_lot(uow, world, actor, serials=("U-1",))
        device = make_item(uow, category="finished_device")
        when = _ago()
        values = {
            "reference": "WO-REPEAT", "item_id": device.id, "lot_number": "FIN-R", "quantity": "1", "produced_at": when,
            "serials": ["R-1"],
            "components": [
                trace.ComponentUse(item_id=parts.item_id, lot_number=parts.lot.number, quantity="6"),
                trace.ComponentUse(item_id=units.item_id, serial="U-1", quantity="1", output_serial="R-1"),
            ],
        }
        first = trace.record_production(uow, actor, **values)
        before = _counts(uow)
        # Sent again (components in another order, the time in another zone): the same record.
        repeat = values | {
            "components": list(reversed(values["components"])),
            "produced_at": when.astimezone(UTC).replace(tzinfo=UTC),
            "quantity": D("1.000"),
        }
        assert trace.record_production(uow, actor, **repeat).id == first.id
        assert _counts(uow) == before
        with pytest.raises(ReferenceTaken) as conflict:
            trace.record_production(uow, actor, **values | {"quantity": "2", "serials": ["R-1", "R-2"]})
        assert isinstance(conflict.value, Conflict) and conflict.value.params == {"reference": "WO-REPEAT"}
        assert "WO-REPEAT" in str(conflict.value)
        assert _counts(uow) == before


def test_consuming_more_of_a_lot_than_was_received(tx, world, who):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        parts = released_component_lot(uow, world, actor, quantity="100", lot_number="RCV-100")
        uses = [
            trace.ComponentUse(item_id=parts.item_id, lot_id=parts.lot.id, quantity="60"),
            trace.ComponentUse(item_id=parts.item_id, lot_id=parts.lot.id, quantity="50"),
        ]
        error = _refused(uow, actor, components=uses)
        assert error.errors == {"components.0.quantity": trace.LOT_SHORT}
        assert error.params_by_field["components.0.quantity"] == {
            "lot": "RCV-100", "available": "100", "quantity": "110", "held": "0"
        }
        assert _stock(uow, parts.lot.id) == {(None, "released"): D(100)}


def test_a_lot_partly_on_hold_says_so(tx, world, who):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        parts = released_component_lot(uow, world, actor, quantity="100", lot_number="HELD-1")
        inventory.change_status(uow, actor, stock=parts.stock[0], status="on_hold", kind="hold", quantity=D(70))
        error = _refused(uow, actor, components=[trace.ComponentUse(item_id=parts.item_id, lot_id=parts.lot.id, quantity=40)])
        assert error.errors == {"components.0.quantity": trace.LOT_SHORT_HELD}
        assert error.params_by_field["components.0.quantity"]["available"] == "30"
        assert error.params_by_field["components.0.quantity"]["held"] == "70"


@pytest.mark.parametrize("status", ["quarantine", "on_hold", "rejected"])
def test_unreleased_serialised_components_are_refused(tx, world, who, status):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        units = released_component_lot(uow, world, actor, serials=("Q-1",))
        inventory.change_status(uow, actor, stock=units.stock[0], status=status, kind="hold")
        use = trace.ComponentUse(item_id=units.item_id, serial="Q-1", quantity=1)
        error = _refused(uow, actor, quantity="1", components=[use])
        assert error.errors == {"components.0.serial": trace.UNIT_NOT_RELEASED[status]}


def test_a_serialised_lot_needs_serials(tx, world, who):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        units = released_component_lot(uow, world, actor, serials=("S-1", "S-2"))
        error = _refused(uow, actor, components=[trace.ComponentUse(item_id=units.item_id, lot_id=units.lot.id, quantity=2)])
        assert error.errors == {"components.0.quantity": trace.LOT_SERIALISED}


def test_a_cycle_in_the_genealogy_is_refused(tx, world, who):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        resin = released_component_lot(uow, world, actor, quantity="100")
        housing = finished_lot(uow, actor, components=[(resin, "10")], quantity="10", lot_number="SUB-1")
        pump = finished_lot(uow, actor, components=[(housing, "5")], quantity="5", lot_number="PUMP-1")
        kit = finished_lot(uow, actor, components=[(pump, "2")], quantity="2", lot_number="KIT-1")
        # More of SUB-1 made from KIT-1, which was made (through PUMP-1) from SUB-1.
        error = _refused(
            uow, actor, item_id=housing.item_id, lot_number="SUB-1", quantity="1",
            components=[trace.ComponentUse(item_id=kit.item_id, lot_id=kit.lot.id, quantity="1")],
        )
        assert error.errors == {"components.0.lot": trace.CYCLE}
        assert error.params_by_field["components.0.lot"] == {"component": "KIT-1", "lot": "SUB-1"}
        # A lot into itself.
        error = _refused(
            uow, actor, item_id=pump.item_id, lot_number="PUMP-1", quantity="1",
            components=[trace.ComponentUse(item_id=pump.item_id, lot_number="PUMP-1", quantity="1")],
        )
        assert error.errors == {"components.0.lot": trace.CYCLE_ITSELF}
        assert error.params_by_field["components.0.lot"] == {"lot": "PUMP-1"}
        # Not a cycle: a new lot of the sub-assembly from the kit.
        made = finished_lot(uow, actor, item_id=housing.item_id, lot_number="SUB-2", quantity="1", components=[(kit, "1")])
        assert made.lot.number == "SUB-2"


def test_unknown_item_lot_and_serial(tx, world, who, other_world):
    actor = who["warehouse"]
    with tx.uow(tenant_id=other_world.tenant_id) as uow:
        foreign = make_item(uow).id  # another tenant's item is unknown here
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        parts = released_component_lot(uow, world, actor)
        error = _refused(
            uow, actor, item_id=foreign,
            components=[
                trace.ComponentUse(item_id=foreign, lot_number="X", quantity=1),
                trace.ComponentUse(item_id=parts.item_id, lot_number="NO-SUCH-LOT", quantity=1),
                trace.ComponentUse(item_id=parts.item_id, serial="NO-SUCH-SERIAL", quantity=1),
                trace.ComponentUse(item_id=parts.item_id, lot_id=parts.lot.id, serial="NOPE", quantity=1),
            ],
        )
        assert error.errors == {
            "item_id": trace.UNKNOWN_ITEM,
            "components.0.item_id": trace.UNKNOWN_ITEM,
            "components.1.lot": trace.UNKNOWN_LOT,
            "components.2.serial": trace.UNKNOWN_SERIAL,
            "components.3.serial": trace.UNKNOWN_SERIAL,
        }
        assert error.params_by_field["components.1.lot"] == {"lot": "NO-SUCH-LOT"}
        assert error.params_by_field["components.2.serial"] == {"serial": "NO-SUCH-SERIAL"}


def test_a_serial_of_another_lot(tx, world, who):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        a = released_component_lot(uow, world, actor, serials=("A-1",), lot_number="LOT-A")
        b = released_component_lot(uow, world, actor, item_id=a.item_id, quantity="5", lot_number="LOT-B")
        error = _refused(
            uow, actor, quantity="1",
            components=[trace.ComponentUse(item_id=a.item_id, lot_id=b.lot.id, serial="A-1", quantity=1)],
        )
        assert error.errors == {"components.0.serial": trace.SERIAL_OF_OTHER_LOT}
        assert error.params_by_field["components.0.serial"] == {"serial": "A-1", "lot": "LOT-B", "other": "LOT-A"}


def test_the_same_serial_twice(tx, world, who):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        units = released_component_lot(uow, world, actor, serials=("T-1", "T-2"))
        error = _refused(
            uow, actor, serials=["F-1", "F-1"],
            components=[
                trace.ComponentUse(item_id=units.item_id, serial="T-1", quantity=1),
                trace.ComponentUse(item_id=units.item_id, serial="T-1", quantity=1),
            ],
        )
        assert error.errors == {"serials.1": trace.SERIAL_TWICE, "components.1.serial": trace.SERIAL_TWICE}
        assert error.params_by_field["serials.1"] == {"serial": "F-1"}


def test_a_finished_serial_that_exists_already(tx, world, who):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        parts = released_component_lot(uow, world, actor)
        made = finished_lot(uow, actor, components=[(parts, "1")], quantity="1", serials=["DUP-1"])
        error = _refused(
            uow, actor, item_id=made.item_id, quantity="1", serials=["DUP-1"],
            components=[trace.ComponentUse(item_id=parts.item_id, lot_id=parts.lot.id, quantity=1)],
        )
        assert error.errors == {"serials.0": trace.SERIAL_EXISTS}


@pytest.mark.parametrize("amount", ["0", "-3", "abc", "", None, "1e30"])
def test_quantities_must_be_positive(tx, world, who, amount):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        parts = released_component_lot(uow, world, actor)
        error = _refused(
            uow, actor, quantity=amount,
            components=[trace.ComponentUse(item_id=parts.item_id, lot_id=parts.lot.id, quantity=amount)],
        )
        assert error.errors == {"quantity": trace.QUANTITY_POSITIVE, "components.0.quantity": trace.QUANTITY_POSITIVE}


def test_produced_at_in_the_future_or_without_a_zone(tx, world, who):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        parts = released_component_lot(uow, world, actor)
        use = [trace.ComponentUse(item_id=parts.item_id, lot_id=parts.lot.id, quantity=1)]
        error = _refused(uow, actor, produced_at=utcnow() + timedelta(hours=2), components=use)
        assert error.errors == {"produced_at": trace.IN_FUTURE}
        error = _refused(uow, actor, produced_at=datetime(2026, 1, 5, 8, 0), components=use)
        assert error.errors == {"produced_at": trace.NEED_TIMEZONE}
        error = _refused(uow, actor, produced_at=None, components=use)
        assert "produced_at" in error.errors


def test_output_serial_must_be_one_of_the_runs(tx, world, who):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        parts = released_component_lot(uow, world, actor)
        error = _refused(
            uow, actor, quantity="1", serials=["OUT-1"],
            components=[trace.ComponentUse(item_id=parts.item_id, lot_id=parts.lot.id, quantity=1, output_serial="OUT-9")],
        )
        assert error.errors == {"components.0.output_serial": trace.NOT_A_RUN_SERIAL}
        assert error.params_by_field["components.0.output_serial"] == {"serial": "OUT-9"}


def test_serial_count_must_match_the_quantity_and_components_are_needed(tx, world, who):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        error = _refused(uow, actor, quantity="3", serials=["N-1", "N-2"], components=[], reference="")
        assert error.errors == {
            "serials": trace.SERIAL_COUNT, "components": trace.NO_COMPONENTS, "reference": "This field is required."
        }
        assert error.params_by_field["serials"] == {"quantity": "3", "count": "2"}


@pytest.mark.parametrize("person", ["viewer", "quality", "buyer", "supplier1"])
def test_recording_needs_production_record(tx, world, who, person):
    with tx.uow(tenant_id=world.tenant_id, actor=who["warehouse"]) as uow:
        parts = released_component_lot(uow, world, who["warehouse"])
        with pytest.raises(Forbidden):
            _record(uow, who[person], components=[trace.ComponentUse(item_id=parts.item_id, lot_id=parts.lot.id, quantity=1)])
        with pytest.raises(Forbidden):
            trace.upsert_customer(uow, who[person], code="X", name="X")


# --- shipments ----------------------------------------------------------------------------


def test_shipping_finished_units_to_a_customer(tx, world, who):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        parts = released_component_lot(uow, world, actor, quantity="100")
        serialised = finished_lot(uow, actor, components=[(parts, "2")], quantity="2", serials=["SH-1", "SH-2"])
        bulk = finished_lot(uow, actor, components=[(parts, "10")], quantity="10", lot_number="BULK-1")
        hospital = customer(uow, actor, code="HOSP-1")
        shipment = trace.record_shipment(
            uow, actor, reference="DN-1", customer_id=hospital.id, shipped_at=_ago(minutes=5),
            lines=[
                trace.ShippedUnit(item_id=serialised.item_id, serial="SH-1", quantity=1),
                trace.ShippedUnit(item_id=bulk.item_id, lot_number="BULK-1", quantity="4"),
            ],
        )
        assert shipment.ship_to_address == "1 Main St"  # the customer's, none given
        assert _stock(uow, serialised.lot.id) == {("SH-1", "shipped"): D(1), ("SH-2", "released"): D(1)}
        assert _stock(uow, bulk.lot.id) == {(None, "released"): D(6), (None, "shipped"): D(4)}
        moves = uow.session.scalars(
            sa.select(StockMovement).where(
                StockMovement.reference_kind == "customer_shipment", StockMovement.reference_id == shipment.id
            )
        ).all()
        assert sorted((m.kind, m.serial or "", m.quantity) for m in moves) == [("ship", "", D(4)), ("ship", "SH-1", D(1))]
        detail = trace.get_shipment(uow, who["quality"], shipment_id=shipment.id)
        assert detail.customer.code == "HOSP-1"
        assert sorted((r.lot.number, r.line.serial or "", r.line.quantity) for r in detail.lines) == [
            ("BULK-1", "", D(4)), (serialised.lot.number, "SH-1", D(1))
        ]
        page = trace.list_shipments(uow, actor, customer_id=hospital.id)
        assert [(r.shipment.id, r.lines, r.quantity) for r in page.items] == [(shipment.id, 2, D(5))]
        assert [r.shipment.id for r in trace.list_shipments(uow, actor, lot_id=bulk.lot.id).items] == [shipment.id]


def test_shipment_same_reference(tx, world, who):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        parts = released_component_lot(uow, world, actor, quantity="100")
        made = finished_lot(uow, actor, components=[(parts, "10")], quantity="10")
        first = shipped_to_customer(uow, actor, made, quantity="3", reference="DN-SAME")
        before = _counts(uow)
        lines = [trace.ShippedUnit(item_id=made.item_id, lot_id=made.lot.id, quantity="3.0")]
        again = trace.record_shipment(
            uow, actor, reference="DN-SAME", customer_id=first.customer_id, shipped_at=first.shipped_at, lines=lines
        )
        assert again.id == first.id and _counts(uow) == before
        with pytest.raises(ReferenceTaken):
            trace.record_shipment(
                uow, actor, reference="DN-SAME", customer_id=first.customer_id, shipped_at=first.shipped_at,
                lines=[trace.ShippedUnit(item_id=made.item_id, lot_id=made.lot.id, quantity="4")],
            )
        assert _counts(uow) == before


def _ship_refused(uow, actor, **kw) -> ValidationFailed:
    before = _counts(uow)
    values = {"reference": unique("DN-"), "shipped_at": _ago(minutes=1)} | kw
    with pytest.raises(ValidationFailed) as failed:
        trace.record_shipment(uow, actor, **values)
    assert _counts(uow) == before
    return failed.value


def test_shipping_more_than_on_hand(tx, world, who):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        parts = released_component_lot(uow, world, actor, quantity="100")
        made = finished_lot(uow, actor, components=[(parts, "5")], quantity="5", lot_number="SHORT-1")
        error = _ship_refused(
            uow, actor, customer_id=customer(uow, actor).id,
            lines=[trace.ShippedUnit(item_id=made.item_id, lot_number="SHORT-1", quantity="6")],
        )
        assert error.errors == {"lines.0.quantity": trace.LOT_SHORT}
        assert error.params_by_field["lines.0.quantity"]["available"] == "5"


def test_a_recall_hold_blocks_shipment(tx, world, who):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        parts = released_component_lot(uow, world, actor, quantity="100")
        made = finished_lot(uow, actor, components=[(parts, "3")], quantity="3", serials=["H-1", "H-2", "H-3"])
        bulk = finished_lot(uow, actor, components=[(parts, "5")], quantity="5", lot_number="HOLD-B")
        for row in uow.session.scalars(sa.select(Stock).where(Stock.lot_id.in_([made.lot.id, bulk.lot.id]))).all():
            inventory.change_status(uow, actor, stock=row, status="on_hold", kind="hold")
        error = _ship_refused(
            uow, actor, customer_id=customer(uow, actor).id,
            lines=[
                trace.ShippedUnit(item_id=made.item_id, serial="H-2", quantity=1),
                trace.ShippedUnit(item_id=bulk.item_id, lot_id=bulk.lot.id, quantity="1"),
            ],
        )
        assert error.errors == {"lines.0.serial": trace.UNIT_NOT_RELEASED["on_hold"], "lines.1.quantity": trace.LOT_SHORT_HELD}
        assert error.params_by_field["lines.1.quantity"]["held"] == "5"


def test_shipping_the_same_serial_again(tx, world, who):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        parts = released_component_lot(uow, world, actor, quantity="100")
        made = finished_lot(uow, actor, components=[(parts, "1")], quantity="1", serials=["ONCE-1"])
        shipped_to_customer(uow, actor, made, serials=["ONCE-1"])
        error = _ship_refused(
            uow, actor, customer_id=customer(uow, actor).id,
            lines=[trace.ShippedUnit(item_id=made.item_id, serial="ONCE-1", quantity=1)],
        )
        assert error.errors == {"lines.0.serial": trace.UNIT_NOT_RELEASED["shipped"]}


def test_unknown_customer_and_lot_and_bad_lines(tx, world, who, other_world):
    actor = who["warehouse"]
    with tx.uow(tenant_id=other_world.tenant_id, actor=actor) as uow:
        theirs = trace.upsert_customer(uow, trace_system(), code="THEIRS", name="Other tenant's")
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        parts = released_component_lot(uow, world, actor, quantity="100")
        made = finished_lot(uow, actor, components=[(parts, "2")], quantity="2")
        error = _ship_refused(
            uow, actor, customer_id=theirs.id, shipped_at=utcnow() + timedelta(days=1),
            lines=[
                trace.ShippedUnit(item_id=made.item_id, lot_number="NO-LOT", quantity=1),
                trace.ShippedUnit(item_id=made.item_id, lot_id=made.lot.id, quantity=0),
                trace.ShippedUnit(item_id=made.item_id, lot_id=made.lot.id, serial="Z", quantity=2),
            ],
        )
        assert error.errors == {
            "customer_id": trace.UNKNOWN_CUSTOMER,
            "shipped_at": trace.IN_FUTURE,
            "lines.0.lot": trace.UNKNOWN_LOT,
            "lines.1.quantity": trace.QUANTITY_POSITIVE,
            "lines.2.quantity": trace.SERIAL_ONE,
            "lines.2.serial": trace.UNKNOWN_SERIAL,
        }
        error = _ship_refused(uow, actor, customer_id=customer(uow, actor).id, lines=[])
        assert error.errors == {"lines": trace.NO_LINES}


def trace_system():
    from kernel.uow import Actor

    return Actor.system()


# --- customers ----------------------------------------------------------------------------


def test_upsert_customer(tx, world, who):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        made = trace.upsert_customer(uow, actor, code="DIST-1", name="Distributor", email="d@x.example", country="cn")
        assert (made.country, made.locale, made.address) == ("CN", "en", None)
        same = trace.upsert_customer(uow, actor, code="dist-1", name="Distributor GmbH", address="Berlin", locale="zh_Hans_CN")
        assert same.id == made.id
        assert (same.name, same.email, same.address, same.locale) == ("Distributor GmbH", "d@x.example", "Berlin", "zh_Hans_CN")
        assert trace.customer_by_code(uow, who["quality"], code="DIST-1").id == made.id
        assert trace.get_customer(uow, who["quality"], customer_id=made.id).code == "DIST-1"
        with pytest.raises(ValidationFailed) as bad:
            trace.upsert_customer(uow, actor, code="", name="", email="not-mail", country="CHN", locale="fr")
        assert set(bad.value.errors) == {"code", "name", "email", "country", "locale"}


def test_lists_page_and_other_tenants_see_nothing(tx, world, other_world, who):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        parts = released_component_lot(uow, world, actor, quantity="100")
        runs = [finished_lot(uow, actor, components=[(parts, "1")], quantity="1", reference=f"PAGE-{n}") for n in range(3)]
        for n in range(3):
            customer(uow, actor, code=f"PG-{n}")
        first = trace.list_production_runs(uow, actor, limit=2)
        second = trace.list_production_runs(uow, actor, limit=2, cursor=first.next_cursor)
        listed = [r.run.id for r in first.items + second.items]
        assert {r.run.id for r in runs} <= set(listed) and len(listed) == len(set(listed))
        assert [r.run.reference for r in trace.list_production_runs(uow, actor, q="page-1").items] == ["PAGE-1"]
        assert [r.run.id for r in trace.list_production_runs(uow, actor, q=runs[2].lot.number).items] == [runs[2].run.id]
        assert trace.list_production_runs(uow, actor, q="PAGE-0").items[0].components == 1
        codes = trace.list_customers(uow, actor, q="PG-", limit=2)
        more = trace.list_customers(uow, actor, q="PG-", limit=2, cursor=codes.next_cursor)
        assert [c.code for c in codes.items + more.items] == ["PG-0", "PG-1", "PG-2"] and more.next_cursor is None
        shipped = shipped_to_customer(uow, actor, runs[0])
        run_id, shipment_id = runs[0].run.id, shipped.id
        with pytest.raises(Forbidden):
            trace.list_production_runs(uow, who["viewer"])
    other = people(tx, other_world)["warehouse"]
    with tx.uow(tenant_id=other_world.tenant_id, actor=other) as uow:
        assert trace.list_production_runs(uow, other, q="PAGE-").items == []
        with pytest.raises(ProductionRunNotFound):
            trace.get_production_run(uow, other, run_id=run_id)
        with pytest.raises(ShipmentNotFound):
            trace.get_shipment(uow, other, shipment_id=shipment_id)
        with pytest.raises(CustomerNotFound):
            trace.get_customer(uow, other, customer_id=shipped.customer_id)


def test_a_supplier_session_sees_none_of_the_tenants_genealogy_or_customers(tx, world, who):
    """Row-level security, below the services: the tenant's customers, production and
    shipments are empty to a supplier user whatever is asked (buyer_only policy)."""
    warehouse = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=warehouse) as uow:
        screws = released_component_lot(uow, world, warehouse, quantity="10")
        pump = finished_lot(uow, warehouse, components=[(screws, "4")], quantity="2", serials=["S1", "S2"])
        shipped_to_customer(uow, warehouse, pump, serials=["S1"])
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert _counts(uow)[:4] != (0, 0, 0, 0)
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier1"]) as uow:
        assert _counts(uow)[:4] == (0, 0, 0, 0)
        assert uow.scalar(sa.text("select count(*) from customer")) == 0
