"""Certificates of conformance and analysis attached to a lot (issue 6, item 7): the
supplier attaches them to the lots of its ship notices, the customer's people read them
beside the ASN and at receiving. Stored through documents.attachments (encrypted, the
type checked from the bytes), as owner "lot", for the lot's supplier: row-level
security shows them to that supplier and the tenant, and to no other supplier."""

from __future__ import annotations

import uuid
from typing import BinaryIO

import sqlalchemy as sa

from auth.permissions import require, require_any
from documents import attachments
from documents.errors import FileNotFound
from documents.vault import Vault
from erp.inventory.models import Lot
from erp.shipping.models import AsnLine
from kernel.errors import N_, NotFound, ValidationFailed

OWNER = "lot"
KINDS = {
    "certificate_of_conformance": N_("Certificate of conformance"),
    "certificate_of_analysis": N_("Certificate of analysis"),
}
KIND = N_("Choose a certificate of conformance or of analysis.")
CHOOSE_FILE = N_("Choose the certificate's file.")


class LotNotFound(NotFound):
    code = "lot-not-found"
    message = N_("There is no such lot.")


def _lot_on_asn(uow, *, asn_id: uuid.UUID, lot_id: uuid.UUID) -> Lot:
    """The lot, if a line of the ASN names it and the caller may see both."""
    lot = uow.scalar(
        sa.select(Lot).join(AsnLine, AsnLine.lot_id == Lot.id).where(Lot.id == lot_id, AsnLine.asn_id == asn_id).limit(1)
    )
    if lot is None:
        raise LotNotFound()
    return lot


def attach(
    uow, actor, *, vault: Vault, asn_id: uuid.UUID, lot_id: uuid.UUID, kind: str, stream: BinaryIO | None, filename: str
):
    """Attach a certificate to a lot of the ASN; the supplier (asn.submit) for its own
    lots. A refused file (type, size, active content) is a ValidationFailed on "file"."""
    require(actor, "asn.submit")
    lot = _lot_on_asn(uow, asn_id=asn_id, lot_id=lot_id)
    if kind not in KINDS:
        raise ValidationFailed(errors={"kind": KIND})
    if stream is None or not filename:
        raise ValidationFailed(errors={"file": CHOOSE_FILE})
    attachment, _ = attachments.attach(
        uow, actor, vault=vault, owner_kind=OWNER, owner_id=lot.id, supplier_id=lot.supplier_id,
        stream=stream, filename=filename, kind=kind,
    )
    return attachment


def documents_of(uow, *, lot_ids) -> dict[uuid.UUID, list[attachments.Attached]]:
    """Each lot's certificates, oldest first."""
    return attachments.attachments_of(uow, owner_kind=OWNER, owner_ids=lot_ids)


def document_file(uow, actor, *, asn_id: uuid.UUID, lot_id: uuid.UUID, attachment_id: uuid.UUID) -> uuid.UUID:
    """The stored file of a lot's certificate, for download; FileNotFound unless it is
    one of this lot's, on this ASN, visible to the caller."""
    require_any(actor, "asn.view", "asn.submit")
    lot = _lot_on_asn(uow, asn_id=asn_id, lot_id=lot_id)
    attachment = attachments.find(uow, attachment_id=attachment_id, owner_kind=OWNER)
    if attachment.owner_id != lot.id:
        raise FileNotFound()
    return attachment.file_id
