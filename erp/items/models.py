"""Items (part master). The full UDI data model comes with the master-data issue."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy import orm

from kernel.models import Base, TenantOwned, Timestamps


class Item(TenantOwned, Timestamps, Base):
    __tablename__ = "item"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "part_number"),)

    part_number: orm.Mapped[str] = orm.mapped_column(sa.String(60))
    name: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    name_zh: orm.Mapped[str | None] = orm.mapped_column(sa.String(200))
    category: orm.Mapped[str] = orm.mapped_column(sa.String(40))
    uom: orm.Mapped[str] = orm.mapped_column(sa.String(10))
    gtin: orm.Mapped[str | None] = orm.mapped_column(sa.String(14))


# The values `category` and `uom` take until master data makes them tenant-editable.
CATEGORIES = ("component", "raw_material", "sterile_barrier", "packaging", "finished_device", "consumable", "service")
UNITS = ("EA", "M", "MM", "KG", "G", "L", "ML", "BOX", "PK", "ROLL", "SET")
