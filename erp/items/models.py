"""Items (part master), with the device data of the UDI regulations (FDA GUDID, EU MDR
EUDAMED, China NMPA UDI database) and the storage conditions of cold-chain items."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects.postgresql import JSONB

from erp.items.udi import ISSUING_AGENCIES
from kernel.models import Base, TenantOwned, Timestamps, tenant_fk, within


class Item(TenantOwned, Timestamps, Base):
    __tablename__ = "item"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "part_number"),
        # One item per device identifier in a tenant.
        sa.Index("ix_item_tenant_id_udi_di", "tenant_id", "udi_di", unique=True, postgresql_where=sa.text("udi_di is not null")),
        sa.CheckConstraint(within("issuing_agency", ISSUING_AGENCIES), name="issuing_agency"),
        sa.CheckConstraint("udi_di is null or issuing_agency is not null", name="udi_di_agency"),
        sa.CheckConstraint("storage_temp_min_c <= storage_temp_max_c", name="storage_temp_range"),
        sa.CheckConstraint("storage_humidity_min_pct <= storage_humidity_max_pct", name="storage_humidity_range"),
        sa.CheckConstraint(
            "storage_humidity_min_pct between 0 and 100 and storage_humidity_max_pct between 0 and 100",
            name="storage_humidity_percent",
        ),
        sa.CheckConstraint("max_excursion_minutes >= 0", name="max_excursion_minutes"),
    )

    part_number: orm.Mapped[str] = orm.mapped_column(sa.String(60))
    name: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    name_zh: orm.Mapped[str | None] = orm.mapped_column(sa.String(200))
    category: orm.Mapped[str] = orm.mapped_column(sa.String(40))
    uom: orm.Mapped[str] = orm.mapped_column(sa.String(10))
    # Device identification (erp.items.udi): the agency that issued the identifiers, the
    # UDI-DI in its canonical form (GS1: GTIN-14) and the EU Basic UDI-DI.
    issuing_agency: orm.Mapped[str | None] = orm.mapped_column(sa.String(10))
    udi_di: orm.Mapped[str | None] = orm.mapped_column(sa.String(40))
    basic_udi_di: orm.Mapped[str | None] = orm.mapped_column(sa.String(40))
    device_class: orm.Mapped[str | None] = orm.mapped_column(sa.String(20))
    # The production identifiers (UDI-PI) the label carries, as in FDA GUDID.
    label_lot: orm.Mapped[bool] = orm.mapped_column(server_default=sa.false())
    label_serial: orm.Mapped[bool] = orm.mapped_column(server_default=sa.false())
    label_manufacture_date: orm.Mapped[bool] = orm.mapped_column(server_default=sa.false())
    label_expiry_date: orm.Mapped[bool] = orm.mapped_column(server_default=sa.false())
    # Storage conditions (cold chain): ranges in °C and % relative humidity, and how long
    # the item may be outside them.
    storage_temp_min_c: orm.Mapped[Decimal | None] = orm.mapped_column(sa.Numeric(5, 1))
    storage_temp_max_c: orm.Mapped[Decimal | None] = orm.mapped_column(sa.Numeric(5, 1))
    storage_humidity_min_pct: orm.Mapped[Decimal | None] = orm.mapped_column(sa.Numeric(4, 1))
    storage_humidity_max_pct: orm.Mapped[Decimal | None] = orm.mapped_column(sa.Numeric(4, 1))
    max_excursion_minutes: orm.Mapped[int | None] = orm.mapped_column(sa.Integer)


# The values `category` and `uom` take until master data makes them tenant-editable.
CATEGORIES = (
    "component",
    "raw_material",
    "sterile_barrier",
    "packaging",
    "finished_device",
    "contract_manufactured",
    "consumable",
    "service",
)
UNITS = ("EA", "M", "MM", "KG", "G", "L", "ML", "BOX", "PK", "ROLL", "SET")
# Categories of devices placed on the market under the tenant's name: with a UDI-DI they
# must state their device class.
DEVICE_CATEGORIES = ("finished_device", "contract_manufactured")

# Risk classes, one set per jurisdiction (the item states the one of its main market):
# - EU MDR 2017/745 Annex VIII: I, Is (sterile), Im (measuring function), Ir (reusable
#   surgical instrument), IIa, IIb, III;
# - US 21 CFR 860: Class I, II, III;
# - China, 医疗器械监督管理条例 (State Council Order 739): 第一类, 第二类, 第三类.
DEVICE_CLASSES = ("I", "Is", "Im", "Ir", "IIa", "IIb", "III", "US-I", "US-II", "US-III", "CN-I", "CN-II", "CN-III")


IMPORT_STATUSES = ("queued", "running", "done", "failed")


class ItemImport(TenantOwned, Timestamps, Base):
    """An import of items from a file (erp.items.imports): the file, who sent it, how far
    the check has got, and the outcome - counts, or every error by row and column."""

    __tablename__ = "item_import"
    __table_args__ = (
        sa.CheckConstraint(within("status", IMPORT_STATUSES), name="status"),
        sa.CheckConstraint("done >= 0 and done <= total", name="progress"),
        sa.Index("ix_item_import_tenant_id_created_at", "tenant_id", "created_at"),
    )

    filename: orm.Mapped[str] = orm.mapped_column(sa.String(255))
    content: orm.Mapped[bytes] = orm.mapped_column(sa.LargeBinary, deferred=True)
    status: orm.Mapped[str] = orm.mapped_column(sa.String(20), server_default="queued")
    encoding: orm.Mapped[str | None] = orm.mapped_column(sa.String(20))
    total: orm.Mapped[int] = orm.mapped_column(server_default="0")
    done: orm.Mapped[int] = orm.mapped_column(server_default="0")
    report: orm.Mapped[dict | None] = orm.mapped_column(JSONB)
    created_by: orm.Mapped[uuid.UUID | None]
    finished_at: orm.Mapped[datetime | None]


class ItemRevision(TenantOwned, Base):
    """A revision of an item and the day it takes effect (ISO 13485 §7.3.9 design change
    control). On any day the revision in effect is the one with the latest effective_from
    on or before it (erp.items.revisions). A record: never changed; one that has not yet
    taken effect may be cancelled (deleted; the migration's policy refuses the others)."""

    __tablename__ = "item_revision"
    __table_args__ = (
        tenant_fk(["item_id"], "item"),
        sa.UniqueConstraint("tenant_id", "item_id", "revision"),
        # Also the index of the lookups by item and day.
        sa.UniqueConstraint("tenant_id", "item_id", "effective_from"),
        sa.CheckConstraint("btrim(revision) <> ''", name="revision"),
        sa.CheckConstraint("btrim(description) <> ''", name="description"),
    )

    item_id: orm.Mapped[uuid.UUID]
    revision: orm.Mapped[str] = orm.mapped_column(sa.String(10))
    effective_from: orm.Mapped[date]
    description: orm.Mapped[str] = orm.mapped_column(sa.Text)
    created_by: orm.Mapped[uuid.UUID | None]
    created_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())
