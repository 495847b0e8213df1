"""Production records and customer shipments from CSV and XLSX files: rows grouped by
reference, every bad row reported with its number and column, nothing written then."""

from __future__ import annotations

import io
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa
from openpyxl import Workbook, load_workbook

from erp import tabular
from erp.inventory.models import Stock
from erp.items.models import Item
from erp.traceability import imports
from erp.traceability import service as trace
from erp.traceability.imports import RecordImportInvalid
from erp.traceability.models import Customer, CustomerShipment, GenealogyLink, ProductionRun
from kernel.clock import utcnow
from kernel.errors import Forbidden
from tests.erp.traceability.support import customer, finished_lot, people, released_component_lot
from tests.factories import make_item, unique

D = Decimal
PRODUCTION = ",".join(imports.PRODUCTION_COLUMNS)
SHIPMENT = ",".join(imports.SHIPMENT_COLUMNS)


@pytest.fixture
def who(tx, world) -> dict:
    return people(tx, world)


def csv_file(lines: list[str]) -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _part(uow, item_id) -> str:
    return uow.scalar(sa.select(Item.part_number).where(Item.id == item_id))


def _when(hours: int = 2) -> str:
    return (utcnow() - timedelta(hours=hours)).strftime("%Y-%m-%d %H:%M")


def _counts(uow):
    tables = (ProductionRun, GenealogyLink, CustomerShipment, Customer, Stock)
    return [uow.scalar(sa.select(sa.func.count()).select_from(t)) for t in tables]


def _refused(uow, actor, content: bytes, kind: str = "production", filename: str = "f.csv") -> RecordImportInvalid:
    before = _counts(uow)
    run = imports.production_from_file if kind == "production" else imports.shipments_from_file
    with pytest.raises(RecordImportInvalid) as failed:
        run(uow, actor, content=content, filename=filename)
    assert _counts(uow) == before
    return failed.value


def test_production_file_makes_runs_grouped_by_reference(tx, world, who):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        screws = released_component_lot(uow, world, actor, quantity="100", lot_number="SCR-1")
        boards = released_component_lot(uow, world, actor, serials=("B-1", "B-2"), lot_number="BRD-1")
        pump = make_item(uow, category="finished_device")
        p, s, b = _part(uow, pump.id), _part(uow, screws.item_id), _part(uow, boards.item_id)
        when = _when()
        content = csv_file([
            PRODUCTION,
            f"WO-CSV-1,{p},FIN-CSV,2,{when},2028-01-31,PU-1,{s},SCR-1,,,8",
            f"WO-CSV-1,{p},FIN-CSV,2,{when},2028-01-31,PU-1,{b},,,B-1,",
            f"WO-CSV-1,{p},FIN-CSV,2,{when},2028-01-31,PU-2,{b.lower()},BRD-1,S1,B-2,1",
            f"WO-CSV-2,{p},FIN-CSV2,5,{when},,,{s},SCR-1,,,10",
        ])
        runs = imports.production_from_file(uow, actor, content=content, filename="wo.csv", timezone="Asia/Shanghai")
        assert [r.reference for r in runs] == ["WO-CSV-1", "WO-CSV-2"]
        assert {r.source for r in runs} == {"csv"}
        detail = trace.get_production_run(uow, actor, run_id=runs[0].id)
        assert detail.serials == ["PU-1", "PU-2"] and detail.lot.expiry_date.isoformat() == "2028-01-31"
        used = sorted((c.lot.number, c.link.input_serial or "", c.link.output_serial, c.link.quantity) for c in detail.components)
        assert used == [
            ("BRD-1", "B-1", "PU-1", D(1)), ("BRD-1", "B-2", "PU-2", D(1)), ("SCR-1", "", "PU-1", D(8)),
        ]
        assert detail.run.produced_at.utcoffset() is not None
        # Shanghai time in the file: 8 hours ahead of UTC.
        assert abs((utcnow() - timedelta(hours=2) - detail.run.produced_at) - timedelta(hours=8)) < timedelta(minutes=2)
        # The same file again: the same records (idempotent by reference).
        again = imports.production_from_file(uow, actor, content=content, filename="wo.csv", timezone="Asia/Shanghai")
        assert [r.id for r in again] == [r.id for r in runs]


