"""Cold chain: storage conditions, data loggers, their readings, and alerts.

A logger is bound for a period to what it watches: a shipment (an ASN, or one SSCC of
it), a storage location, or a lot; the lots inside are what its readings are about. A
logger is on one shipment at a time. Readings arrive in batches (API, CSV export of a
logger) with the logger's own timestamps; a batch is idempotent by its key.

Readings are machine records, never edited: the app role may insert and read them, not
change or delete them, and each batch row (audited like every table) records how many
readings came, their time span and a SHA-256 of their content, so the audit trail
covers them without an audit event per reading (a million readings would be a million
events; measured in `make bench`).

An alert is a temperature or humidity excursion, a cumulative or MKT limit broken, a
gap (logger silent too long), a delayed shipment, or a seal-number mismatch on receipt.
Excursions put the affected lots on hold and open a nonconformance with the evidence.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects.postgresql import JSONB

from kernel.models import Base, TenantOwned, Timestamps, tenant_fk, within

# Arrhenius activation energy for MKT (USP <1079>): 83.144 kJ/mol unless the item says.
DEFAULT_ACTIVATION_ENERGY = Decimal("83.144")


class StorageCondition(TenantOwned, Timestamps, Base):
    """An item's storage and transport conditions. Temperatures in °C, humidity in %RH;
    a limit left empty is not checked."""

    __tablename__ = "storage_condition"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "item_id"),
        tenant_fk(["item_id"], "item"),
        sa.CheckConstraint(
            "min_temperature is null or max_temperature is null or min_temperature < max_temperature", name="temperature_range"
        ),
        sa.CheckConstraint("min_humidity is null or max_humidity is null or min_humidity < max_humidity", name="humidity_range"),
        sa.CheckConstraint("excursion_minutes >= 0 and cumulative_minutes >= 0 and gap_minutes > 0", name="minutes"),
        sa.CheckConstraint("activation_energy > 0", name="activation_energy"),
    )

    item_id: orm.Mapped[uuid.UUID]
    min_temperature: orm.Mapped[Decimal | None] = orm.mapped_column(sa.Numeric(6, 2))
    max_temperature: orm.Mapped[Decimal | None] = orm.mapped_column(sa.Numeric(6, 2))
    min_humidity: orm.Mapped[Decimal | None] = orm.mapped_column(sa.Numeric(5, 2))
    max_humidity: orm.Mapped[Decimal | None] = orm.mapped_column(sa.Numeric(5, 2))
    # A single excursion shorter than this is tolerated; all excursions together up to
    # cumulative_minutes.
    excursion_minutes: orm.Mapped[int] = orm.mapped_column(server_default="0")
    cumulative_minutes: orm.Mapped[int] = orm.mapped_column(server_default="0")
    max_mkt: orm.Mapped[Decimal | None] = orm.mapped_column(sa.Numeric(6, 2))
    activation_energy: orm.Mapped[Decimal] = orm.mapped_column(sa.Numeric(8, 3), server_default=str(DEFAULT_ACTIVATION_ENERGY))
    gap_minutes: orm.Mapped[int] = orm.mapped_column(server_default="60")


class DataLogger(TenantOwned, Timestamps, Base):
    __tablename__ = "data_logger"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "code"),)

    code: orm.Mapped[str] = orm.mapped_column(sa.String(60))  # the logger's own id
    name: orm.Mapped[str | None] = orm.mapped_column(sa.String(200))
    model: orm.Mapped[str | None] = orm.mapped_column(sa.String(100))
    # Last reading stored: out-of-order batches are refused against it.
    last_reading_at: orm.Mapped[datetime | None]


BINDING_KINDS = ("asn", "package", "location", "lot")


class LoggerBinding(TenantOwned, Timestamps, Base):
    """A logger watching something from starts_at until ends_at (open while null)."""

    __tablename__ = "logger_binding"
    __table_args__ = (
        tenant_fk(["logger_id"], "data_logger"),
        tenant_fk(["asn_id"], "asn"),
        tenant_fk(["package_id"], "asn_package"),
        tenant_fk(["location_id"], "location"),
        tenant_fk(["lot_id"], "lot"),
        sa.Index("ix_logger_binding_logger", "tenant_id", "logger_id", "starts_at"),
        sa.Index("ix_logger_binding_asn", "tenant_id", "asn_id"),
        sa.Index("ix_logger_binding_lot", "tenant_id", "lot_id"),
        sa.CheckConstraint(within("kind", BINDING_KINDS), name="kind"),
        sa.CheckConstraint("ends_at is null or ends_at > starts_at", name="period"),
        sa.CheckConstraint(
            "(kind = 'asn' and asn_id is not null) or (kind = 'package' and package_id is not null)"
            " or (kind = 'location' and location_id is not null) or (kind = 'lot' and lot_id is not null)",
            name="target",
        ),
    )

    logger_id: orm.Mapped[uuid.UUID]
    kind: orm.Mapped[str] = orm.mapped_column(sa.String(10))
    asn_id: orm.Mapped[uuid.UUID | None]
    package_id: orm.Mapped[uuid.UUID | None]
    location_id: orm.Mapped[uuid.UUID | None]
    lot_id: orm.Mapped[uuid.UUID | None]
    starts_at: orm.Mapped[datetime]
    ends_at: orm.Mapped[datetime | None]
    bound_by: orm.Mapped[uuid.UUID | None]
    # Running totals of the readings so far, per storage condition of the lots watched
    # (erp.coldchain.excursions): batches only append, so each is read once.
    exposure: orm.Mapped[dict] = orm.mapped_column(JSONB, server_default="{}")


class ReadingBatch(TenantOwned, Base):
    """One delivery of readings. (logger, key) is unique: the same batch sent again is
    answered with the first one's result and stores nothing."""

    __tablename__ = "reading_batch"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "logger_id", "key"),
        tenant_fk(["logger_id"], "data_logger"),
    )

    logger_id: orm.Mapped[uuid.UUID]
    key: orm.Mapped[str] = orm.mapped_column(sa.String(100))
    source: orm.Mapped[str] = orm.mapped_column(sa.String(10))  # api, csv, epcis
    count: orm.Mapped[int]
    first_at: orm.Mapped[datetime | None]
    last_at: orm.Mapped[datetime | None]
    sha256: orm.Mapped[str] = orm.mapped_column(sa.String(64))
    alerts: orm.Mapped[int] = orm.mapped_column(server_default="0")
    received_by: orm.Mapped[uuid.UUID | None]
    received_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())


