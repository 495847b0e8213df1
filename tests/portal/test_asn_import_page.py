"""The supplier's upload page for a ship notice from a file: templates to fill, a good
file becomes a draft, a bad one lists its rows with nothing saved, the buyer side may not."""

from __future__ import annotations

import io

from tests.erp.shipping.asn_support import acknowledged_order, sscc
from tests.erp.shipping.test_asn_imports import HEADER, counts, csv_file, good_rows, header, po_number
from tests.portal.support import signed_in, text_of, token_in

PAGE = "/supplier/asns/import"


def upload(client, shipment, content: bytes):
    token = token_in(client.get(PAGE).data)
    data = header(shipment) | {"csrf_token": token, "file": (io.BytesIO(content), "asn.csv")}
    return client.post(PAGE, data=data, content_type="multipart/form-data")


def test_a_good_file_becomes_a_draft_and_a_bad_one_lists_its_rows(app, tx, world):
    shipment = acknowledged_order(tx, world)
    supplier = signed_in(app, world.users["supplier1"])
    page = supplier.get(PAGE)
    assert page.status_code == 200 and "Import a ship notice from a file" in text_of(page)
    template = supplier.get("/supplier/asns/template.csv")
    assert template.status_code == 200 and template.data.decode("utf-8-sig").startswith("po_number")
    assert supplier.get("/supplier/asns/template.xlsx").status_code == 200
    assert supplier.get("/supplier/asns/template.pdf").status_code == 404
    number = po_number(tx, world, shipment)
    rows = good_rows(number, sscc(), sscc(), sscc())
    bad = [HEADER, *rows[1:3], rows[3].replace(rows[3].split(",")[2], "123"), *rows[4:]]
    before = counts(tx, world)
    refused = upload(supplier, shipment, csv_file(bad))
    assert refused.status_code == 422
    assert "Nothing was imported" in text_of(refused) and "<td>4</td>" in text_of(refused)
    assert counts(tx, world) == before
    done = upload(supplier, shipment, csv_file(rows))
    assert done.status_code == 303 and "/asns/" in done.headers["Location"]


def test_the_buyer_side_may_not(app, tx, world):
    buyer = signed_in(app, world.users["buyer"])
    assert buyer.get(PAGE).status_code == 403
