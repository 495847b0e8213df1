"""Files on PO messages through the web client: the buyer attaches a drawing, the
supplier downloads it from the thread (an audited download), another supplier cannot,
and a refused file is named on the form with nothing kept."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from auth.models import SecurityEvent
from documents.crypto import MasterKeys
from documents.models import Attachment
from documents.storage import LocalStorage
from documents.vault import Vault
from erp.purchasing.models import PoMessage
from portal.app import create_app
from tests.documents.certificate_support import pdf_bytes
from tests.erp.po_support import actors, issued_order
from tests.portal.support import login, text_of, token_in

LIMIT_MB = 1


@pytest.fixture
def app(tx, settings, tmp_path):
    app = create_app(settings, runtime=tx)
    app.extensions["traceport_vault"] = Vault(
        storage=LocalStorage(tmp_path / "files"), master_keys=MasterKeys.from_settings(settings),
        max_upload_bytes=LIMIT_MB * 1024 * 1024,
    )
    return app


def send(client, path, files, body="Drawing attached."):
    token = token_in(client.get(path).data)
    data = {"csrf_token": token, "body": body, "files": [(io.BytesIO(content), name) for name, content in files]}
    return client.post(f"{path}/messages", data=data, content_type="multipart/form-data")


def links(html: bytes) -> list[str]:
    return re.findall(r'href="(/purchase-orders/[0-9a-f-]+/attachments/[0-9a-f-]+)"', html.decode())


def counts(tx, world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return [uow.scalar(sa.select(sa.func.count()).select_from(t)) for t in (PoMessage, Attachment)]


def test_the_buyer_attaches_a_drawing_and_the_supplier_downloads_it(app, tx, world):
    po_id = issued_order(tx, world, actors(tx, world))
    path = f"/purchase-orders/{po_id}"
    buyer = app.test_client()
    login(buyer, world.users["buyer"])
    drawing = pdf_bytes("Drawing 42")
    assert send(buyer, path, [("图纸 42.pdf", drawing)]).status_code == 303
    supplier = app.test_client()
    login(supplier, world.users["supplier1"])
    page = supplier.get(path)
    assert "图纸 42.pdf" in text_of(page)
    [link] = links(page.data)
    got = supplier.get(link)
    assert got.status_code == 200 and got.data == drawing
    assert got.headers["Content-Disposition"].startswith("attachment;")
    with tx.uow(tenant_id=world.tenant_id) as uow:
        kinds = uow.session.scalars(sa.select(SecurityEvent.kind).where(SecurityEvent.kind == "document_downloaded"))
        assert list(kinds) == ["document_downloaded"]
    other = app.test_client()
    login(other, world.users["supplier2"])
    assert other.get(link).status_code == 404


def test_a_refused_file_is_named_on_the_form_and_nothing_is_kept(app, tx, world):
    po_id = issued_order(tx, world, actors(tx, world))
    path = f"/purchase-orders/{po_id}"
    buyer = app.test_client()
    login(buyer, world.users["buyer"])
    refused = send(buyer, path, [("ok.pdf", pdf_bytes()), ("setup.exe", b"MZ" + b"\0" * 500)], body="Keep my text")
    assert refused.status_code == 422
    shown = text_of(refused)
    assert "setup.exe: This file is a program" in shown and "Keep my text" in shown
    assert counts(tx, world) == [0, 0]


def test_a_file_over_the_limit_is_refused_in_the_users_language(app, tx, world):
    po_id = issued_order(tx, world, actors(tx, world))
    path = f"/purchase-orders/{po_id}"
    buyer = app.test_client()
    login(buyer, world.users["buyer"])
    big = pdf_bytes() + b"%" * (LIMIT_MB * 1024 * 1024)
    refused = send(buyer, path, [("big.pdf", big)])
    assert refused.status_code == 422
    assert f"big.pdf: The file is larger than {LIMIT_MB} MB." in text_of(refused)
    assert counts(tx, world) == [0, 0]


def test_a_body_far_over_every_limit_is_stopped_before_it_is_read(app, tx, world):
    po_id = issued_order(tx, world, actors(tx, world))
    path = f"/purchase-orders/{po_id}"
    buyer = app.test_client()
    login(buyer, world.users["buyer"])
    huge = b"%" * (LIMIT_MB * 1024 * 1024 * 6)
    refused = send(buyer, path, [("huge.pdf", huge)])
    assert refused.status_code == 413
    assert f"The file is larger than {LIMIT_MB} MB." in text_of(refused)
    assert counts(tx, world) == [0, 0]


def test_the_api_lists_a_messages_files_and_downloads_them(app, tx, world):
    po_id = issued_order(tx, world, actors(tx, world))
    path = f"/purchase-orders/{po_id}"
    buyer = app.test_client()
    login(buyer, world.users["buyer"])
    drawing = pdf_bytes("Drawing 7")
    send(buyer, path, [("drawing-7.pdf", drawing)])
    supplier = app.test_client()
    login(supplier, world.users["supplier1"])
    [message] = supplier.get(f"/api/v1/purchase-orders/{po_id}/messages").json["items"]
    [file] = message["files"]
    assert (file["filename"], file["content_type"], file["size"]) == ("drawing-7.pdf", "application/pdf", len(drawing))
    got = supplier.get(f"/api/v1/purchase-orders/{po_id}/attachments/{file['id']}")
    assert got.status_code == 200 and got.data == drawing
    other = app.test_client()
    login(other, world.users["supplier2"])
    assert other.get(f"/api/v1/purchase-orders/{po_id}/attachments/{file['id']}").status_code == 404
