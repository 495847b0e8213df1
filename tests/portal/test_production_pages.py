"""Production, shipment and customer pages: lists with empty states and pages, the
scanner-friendly record forms (GS1 codes one per line), their refusals beside the fields
with nothing written, CSV uploads and templates, who may see and write, other tenants."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from erp.inventory.models import Stock
from erp.items.models import Item
from erp.traceability import imports
from erp.traceability.models import CustomerShipment, ProductionRun
from kernel.clock import utcnow
from tests.erp.traceability.support import customer, finished_lot, people, released_component_lot
from tests.factories import gtin, make_item
from tests.portal.support import signed_in, text_of, token_in


@pytest.fixture
def stock(tx, world):
    """Released component lots (one by GTIN, one serialised) and a finished item with a
    GTIN; committed."""
    who = people(tx, world)
    actor = who["warehouse"]
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        screw = make_item(uow, part_number="PG-SCREW", udi_di=gtin(), issuing_agency="GS1")
        screws = released_component_lot(uow, world, actor, item_id=screw.id, quantity="100", lot_number="PG-SCR")
        boards = released_component_lot(uow, world, actor, serials=("PG-B1", "PG-B2"), lot_number="PG-BRD")
        board = uow.scalar(sa.select(Item).where(Item.id == boards.item_id))
        pump = make_item(uow, part_number="PG-PUMP", category="finished_device", udi_di=gtin(), issuing_agency="GS1")
        uow.commit()
    return {"who": who, "screw": screw, "screws": screws, "board": board, "boards": boards, "pump": pump}


def _counts(tx, world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return [uow.scalar(sa.select(sa.func.count()).select_from(t)) for t in (ProductionRun, CustomerShipment)]


def _now() -> str:
    return utcnow().strftime("%Y-%m-%dT%H:%M")


def test_empty_lists_and_the_forms(app, world):
    warehouse = signed_in(app, world.users["warehouse"])
    for path, empty in (
        ("/traceability/production", "No production recorded yet."),
        ("/traceability/shipments", "No shipments to customers recorded yet."),
        ("/traceability/customers", "No customers yet."),
    ):
        page = warehouse.get(path)
        assert page.status_code == 200 and empty in text_of(page), path
    for path in ("/traceability/production/new", "/traceability/shipments/new", "/traceability/customers/new",
                 "/traceability/production/import", "/traceability/shipments/import"):
        assert warehouse.get(path).status_code == 200, path


def test_record_production_by_scanning_then_ship_it(app, tx, world, stock):
    warehouse = signed_in(app, world.users["warehouse"])
    form = warehouse.get("/traceability/production/new")
    token = token_in(form.data)
    screw_scan = f"(01){stock['screw'].udi_di}(10)PG-SCR;8"
    board_part = stock["board"].part_number
    pump_label = f"(01){stock['pump'].udi_di}(10)PG-FIN-1"
    done = warehouse.post("/traceability/production/new", data={
        "csrf_token": token, "reference": "WO-PG-1", "item": pump_label, "lot": "", "quantity": "2",
        "produced_at": _now(), "serials": "PU-1\nPU-2",
        "components": f"{screw_scan}\n{board_part};PG-BRD;1;PG-B1\n{board_part};;1;PG-B2\n",
    })
    assert done.status_code == 303, text_of(done)
    detail = warehouse.get(done.headers["Location"])
    html = text_of(detail)
    assert "Production WO-PG-1" in html and "PG-FIN-1" in html and "PU-1, PU-2" in html and "PG-B2" in html
    listing = text_of(warehouse.get("/traceability/production?q=WO-PG"))
    assert "WO-PG-1" in listing and "PG-FIN-1" in listing

    customer_page = warehouse.get("/traceability/customers/new")
    saved = warehouse.post("/traceability/customers/new", data={
        "csrf_token": token_in(customer_page.data), "code": "PG-HOSP", "name": "Page Hospital", "email": "pg@hospital.example",
        "address": "1 Ward Road", "country": "cn", "locale": "zh_Hans_CN",
    })
    assert saved.status_code == 303
    assert "Page Hospital" in text_of(warehouse.get(saved.headers["Location"]))
    shipment_page = warehouse.get("/traceability/shipments/new?customer=PG-HOSP")
    assert 'value="PG-HOSP"' in text_of(shipment_page)
    shipped = warehouse.post("/traceability/shipments/new", data={
        "csrf_token": token_in(shipment_page.data), "reference": "DN-PG-1", "customer": "PG-HOSP", "shipped_at": _now(),
        "address": "", "lines": f"(01){stock['pump'].udi_di}(10)PG-FIN-1(21)PU-1",
    })
    assert shipped.status_code == 303, text_of(shipped)
    html = text_of(warehouse.get(shipped.headers["Location"]))
    assert "Shipment DN-PG-1" in html and "PU-1" in html and "1 Ward Road" in html
    assert "DN-PG-1" in text_of(warehouse.get("/traceability/shipments"))
    with tx.uow(tenant_id=world.tenant_id) as uow:
        row = uow.scalar(sa.select(Stock).where(Stock.serial == "PU-1"))
        assert row.status == "shipped"
    # Quality (recall.run) reads, but does not write.
    quality = signed_in(app, world.users["quality"])
    assert quality.get(done.headers["Location"]).status_code == 200
    assert quality.get("/traceability/shipments").status_code == 200
    assert quality.get("/traceability/production/new").status_code == 403


def test_refusals_are_shown_beside_the_fields_and_nothing_is_written(app, tx, world, stock):
    warehouse = signed_in(app, world.users["warehouse"])
    token = token_in(warehouse.get("/traceability/production/new").data)
    before = _counts(tx, world)
    refused = warehouse.post("/traceability/production/new", data={
        "csrf_token": token, "reference": "WO-PG-BAD", "item": "PG-PUMP", "lot": "PG-FIN-9", "quantity": "1",
        "produced_at": "2999-01-01T00:00", "serials": "",
        "components": f"PG-SCREW;PG-SCR;500\n{stock['board'].part_number};PG-BRD;1;NOPE\nnot a code\n",
    })
    html = text_of(refused)
    assert refused.status_code == 422
    assert "Line 3: Scan a GS1 code, or write part number;lot;quantity;serial." in html
    refused = warehouse.post("/traceability/production/new", data={
        "csrf_token": token, "reference": "WO-PG-BAD", "item": "PG-PUMP", "lot": "PG-FIN-9", "quantity": "1",
        "produced_at": "2999-01-01T00:00", "serials": "",
        "components": f"PG-SCREW;PG-SCR;500\n{stock['board'].part_number};PG-BRD;1;NOPE\n",
    })
    html = text_of(refused)
    assert refused.status_code == 422
    assert "This time is in the future." in html
    assert "Line 1: Lot PG-SCR has 100 released on hand; this record needs 500." in html
    assert "Line 2: There is no unit with serial NOPE of this item." in html
    assert 'value="WO-PG-BAD"' in html  # what was typed stays
    assert _counts(tx, world) == before


def test_a_hold_blocks_a_shipment_on_the_page(app, tx, world, stock):
    from erp.inventory import service as inventory

    who = stock["who"]
    with tx.uow(tenant_id=world.tenant_id, actor=who["warehouse"]) as uow:
        made = finished_lot(uow, who["warehouse"], components=[(stock["screws"], "5")], quantity="5", lot_number="PG-HELD")
        for row in uow.session.scalars(sa.select(Stock).where(Stock.lot_id == made.lot.id)).all():
            inventory.change_status(uow, who["quality"], stock=row, status="on_hold", kind="hold")
        customer(uow, who["warehouse"], code="PG-C2")
        part = uow.scalar(sa.select(Item.part_number).where(Item.id == made.item_id))
        uow.commit()
    warehouse = signed_in(app, world.users["warehouse"])
    token = token_in(warehouse.get("/traceability/shipments/new").data)
    refused = warehouse.post("/traceability/shipments/new", data={
        "csrf_token": token, "reference": "DN-PG-H", "customer": "PG-C2", "shipped_at": _now(), "lines": f"{part};PG-HELD;1",
    })
    assert refused.status_code == 422
    assert "5 more are on hold or not released" in text_of(refused)
    unknown = warehouse.post("/traceability/shipments/new", data={
        "csrf_token": token, "reference": "DN-PG-U", "customer": "NOBODY", "shipped_at": _now(), "lines": f"{part};PG-HELD;1",
    })
    assert unknown.status_code == 422 and "There is no such customer." in text_of(unknown)


def test_csv_uploads_and_templates(app, tx, world, stock):
    warehouse = signed_in(app, world.users["warehouse"])
    template = warehouse.get("/traceability/production/template.csv")
    assert template.status_code == 200 and b"component_item" in template.data
    assert warehouse.get("/traceability/shipments/template.xlsx").status_code == 200
    assert warehouse.get("/traceability/shipments/template.pdf").status_code == 404
    page = warehouse.get("/traceability/production/import")
    token = token_in(page.data)
    header = ",".join(imports.PRODUCTION_COLUMNS)
    good = f"{header}\r\nWO-PG-CSV,PG-PUMP,PG-FIN-C,1,{_now()},,,PG-SCREW,PG-SCR,,,4\r\n".encode()
    done = warehouse.post("/traceability/production/import", data={"csrf_token": token, "file": (io.BytesIO(good), "wo.csv")},
                          content_type="multipart/form-data")
    assert done.status_code == 303
    assert "WO-PG-CSV" in text_of(warehouse.get("/traceability/production"))
    bad = f"{header}\r\nWO-PG-CSV2,PG-NOPE,PG-FIN-D,1,{_now()},,,PG-SCREW,PG-SCR,,,4\r\n".encode()
    refused = warehouse.post("/traceability/production/import", data={"csrf_token": token, "file": (io.BytesIO(bad), "wo.csv")},
                             content_type="multipart/form-data")
    assert refused.status_code == 422 and "No item has the part number or UDI-DI PG-NOPE." in text_of(refused)
    none = warehouse.post("/traceability/shipments/import", data={"csrf_token": token}, content_type="multipart/form-data")
    assert none.status_code == 422 and "Choose a CSV or XLSX file to import." in text_of(none)


def test_paging_and_who_may_see(app, tx, world, other_world, stock):
    who = stock["who"]
    with tx.uow(tenant_id=world.tenant_id, actor=who["warehouse"]) as uow:
        runs = [finished_lot(uow, who["warehouse"], components=[(stock["screws"], "1")], quantity="1") for _ in range(3)]
        run_id = runs[0].run.id
        uow.commit()
    warehouse = signed_in(app, world.users["warehouse"])
    from portal.traceability import production

    first = text_of(warehouse.get("/traceability/production"))
    assert all(r.run.reference in first for r in runs)
    assert production.PAGE_SIZE == 50
    bad_cursor = warehouse.get("/traceability/production?cursor=nonsense")
    assert bad_cursor.status_code == 200 and "This page link is not valid." in text_of(bad_cursor)
    viewer = signed_in(app, world.users["viewer"])
    assert viewer.get("/traceability/production").status_code == 403
    supplier = signed_in(app, world.users["supplier1"])
    assert supplier.get("/traceability/shipments").status_code == 403
    other = signed_in(app, other_world.users["warehouse"])
    assert other.get(f"/traceability/production/{run_id}").status_code == 404


def test_the_pages_in_chinese(app, world):
    warehouse = signed_in(app, world.users["warehouse"])
    token = token_in(text_of(warehouse.get("/traceability/production")))
    warehouse.post("/language", data={"csrf_token": token, "locale": "zh_Hans_CN"})
    page = warehouse.get("/traceability/production/new")
    assert page.status_code == 200 and 'lang="zh-Hans-CN"' in text_of(page)
