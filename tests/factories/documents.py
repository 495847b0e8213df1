"""Certificate rows for tests that need certificates in a given state without going
through the upload and the signed review: a certificate type, and a certificate with a
dummy data key and stored file beside it, as the review leaves them."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import sqlalchemy as sa

from documents.models import Certificate, CertificateItem, CertificateSite, CertificateType, StoredFile, TenantDataKey
from kernel.clock import utcnow
from tests.factories import unique

_DEFAULT = object()


def make_certificate_type(
    uow, *, code: str | None = None, name: str = "ISO 13485", name_zh: str | None = None, **kw
) -> CertificateType:
    kind = CertificateType(code=code or unique("iso-").lower(), name=name, name_zh=name_zh, **kw)
    uow.add(kind)
    uow.flush()
    return kind


def data_key(uow) -> TenantDataKey:
    """The tenant's (dummy) data key: the newest there is, else a new one."""
    key = uow.session.scalars(sa.select(TenantDataKey).order_by(TenantDataKey.created_at.desc()).limit(1)).first()
    if key is None:
        key = TenantDataKey(wrapped_key=b"\x00" * 60, master_key_id="test")
        uow.add(key)
        uow.flush()
    return key


def make_certificate(
    uow,
    *,
    supplier,
    type: CertificateType | None = None,
    status: str = "approved",
    expires_on=_DEFAULT,
    valid_from: date | None = None,
    site_ids=(),
    item_ids=(),
    number: str | None = None,
    supersedes: Certificate | None = None,
    responsible_user_id=None,
) -> Certificate:
    """A certificate of `supplier` (an Organisation) in `status`: approved, rejected and
    superseded ones carry a review time, as the check constraint wants. expires_on
    defaults to a year from today; None means it never expires. responsible_user_id: the
    quality engineer its expiry notices go to (documents.expiry)."""
    if expires_on is _DEFAULT:
        expires_on = utcnow().date() + timedelta(days=365)
    if valid_from is None:
        valid_from = (expires_on or utcnow().date()) - timedelta(days=3 * 365)
    stored = StoredFile(
        supplier_id=supplier.id,
        data_key_id=data_key(uow).id,
        storage_key=f"tenant/{uow.tenant_id}/{uuid.uuid4()}",
        filename="certificate.pdf",
        content_type="application/pdf",
        size=1024,
        sha256="0" * 64,
    )
    uow.add(stored)
    uow.flush()
    certificate = Certificate(
        supplier_id=supplier.id,
        certificate_type_id=(type or make_certificate_type(uow)).id,
        file_id=stored.id,
        supersedes_id=supersedes.id if supersedes else None,
        version=supersedes.version + 1 if supersedes else 1,
        number=number or unique("CERT-"),
        issuing_body="TÜV SÜD",
        valid_from=valid_from,
        expires_on=expires_on,
        status=status,
        reviewed_at=datetime(2026, 1, 5, tzinfo=UTC) if status != "pending_review" else None,
        responsible_user_id=responsible_user_id,
    )
    uow.add(certificate)
    uow.flush()
    for site_id in dict.fromkeys(site_ids):
        uow.add(CertificateSite(certificate_id=certificate.id, site_id=site_id, supplier_id=supplier.id))
    for item_id in dict.fromkeys(item_ids):
        uow.add(CertificateItem(certificate_id=certificate.id, item_id=item_id, supplier_id=supplier.id))
    uow.flush()
    return certificate