def test_production_file_bad_rows_are_all_reported_and_nothing_saved(tx, world, who):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        screws = released_component_lot(uow, world, actor, quantity="10", lot_number="SCR-2")
        pump = make_item(uow, category="finished_device")
        p, s = _part(uow, pump.id), _part(uow, screws.item_id)
        when = _when()
        content = csv_file([
            PRODUCTION,
            f"WO-OK,{p},FIN-OK,1,{when},,,{s},SCR-2,,,2",  # good on its own: rolled back with the rest
            f"WO-BAD,{p},FIN-B,1,{when},,,{s},SCR-2,,,50",  # more than on hand (8 left after WO-OK)
            f"WO-BAD2,NO-SUCH-ITEM,FIN-C,1,yesterday,,,{s},NOPE,XX,,1",
            f"WO-BAD3,{p},FIN-D,0,{when},,,{s},SCR-2,,,1",
            f"WO-BAD3,{p},FIN-D,2,{when},,,{s},SCR-2,,,1",
        ])
        error = _refused(uow, actor, content)
        found = {(p.row, p.field): p.message for p in error.rows}
        assert found == {
            (3, "component_quantity"): trace.LOT_SHORT,
            (4, "item"): imports.UNKNOWN_ITEM_CODE,
            (4, "produced_at"): imports.NOT_A_TIME,
            (4, "component_supplier"): imports.UNKNOWN_SUPPLIER,
            (4, "component_lot"): trace.UNKNOWN_LOT,
            (5, "quantity"): trace.QUANTITY_POSITIVE,
            (6, "quantity"): imports.ROWS_DIFFER,
        }
        assert error.params_by_field["rows.3.component_quantity"] == {
            "lot": "SCR-2", "available": "8", "quantity": "50", "held": "0"
        }
        assert error.params_by_field["rows.4.item"] == {"code": "NO-SUCH-ITEM"}
        assert error.errors["rows.4.component_lot"] == trace.UNKNOWN_LOT


def test_a_cycle_and_a_conflicting_reference_in_a_file(tx, world, who):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        resin = released_component_lot(uow, world, actor, quantity="100")
        sub = finished_lot(uow, actor, components=[(resin, "5")], quantity="5", lot_number="SUB-F", reference="WO-TAKEN")
        top = finished_lot(uow, actor, components=[(sub, "2")], quantity="2", lot_number="TOP-F")
        s, t = _part(uow, sub.item_id), _part(uow, top.item_id)
        content = csv_file([
            PRODUCTION,
            f"WO-CYCLE,{s},SUB-F,1,{_when()},,,{t},TOP-F,,,1",
            f"WO-TAKEN,{s},SUB-F,9,{_when()},,,{t},TOP-F,,,1",
        ])
        error = _refused(uow, actor, content)
        assert [(p.row, p.field, p.message) for p in error.rows] == [
            (2, "component_lot", trace.CYCLE),
            (3, "reference", trace.ReferenceTaken.message),
        ]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", tabular.EMPTY),
        (csv_file(["reference,item"]), imports.MISSING_COLUMNS),
        (csv_file([PRODUCTION + ",colour"]), imports.PRODUCTION_UNKNOWN),
        (csv_file([PRODUCTION]), imports.NO_ROWS),
        (b"\xd0\xcf\x11\xe0 old excel", imports.NOT_A_TABLE),
    ],
)
def test_files_that_are_not_production_tables(tx, world, who, content, message):
    with tx.uow(tenant_id=world.tenant_id, actor=who["warehouse"]) as uow:
        error = _refused(uow, who["warehouse"], content)
        assert error.rows[0].message == message and error.rows[0].row in (0, 1)


