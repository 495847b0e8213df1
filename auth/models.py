"""Users are global: one login per person, whatever tenants they work in."""

from __future__ import annotations

import uuid
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy import orm

from kernel.ids import new_id
from kernel.models import Base, Timestamps


class User(Timestamps, Base):
    __tablename__ = "user_account"
    __table_args__ = (sa.Index("uq_user_account_email", sa.func.lower(sa.text("email")), unique=True),)

    id: orm.Mapped[uuid.UUID] = orm.mapped_column(primary_key=True, default=new_id)
    email: orm.Mapped[str] = orm.mapped_column(sa.String(254))
    full_name: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    password_hash: orm.Mapped[str | None] = orm.mapped_column(sa.String(255))
    locale: orm.Mapped[str | None] = orm.mapped_column(sa.String(10))
    timezone: orm.Mapped[str] = orm.mapped_column(sa.String(64), server_default="UTC")
    is_active: orm.Mapped[bool] = orm.mapped_column(server_default=sa.true())
    last_login_at: orm.Mapped[datetime | None]
