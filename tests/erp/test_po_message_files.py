"""Files on a PO message: stored encrypted for the order's supplier, read by both sides
and by no other supplier or tenant; a refused file keeps nothing of the message."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from audit.models import Event
from documents.errors import FileNotFound
from documents.models import Attachment, StoredFile
from documents.vault import open_file
from erp.purchasing import messages
from erp.purchasing.models import PoMessage
from kernel.errors import ValidationFailed
from tests.documents.certificate_support import pdf_bytes
from tests.erp.po_support import actors, issued_order


def post(tx, world, actor, po_id, vault, files, body="See the drawing."):
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        message = messages.post_message(
            uow, actor, po_id=po_id, body=body, author_name="Someone", vault=vault,
            files=[(io.BytesIO(data), name) for name, data in files],
        )
        uow.commit()
        return message.id


def files_seen(tx, world, actor, po_id, vault):
    """(filename, plaintext) of every file in the thread as `actor` reads it."""
    seen = []
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        for entry in messages.thread(uow, actor, po_id=po_id):
            for attachment_id, _stored in entry.files:
                file_id = messages.attachment_file(uow, actor, po_id=po_id, attachment_id=attachment_id)
                with open_file(uow, actor, vault=vault, file_id=file_id) as opened:
                    seen.append((opened.filename, opened.read()))
    return seen


def test_a_buyers_file_is_read_by_the_supplier_and_no_one_else(tx, world, other_world, vault):
    who = actors(tx, world)
    po_id = issued_order(tx, world, who)
    drawing = pdf_bytes("Drawing 42 rev C")
    message_id = post(tx, world, who["buyer"], po_id, vault, [("drawing 42.pdf", drawing)])
    expected = [("drawing 42.pdf", drawing)]
    assert files_seen(tx, world, who["buyer"], po_id, vault) == expected
    assert files_seen(tx, world, who["supplier1"], po_id, vault) == expected
    assert files_seen(tx, world, who["supplier2"], po_id, vault) == []
    other_buyer = actors(tx, other_world)["buyer"]
    assert files_seen(tx, other_world, other_buyer, po_id, vault) == []
    with tx.uow(tenant_id=world.tenant_id) as uow:
        attachment = uow.scalar(sa.select(Attachment).where(Attachment.owner_id == message_id))
        stored = uow.scalar(sa.select(StoredFile).where(StoredFile.id == attachment.file_id))
        assert attachment.owner_kind == "po_message"
        assert attachment.supplier_id == stored.supplier_id == world.suppliers[0].id
        tables = set(uow.session.scalars(sa.select(Event.table_name).where(Event.row_id == str(attachment.id))))
        assert tables == {"attachment"}


def test_another_supplier_cannot_fetch_an_attachment_by_its_id(tx, world, vault):
    who = actors(tx, world)
    po_id = issued_order(tx, world, who)
    post(tx, world, who["supplier1"], po_id, vault, [("coc.pdf", pdf_bytes("CoC"))])
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        [entry] = messages.thread(uow, who["buyer"], po_id=po_id)
        [(attachment_id, _stored)] = entry.files
    supplier2 = who["supplier2"]
    with tx.uow(tenant_id=world.tenant_id, actor=supplier2) as uow, pytest.raises(Exception) as refused:
        messages.attachment_file(uow, supplier2, po_id=po_id, attachment_id=attachment_id)
    assert refused.value.status == 404


def test_an_attachment_is_found_only_under_its_own_order(tx, world, vault):
    who = actors(tx, world)
    first = issued_order(tx, world, who)
    second = issued_order(tx, world, who)
    post(tx, world, who["buyer"], first, vault, [("a.pdf", pdf_bytes())])
    buyer = who["buyer"]
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        [entry] = messages.thread(uow, buyer, po_id=first)
        [(attachment_id, _)] = entry.files
        with pytest.raises(FileNotFound):
            messages.attachment_file(uow, buyer, po_id=second, attachment_id=attachment_id)


def test_a_message_of_files_only_is_accepted(tx, world, vault):
    who = actors(tx, world)
    po_id = issued_order(tx, world, who)
    post(tx, world, who["buyer"], po_id, vault, [("a.pdf", pdf_bytes())], body="  ")
    assert [name for name, _ in files_seen(tx, world, who["supplier1"], po_id, vault)] == ["a.pdf"]


def nothing_kept(tx, world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return [uow.scalar(sa.select(sa.func.count()).select_from(t)) for t in (PoMessage, Attachment, StoredFile)] == [0, 0, 0]


def test_one_refused_file_keeps_nothing_of_the_message(tx, world, vault):
    who = actors(tx, world)
    po_id = issued_order(tx, world, who)
    with pytest.raises(ValidationFailed) as refused:
        post(tx, world, who["buyer"], po_id, vault, [("good.pdf", pdf_bytes()), ("tool.exe", b"MZ" + b"\0" * 200)])
    assert "files" in refused.value.errors
    assert refused.value.params["filename"] == "tool.exe"
    assert nothing_kept(tx, world)


def test_more_than_the_allowed_number_of_files_is_refused(tx, world, vault):
    who = actors(tx, world)
    po_id = issued_order(tx, world, who)
    many = [(f"{n}.pdf", pdf_bytes()) for n in range(messages.MAX_FILES + 1)]
    with pytest.raises(ValidationFailed) as refused:
        post(tx, world, who["buyer"], po_id, vault, many)
    assert refused.value.errors == {"files": messages.TOO_MANY_FILES}
    assert nothing_kept(tx, world)


def test_an_empty_message_without_files_is_refused(tx, world, vault):
    who = actors(tx, world)
    po_id = issued_order(tx, world, who)
    with pytest.raises(ValidationFailed) as refused:
        post(tx, world, who["buyer"], po_id, vault, [], body=" ")
    assert refused.value.errors == {"body": messages.EMPTY}