class Reading(Base):
    """One reading, in the logger's clock (UTC). Insert-only, not audited row by row (the
    batch is: see the module docstring).

    No surrogate id: a logger takes one reading at a moment, so (tenant, logger, time) is
    the key, and a million readings do not each need a UUID made, sent and indexed.

    No foreign keys, decided with the readings bench: PostgreSQL checks a foreign key row
    by row. Per INSERT of 1,000 readings, the one to data_logger took 6.7 of 9 ms (EXPLAIN
    ANALYZE); measured side by side (100,000 readings, the 2-core machine under the same
    load), ingest ran at 44k readings/s with none, 33-37k with the one to data_logger and
    23-24k with both (the INSERT 5, 11-14 and 26 ms). They guard nothing the application
    role can break: readings are written by one function (erp.coldchain.readings.ingest)
    that holds the logger's row lock and inserts the batch row first, in the same
    transaction, and its INSERT stores nothing unless that batch row exists and is the
    logger's (one check per statement; reading_batch's own foreign key says the logger
    exists). The role may not delete loggers or batches (nor truncate: audited), nor change
    or delete readings; a logger's id cannot change while batches point at it.
    """

    __tablename__ = "reading"
    __table_args__ = (sa.PrimaryKeyConstraint("tenant_id", "logger_id", "recorded_at"),)

    # TenantOwned's tenant_id, without its surrogate id (see kernel.models).
    tenant_id: orm.Mapped[uuid.UUID] = orm.mapped_column(
        server_default=sa.text("(NULLIF(current_setting('app.tenant_id', true), ''))::uuid")
    )
    logger_id: orm.Mapped[uuid.UUID]
    recorded_at: orm.Mapped[datetime]
    batch_id: orm.Mapped[uuid.UUID]
    temperature: orm.Mapped[Decimal | None] = orm.mapped_column(sa.Numeric(6, 2))
    humidity: orm.Mapped[Decimal | None] = orm.mapped_column(sa.Numeric(5, 2))


ALERT_KINDS = (
    "temperature_high",
    "temperature_low",
    "humidity_high",
    "humidity_low",
    "cumulative",
    "mkt",
    "gap",
    "delayed",
    "seal_mismatch",
)
ALERT_STATUSES = ("open", "acknowledged", "closed")


class ColdChainAlert(TenantOwned, Timestamps, Base):
    __tablename__ = "cold_chain_alert"
    __table_args__ = (
        tenant_fk(["logger_id"], "data_logger"),
        tenant_fk(["binding_id"], "logger_binding"),
        tenant_fk(["asn_id"], "asn"),
        tenant_fk(["receipt_id"], "receipt"),
        tenant_fk(["nonconformance_id"], "nonconformance"),
        sa.Index("ix_cold_chain_alert_status", "tenant_id", "status", "raised_at"),
        sa.Index("ix_cold_chain_alert_binding", "tenant_id", "binding_id", "kind", "started_at"),
        sa.CheckConstraint(within("kind", ALERT_KINDS), name="kind"),
        sa.CheckConstraint(within("status", ALERT_STATUSES), name="status"),
    )

    kind: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    status: orm.Mapped[str] = orm.mapped_column(sa.String(12), server_default="open")
    logger_id: orm.Mapped[uuid.UUID | None]
    binding_id: orm.Mapped[uuid.UUID | None]
    asn_id: orm.Mapped[uuid.UUID | None]
    receipt_id: orm.Mapped[uuid.UUID | None]
    started_at: orm.Mapped[datetime | None]
    ended_at: orm.Mapped[datetime | None]
    minutes: orm.Mapped[int | None]
    peak: orm.Mapped[Decimal | None] = orm.mapped_column(sa.Numeric(6, 2))
    limit_value: orm.Mapped[Decimal | None] = orm.mapped_column(sa.Numeric(6, 2))
    lot_ids: orm.Mapped[list] = orm.mapped_column(JSONB, server_default="[]")  # the lots put on hold
    evidence: orm.Mapped[dict] = orm.mapped_column(JSONB, server_default="{}")
    nonconformance_id: orm.Mapped[uuid.UUID | None]
    raised_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())
    acknowledged_by: orm.Mapped[uuid.UUID | None]
    acknowledged_at: orm.Mapped[datetime | None]
