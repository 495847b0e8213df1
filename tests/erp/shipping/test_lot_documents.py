"""Certificates attached to a lot of a ship notice: the supplier attaches, the buyer
reads, another supplier neither; bad files and kinds are refused with nothing kept."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from documents.errors import FileNotFound
from documents.models import Attachment, StoredFile
from documents.vault import open_file
from erp.shipping import lot_documents
from kernel.errors import Forbidden, ValidationFailed
from tests.documents.certificate_support import pdf_bytes
from tests.erp.shipping.asn_support import acknowledged_order, asn_data, save


def shipped_lot(tx, world):
    shipment = acknowledged_order(tx, world)
    saved = save(tx, world, shipment.who["supplier1"], asn_data(shipment))
    with tx.uow(tenant_id=world.tenant_id) as uow:
        lot_id = uow.scalar(sa.text("select lot_id from asn_line where asn_id = :a and lot = 'L-2026-01'"), {"a": saved.asn.id})
    return shipment, saved.asn.id, lot_id


def attach(tx, world, actor, asn_id, lot_id, vault, *, kind="certificate_of_conformance", content=None, name="coc.pdf"):
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        made = lot_documents.attach(
            uow, actor, vault=vault, asn_id=asn_id, lot_id=lot_id, kind=kind,
            stream=io.BytesIO(content if content is not None else pdf_bytes("CoC")), filename=name,
        )
        uow.commit()
        return made.id


def read(tx, world, actor, asn_id, lot_id, attachment_id, vault) -> bytes:
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        file_id = lot_documents.document_file(uow, actor, asn_id=asn_id, lot_id=lot_id, attachment_id=attachment_id)
        with open_file(uow, actor, vault=vault, file_id=file_id) as opened:
            return opened.read()


def nothing_kept(tx, world) -> bool:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return [uow.scalar(sa.select(sa.func.count()).select_from(t)) for t in (Attachment, StoredFile)] == [0, 0]


def test_the_supplier_attaches_a_coc_and_the_buyer_reads_it(tx, world, vault):
    shipment, asn_id, lot_id = shipped_lot(tx, world)
    content = pdf_bytes("CoC L-2026-01")
    attachment_id = attach(tx, world, shipment.who["supplier1"], asn_id, lot_id, vault, content=content)
    assert read(tx, world, shipment.who["buyer"], asn_id, lot_id, attachment_id, vault) == content
    with tx.uow(tenant_id=world.tenant_id) as uow:
        [(attachment, stored)] = lot_documents.documents_of(uow, lot_ids=[lot_id])[lot_id]
        assert (attachment.kind, attachment.supplier_id, stored.filename) == (
            "certificate_of_conformance", world.suppliers[0].id, "coc.pdf"
        )
    with pytest.raises(Exception) as hidden:
        read(tx, world, shipment.who["supplier2"], asn_id, lot_id, attachment_id, vault)
    assert hidden.value.status == 404


def test_another_supplier_cannot_attach_to_the_lot(tx, world, vault):
    shipment, asn_id, lot_id = shipped_lot(tx, world)
    with pytest.raises(lot_documents.LotNotFound):
        attach(tx, world, shipment.who["supplier2"], asn_id, lot_id, vault)
    with pytest.raises(Forbidden):
        attach(tx, world, shipment.who["buyer"], asn_id, lot_id, vault)
    assert nothing_kept(tx, world)


def test_a_lot_not_on_the_asn_and_a_document_of_another_lot_are_not_found(tx, world, vault):
    shipment, asn_id, lot_id = shipped_lot(tx, world)
    supplier = shipment.who["supplier1"]
    attachment_id = attach(tx, world, supplier, asn_id, lot_id, vault)
    with tx.uow(tenant_id=world.tenant_id) as uow:
        other_lot = uow.scalar(sa.text("select lot_id from asn_line where asn_id = :a and lot = 'T-77'"), {"a": asn_id})
    with pytest.raises(FileNotFound):
        read(tx, world, supplier, asn_id, other_lot, attachment_id, vault)
    with pytest.raises(lot_documents.LotNotFound):
        attach(tx, world, supplier, world.tenant_id, lot_id, vault)


@pytest.mark.parametrize(
    ("kind", "content", "field"),
    [
        ("drawing", None, "kind"),
        ("certificate_of_analysis", b"MZ" + b"\0" * 100, "file"),
        ("certificate_of_analysis", b"", "file"),
    ],
)
def test_a_wrong_kind_or_file_is_refused_and_nothing_is_kept(tx, world, vault, kind, content, field):
    shipment, asn_id, lot_id = shipped_lot(tx, world)
    with pytest.raises(ValidationFailed) as refused:
        attach(tx, world, shipment.who["supplier1"], asn_id, lot_id, vault, kind=kind, content=content)
    assert field in refused.value.errors
    assert nothing_kept(tx, world)
