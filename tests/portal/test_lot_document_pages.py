"""Lot certificates on the ship notice's page: the supplier attaches a CoC to a lot, the
buyer downloads it, another supplier cannot; a refused file is shown beside the lot's
form with nothing kept."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from documents.crypto import MasterKeys
from documents.models import Attachment
from documents.storage import LocalStorage
from documents.vault import Vault
from portal.app import create_app
from tests.documents.certificate_support import pdf_bytes
from tests.erp.shipping.asn_support import acknowledged_order, asn_data, save
from tests.portal.support import signed_in, text_of, token_in


@pytest.fixture
def app(tx, settings, tmp_path):
    app = create_app(settings, runtime=tx)
    app.extensions["traceport_vault"] = Vault(
        storage=LocalStorage(tmp_path / "files"), master_keys=MasterKeys.from_settings(settings), max_upload_bytes=1024 * 1024
    )
    return app


def shipped(tx, world):
    shipment = acknowledged_order(tx, world)
    asn_id = save(tx, world, shipment.who["supplier1"], asn_data(shipment)).asn.id
    with tx.uow(tenant_id=world.tenant_id) as uow:
        lot_id = uow.scalar(sa.text("select lot_id from asn_line where asn_id = :a and lot = 'L-2026-01'"), {"a": asn_id})
    return asn_id, lot_id


def attach(client, asn_id, lot_id, content: bytes, name: str = "coc.pdf"):
    token = token_in(client.get(f"/asns/{asn_id}").data)
    data = {"csrf_token": token, "kind": "certificate_of_conformance", "file": (io.BytesIO(content), name)}
    return client.post(f"/asns/{asn_id}/lots/{lot_id}/documents", data=data, content_type="multipart/form-data")


def test_the_supplier_attaches_a_coc_and_the_buyer_downloads_it(app, tx, world):
    asn_id, lot_id = shipped(tx, world)
    supplier = signed_in(app, world.users["supplier1"])
    content = pdf_bytes("CoC")
    assert attach(supplier, asn_id, lot_id, content).status_code == 303
    page = text_of(supplier.get(f"/asns/{asn_id}"))
    assert "Certificate of conformance: " in page and "coc.pdf" in page
    [link] = re.findall(rf'href="(/asns/{asn_id}/lots/{lot_id}/documents/[0-9a-f-]+)"', page)
    with tx.uow(tenant_id=world.tenant_id) as uow:
        uow.execute(sa.text("update asn set status = 'submitted' where id = :a"), {"a": asn_id})
        uow.commit()
    buyer = signed_in(app, world.users["buyer"])
    got = buyer.get(link)
    assert got.status_code == 200 and got.data == content
    other = signed_in(app, world.users["supplier2"])
    assert other.get(link).status_code == 404


def test_a_refused_file_is_shown_beside_the_lots_form_and_nothing_is_kept(app, tx, world):
    asn_id, lot_id = shipped(tx, world)
    supplier = signed_in(app, world.users["supplier1"])
    refused = attach(supplier, asn_id, lot_id, b"MZ" + b"\0" * 300, "tool.exe")
    assert refused.status_code == 422
    assert "This file is a program" in text_of(refused)
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert uow.scalar(sa.select(sa.func.count()).select_from(Attachment)) == 0


def test_the_buyer_side_may_not_attach(app, tx, world):
    asn_id, lot_id = shipped(tx, world)
    buyer = signed_in(app, world.users["buyer"])
    token = token_in(buyer.get("/asns").data)
    assert buyer.post(f"/asns/{asn_id}/lots/{lot_id}/documents", data={"csrf_token": token}).status_code == 403
