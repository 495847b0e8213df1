"""Cold-chain screens through the web client: register a logger, bind it to a lot, upload
its CSV export with an excursion, see the alert (open first) with its chart and
acknowledge it; storage conditions; a lot's history; who may see and do what."""

from __future__ import annotations

import re

import sqlalchemy as sa

from auth.models import User
from erp.coldchain.models import ColdChainAlert, DataLogger
from erp.inventory.models import Stock
from tests.erp.coldchain.support import cold_lot, rows, who
from tests.portal.support import signed_in, text_of, token_in

LOGGER_PAGE = re.compile(r"/cold-chain/loggers/([0-9a-f-]{36})$")
EXPORT = (
    b"timestamp,temperature,humidity\r\n"
    b"2026-11-02T08:00:00Z,5,40\r\n"
    b"2026-11-02T08:10:00Z,9.5,40\r\n"
    b"2026-11-02T08:20:00Z,10.5,41\r\n"
    b"2026-11-02T08:30:00Z,5,41\r\n"
)


def post(client, page: str, path: str, data: dict, **kw):
    token = token_in(client.get(page).data)
    return client.post(path, data=data | {"csrf_token": token}, **kw)


def test_the_warehouse_binds_a_logger_uploads_its_export_and_quality_acknowledges(app, tx, world):
    people = who(tx, world)
    received, _ = cold_lot(tx, world, people, minutes=10)
    operator = signed_in(app, world.users["warehouse"])
    assert "No data loggers yet" in text_of(operator.get("/cold-chain/loggers"))
    bad = post(operator, "/cold-chain/loggers", "/cold-chain/loggers", {"code": ""})
    assert bad.status_code == 422 and "This field is required." in text_of(bad)
    made = post(operator, "/cold-chain/loggers", "/cold-chain/loggers", {"code": "FRIDGE-7", "name": "Fridge 7"})
    assert made.status_code == 303
    page = LOGGER_PAGE.search(made.headers["Location"]).group(0)

    wrong = post(operator, page, f"{page}/bindings", {"kind": "lot", "target": "NO-SUCH-LOT", "starts_at": "2026-11-02 08:00"})
    assert wrong.status_code == 422
    assert "Choose the ship notice, package, location or lot" in text_of(wrong) and "with its time zone" in text_of(wrong)
    bound = post(operator, page, f"{page}/bindings",
                 {"kind": "lot", "target": received.lot.number, "starts_at": "2026-11-02T07:00:00Z"})
    assert bound.status_code == 303
    assert received.lot.number in text_of(operator.get(page))

    none = post(operator, page, f"{page}/upload", {})
    assert none.status_code == 422 and "Choose the CSV file" in text_of(none)
    broken = post(operator, page, f"{page}/upload", {"file": (__import__("io").BytesIO(b"when,temp\r\n1,2\r\n"), "x.csv")},
                  content_type="multipart/form-data")
    assert broken.status_code == 422 and "Row 1" in text_of(broken)
    uploaded = post(operator, page, f"{page}/upload", {"file": (__import__("io").BytesIO(EXPORT), "fridge.csv")},
                    content_type="multipart/form-data")
    assert uploaded.status_code == 303
    assert "4 readings stored; 1 alerts raised." in text_of(operator.get(page))
    again = post(operator, page, f"{page}/upload", {"file": (__import__("io").BytesIO(EXPORT), "fridge.csv")},
                 content_type="multipart/form-data")
    assert again.status_code == 303 and "uploaded before" in text_of(operator.get(page))
    assert {s.status for s in rows(tx, world, Stock, Stock.lot_id == received.lot.id)} == {"on_hold"}

    quality = signed_in(app, world.users["quality"])
    listing = text_of(quality.get("/cold-chain/"))
    assert "Temperature above the limit" in listing and "FRIDGE-7" in listing
    [alert] = rows(tx, world, ColdChainAlert)
    detail = text_of(quality.get(f"/cold-chain/alerts/{alert.id}"))
    assert f'src="/cold-chain/bindings/{alert.binding_id}/chart.svg"' in detail and "<svg" not in detail
    assert "NC-" in detail and received.lot.number in detail
    chart = quality.get(f"/cold-chain/bindings/{alert.binding_id}/chart.svg")
    assert chart.status_code == 200 and chart.mimetype == "image/svg+xml"
    assert "<title" in text_of(chart) and "FRIDGE-7" in text_of(chart) and "mean kinetic temperature" in text_of(chart)

    empty = post(quality, f"/cold-chain/alerts/{alert.id}", f"/cold-chain/alerts/{alert.id}/acknowledge", {"note": ""})
    assert empty.status_code == 422 and "This field is required." in text_of(empty)
    done = post(quality, f"/cold-chain/alerts/{alert.id}", f"/cold-chain/alerts/{alert.id}/acknowledge",
                {"note": "Door left open; lot kept on hold."})
    assert done.status_code == 303
    assert "Acknowledged" in text_of(quality.get(f"/cold-chain/alerts/{alert.id}"))

    history = text_of(quality.get(f"/cold-chain/lots/{received.lot.id}"))
    assert f'src="/cold-chain/lots/{received.lot.id}/chart.svg"' in history and "Mean kinetic temperature" in history
    lot_chart = quality.get(f"/cold-chain/lots/{received.lot.id}/chart.svg")
    assert lot_chart.status_code == 200 and received.lot.number in text_of(lot_chart)


def test_storage_conditions_are_set_from_the_form(app, tx, world):
    quality = signed_in(app, world.users["quality"])
    assert "No storage conditions yet" in text_of(quality.get("/cold-chain/storage-conditions"))
    item_id = str(world.items[0].id)
    bad = post(quality, "/cold-chain/storage-conditions", "/cold-chain/storage-conditions",
               {"item_id": item_id, "min_temperature": "8", "max_temperature": "2", "activation_energy": "0"})
    assert bad.status_code == 422
    assert "The upper limit must be above the lower limit." in text_of(bad) and "activation energy above 0" in text_of(bad)
    good = post(quality, "/cold-chain/storage-conditions", "/cold-chain/storage-conditions",
                {"item_id": item_id, "min_temperature": "2", "max_temperature": "8", "excursion_minutes": "30"})
    assert good.status_code == 303
    assert world.items[0].part_number in text_of(quality.get("/cold-chain/storage-conditions"))


def test_empty_pages_in_chinese_and_who_may_see_them(app, tx, world, other_world):
    with tx.uow() as uow:
        uow.execute(sa.update(User).where(User.id == world.users["quality"].id).values(locale="zh_Hans_CN"))
        uow.commit()
    quality = signed_in(app, world.users["quality"])
    for path in ("/cold-chain/", "/cold-chain/loggers", "/cold-chain/storage-conditions"):
        response = quality.get(path)
        assert response.status_code == 200 and 'lang="zh' in text_of(response)
    for role in ("viewer", "supplier1"):
        client = signed_in(app, world.users[role])
        assert client.get("/cold-chain/").status_code == 403
    viewer = signed_in(app, world.users["buyer"])
    assert post(signed_in(app, world.users["warehouse"]), "/cold-chain/loggers", "/cold-chain/loggers",
                {"code": "L-9"}).status_code == 303
    [box] = rows(tx, world, DataLogger)
    assert viewer.get(f"/cold-chain/loggers/{box.id}").status_code == 403
    stranger = signed_in(app, other_world.users["quality"])
    assert stranger.get(f"/cold-chain/loggers/{box.id}").status_code == 404