def test_shipment_file_adds_customers_and_ships(tx, world, who):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        parts = released_component_lot(uow, world, actor, quantity="100")
        serialised = finished_lot(uow, actor, components=[(parts, "2")], quantity="2", serials=["SX-1", "SX-2"])
        bulk = finished_lot(uow, actor, components=[(parts, "10")], quantity="10", lot_number="BLK-F")
        known = customer(uow, actor, code="KNOWN-1")
        a, b = _part(uow, serialised.item_id), _part(uow, bulk.item_id)
        content = csv_file([
            SHIPMENT,
            f"DN-F1,NEW-1,Hospital Neu,einkauf@neu.example,\"Hauptstr. 1, Berlin\",{_when(1)},{a},,SX-1,",
            f"DN-F1,NEW-1,Hospital Neu,einkauf@neu.example,\"Hauptstr. 1, Berlin\",{_when(1)},{b},BLK-F,,4",
            f"DN-F2,KNOWN-1,,,,{_when(1)},{a},{serialised.lot.number},SX-2,1",
        ])
        shipments = imports.shipments_from_file(uow, actor, content=content, filename="dn.csv")
        assert [s.reference for s in shipments] == ["DN-F1", "DN-F2"]
        new = trace.customer_by_code(uow, actor, code="NEW-1")
        assert (new.name, new.email, new.address) == ("Hospital Neu", "einkauf@neu.example", "Hauptstr. 1, Berlin")
        assert shipments[0].customer_id == new.id and shipments[1].customer_id == known.id
        assert shipments[0].ship_to_address == "Hauptstr. 1, Berlin" and shipments[0].source == "csv"
        statuses = {
            (s.serial, s.status): s.quantity
            for s in uow.session.scalars(
                sa.select(Stock).where(Stock.lot_id.in_([serialised.lot.id, bulk.lot.id]), Stock.quantity > 0)
            )
        }
        assert statuses == {
            ("SX-1", "shipped"): D(1), ("SX-2", "shipped"): D(1), (None, "released"): D(6), (None, "shipped"): D(4)
        }


def test_shipment_file_bad_rows(tx, world, who):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        parts = released_component_lot(uow, world, actor, quantity="100")
        bulk = finished_lot(uow, actor, components=[(parts, "3")], quantity="3", lot_number="BLK-G")
        b = _part(uow, bulk.item_id)
        content = csv_file([
            SHIPMENT,
            f"DN-G1,NEW-G,Someone,not-an-email,,{_when(1)},{b},BLK-G,,1",
            f"DN-G2,NOBODY,,,,{_when(1)},{b},BLK-G,,1",
            f"DN-G3,NEW-H,Other,,,{_when(1)},{b},BLK-G,,7",
            f"DN-G3,NEW-H,Other,,,{_when(1)},{b},NO-LOT,,1",
        ])
        error = _refused(uow, actor, content, kind="shipment")
        assert {(p.row, p.field): p.message for p in error.rows} == {
            (2, "email"): trace.EMAIL_ADDRESS,
            (3, "customer"): imports.UNKNOWN_CUSTOMER_CODE,
            (4, "quantity"): trace.LOT_SHORT,
            (5, "lot"): trace.UNKNOWN_LOT,
        }


def test_templates_read_back(tx, world, who):
    for kind, columns in (("production", imports.PRODUCTION_COLUMNS), ("shipment", imports.SHIPMENT_COLUMNS)):
        text = imports.template_csv(kind).decode("utf-8-sig").splitlines()
        assert text[0].split(",") == list(columns)
        book = load_workbook(io.BytesIO(imports.template_xlsx(kind)))
        assert [c.value for c in next(book.active.iter_rows())] == list(columns)


def test_an_xlsx_production_file(tx, world, who):
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        screws = released_component_lot(uow, world, actor, quantity="10", lot_number="SCR-X")
        pump = make_item(uow, category="finished_device")
        book = Workbook()
        book.active.append(list(imports.PRODUCTION_COLUMNS))
        when = utcnow().replace(tzinfo=None, microsecond=0) - timedelta(hours=3)
        book.active.append(
            ["WO-XLSX", _part(uow, pump.id), "FIN-X", 3, when, None, None, _part(uow, screws.item_id), "SCR-X", None, None, 3.0]
        )
        out = io.BytesIO()
        book.save(out)
        [run] = imports.production_from_file(uow, actor, content=out.getvalue(), filename="wo.xlsx")
        assert (run.reference, run.quantity) == ("WO-XLSX", D(3))


def test_imports_need_production_record(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        with pytest.raises(Forbidden):
            imports.production_from_file(uow, who["quality"], content=csv_file([PRODUCTION]), filename="x.csv")
        with pytest.raises(Forbidden):
            imports.shipments_from_file(uow, who["viewer"], content=csv_file([SHIPMENT]), filename="x.csv")
    assert unique("x")
