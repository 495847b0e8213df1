"""Documents: encrypted files, certificate types, certificates and their expiry notices.

Files are stored encrypted (documents.crypto) through one storage interface
(documents.storage); a `stored_file` row names the object, its size, the SHA-256 of its
plaintext and the tenant data key it was encrypted with. Certificates point at their
file; a new version of a certificate supersedes the old one without deleting it.

Which certificate types a supplier, site or item needs (the requirement matrix) is a
rule of the approved supplier list and lives in erp.suppliers (it needs the approved
sources and item categories); this package only knows certificates and their validity.
"""

from __future__ import annotations

import uuid
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects.postgresql import ARRAY

from kernel.models import Base, TenantOwned, Timestamps, tenant_fk, within

# pending_review: uploaded, waiting for a quality engineer (or counted at once when the
# type needs no review: approved on upload). superseded: a newer version was approved.
CERTIFICATE_STATUSES = ("pending_review", "approved", "rejected", "superseded")
# What a file belongs to besides certificates (PO messages, lots of the ASN issue).
ATTACHMENT_OWNERS = ("purchase_order", "po_message", "lot")
ATTACHMENT_KINDS = ("certificate_of_conformance", "certificate_of_analysis", "drawing", "other")


class TenantDataKey(TenantOwned, Base):
    """A tenant's AES-256 data key, wrapped (AES-GCM) by the master key `master_key_id`
    names. The newest active key encrypts new files; old ones stay to read old files.
    Insert-only for the application role; the wrapped key is redacted in the audit trail."""

    __tablename__ = "tenant_data_key"
    __table_args__ = (sa.Index("ix_tenant_data_key_created", "tenant_id", "created_at"),)

    wrapped_key: orm.Mapped[bytes] = orm.mapped_column(sa.LargeBinary)
    master_key_id: orm.Mapped[str] = orm.mapped_column(sa.String(16))
    created_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())


class StoredFile(TenantOwned, Base):
    """One encrypted object in storage. supplier_id: the supplier the file belongs to (its
    certificate, an attachment on its order), so the supplier policy applies; null for
    files only the tenant's people see. Insert-only for the application role."""

    __tablename__ = "stored_file"
    __table_args__ = (
        tenant_fk(["data_key_id"], "tenant_data_key"),
        tenant_fk(["supplier_id"], "organisation"),
        sa.CheckConstraint("size > 0", name="size"),
        sa.CheckConstraint("length(sha256) = 64", name="sha256"),
    )

    supplier_id: orm.Mapped[uuid.UUID | None]
    data_key_id: orm.Mapped[uuid.UUID]
    # Where the ciphertext lives in the backend (documents.storage): tenant/<tenant>/<id>.
    storage_key: orm.Mapped[str] = orm.mapped_column(sa.String(300))
    filename: orm.Mapped[str] = orm.mapped_column(sa.String(255))
    content_type: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    size: orm.Mapped[int] = orm.mapped_column(sa.BigInteger)
    sha256: orm.Mapped[str] = orm.mapped_column(sa.String(64))
    uploaded_by: orm.Mapped[uuid.UUID | None]
    created_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())


class CertificateType(TenantOwned, Timestamps, Base):
    """A kind of certificate the tenant asks for (ISO 13485, CE/MDR, FDA establishment
    registration, ...). accepted_issuers empty: any issuing body."""

    __tablename__ = "certificate_type"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "code"),)

    code: orm.Mapped[str] = orm.mapped_column(sa.String(40))
    name: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    name_zh: orm.Mapped[str | None] = orm.mapped_column(sa.String(200))
    expiry_required: orm.Mapped[bool] = orm.mapped_column(server_default=sa.true())
    review_required: orm.Mapped[bool] = orm.mapped_column(server_default=sa.true())
    accepted_issuers: orm.Mapped[list[str]] = orm.mapped_column(ARRAY(sa.String(200)), server_default="{}")
    active: orm.Mapped[bool] = orm.mapped_column(server_default=sa.true())


class Certificate(TenantOwned, Timestamps, Base):
    """One version of a supplier's certificate. Sites and items it covers are in
    certificate_site and certificate_item; a certificate naming neither covers the whole
    supplier."""

    __tablename__ = "certificate"
    __table_args__ = (
        tenant_fk(["supplier_id"], "organisation"),
        tenant_fk(["certificate_type_id"], "certificate_type"),
        tenant_fk(["file_id"], "stored_file"),
        tenant_fk(["supersedes_id"], "certificate"),
        sa.CheckConstraint(within("status", CERTIFICATE_STATUSES), name="status"),
        sa.CheckConstraint("expires_on is null or expires_on >= valid_from", name="validity"),
        sa.CheckConstraint("btrim(number) <> ''", name="number"),
        sa.CheckConstraint("status not in ('approved', 'rejected') or reviewed_at is not null", name="reviewed"),
        sa.Index("ix_certificate_supplier", "tenant_id", "supplier_id", "certificate_type_id"),
        # The expiry scan (documents.expiry) reads approved certificates by date, across
        # tenants (its security-definer function); nothing else needs this order.
        sa.Index("ix_certificate_expiry", "expires_on", postgresql_where=sa.text("status = 'approved'")),
    )

    supplier_id: orm.Mapped[uuid.UUID]
    certificate_type_id: orm.Mapped[uuid.UUID]
    file_id: orm.Mapped[uuid.UUID]
    supersedes_id: orm.Mapped[uuid.UUID | None]
    version: orm.Mapped[int] = orm.mapped_column(server_default="1")
    number: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    issuing_body: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    scope: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    basic_udi_dis: orm.Mapped[list[str]] = orm.mapped_column(ARRAY(sa.String(40)), server_default="{}")
    valid_from: orm.Mapped[date]
    expires_on: orm.Mapped[date | None]
    status: orm.Mapped[str] = orm.mapped_column(sa.String(20), server_default="pending_review")
    uploaded_by: orm.Mapped[uuid.UUID | None]
    reviewed_by: orm.Mapped[uuid.UUID | None]
    reviewed_at: orm.Mapped[datetime | None]
    review_reason: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    # The quality engineer who approved it is the one told when it nears expiry.
    responsible_user_id: orm.Mapped[uuid.UUID | None]


class CertificateSite(TenantOwned, Base):
    __tablename__ = "certificate_site"
    __table_args__ = (
        tenant_fk(["certificate_id"], "certificate", ondelete="CASCADE"),
        tenant_fk(["site_id"], "site"),
        sa.UniqueConstraint("tenant_id", "certificate_id", "site_id"),
        sa.Index("ix_certificate_site_site", "tenant_id", "site_id"),
    )

    certificate_id: orm.Mapped[uuid.UUID]
    site_id: orm.Mapped[uuid.UUID]
    supplier_id: orm.Mapped[uuid.UUID]


class CertificateItem(TenantOwned, Base):
    __tablename__ = "certificate_item"
    __table_args__ = (
        tenant_fk(["certificate_id"], "certificate", ondelete="CASCADE"),
        tenant_fk(["item_id"], "item"),
        sa.UniqueConstraint("tenant_id", "certificate_id", "item_id"),
        sa.Index("ix_certificate_item_item", "tenant_id", "item_id"),
    )

    certificate_id: orm.Mapped[uuid.UUID]
    item_id: orm.Mapped[uuid.UUID]
    supplier_id: orm.Mapped[uuid.UUID]


class CertificateNotice(TenantOwned, Base):
    """An expiry notice sent (queued in the outbox in the same transaction) for one
    certificate and threshold (days before expiry). The unique key makes each notice
    go once, however often or late the scan runs. Insert-only."""

    __tablename__ = "certificate_notice"
    __table_args__ = (
        tenant_fk(["certificate_id"], "certificate", ondelete="CASCADE"),
        sa.UniqueConstraint("tenant_id", "certificate_id", "threshold_days"),
    )

    certificate_id: orm.Mapped[uuid.UUID]
    supplier_id: orm.Mapped[uuid.UUID]
    threshold_days: orm.Mapped[int]
    # The day the scan ran as (`--as-of`), and how many days were left then.
    as_of: orm.Mapped[date]
    days_left: orm.Mapped[int]
    recipients: orm.Mapped[int] = orm.mapped_column(server_default="0")
    created_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())


class Attachment(TenantOwned, Base):
    """A file attached to something else: a purchase order, a PO message, a lot
    (certificates of conformance and analysis). The owner is named by kind and id; its
    own package checks the owner exists and may be seen. Insert-only."""

    __tablename__ = "attachment"
    __table_args__ = (
        tenant_fk(["file_id"], "stored_file"),
        sa.CheckConstraint(within("owner_kind", ATTACHMENT_OWNERS), name="owner_kind"),
        sa.CheckConstraint(within("kind", ATTACHMENT_KINDS), name="kind"),
        sa.Index("ix_attachment_owner", "tenant_id", "owner_kind", "owner_id"),
    )

    owner_kind: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    owner_id: orm.Mapped[uuid.UUID]
    file_id: orm.Mapped[uuid.UUID]
    supplier_id: orm.Mapped[uuid.UUID | None]
    kind: orm.Mapped[str] = orm.mapped_column(sa.String(40), server_default="other")
    created_by: orm.Mapped[uuid.UUID | None]
    created_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())
