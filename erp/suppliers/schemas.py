"""API shapes of supplier contacts and the approved supplier list."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from erp.items.models import CATEGORIES
from erp.suppliers.models import STATUSES
from erp.suppliers.service import MAX_EMAIL, MAX_NAME, MAX_PHONE, MAX_REASON, MAX_ROLE, ApprovalRow

Status = Literal[STATUSES]  # type: ignore[valid-type]
Category = Literal[CATEGORIES]  # type: ignore[valid-type]


class ApprovalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: Status = Field(description="approved, conditional, probation or disqualified")
    reason: str = Field(
        max_length=MAX_REASON, description="Why the status is set or changed; required", examples=["Failed audit"]
    )
    site_id: uuid.UUID | None = Field(None, description="One site of the supplier; omitted: every site of it")
    item_id: uuid.UUID | None = Field(None, description="The item; give either an item or a category")
    category: Category | None = Field(None, description="A category of items; give either an item or a category")


class ApprovalOut(BaseModel):
    id: uuid.UUID
    supplier_id: uuid.UUID
    supplier_name: str
    site_id: uuid.UUID | None = Field(description="Null: every site of the supplier")
    site_name: str | None
    item_id: uuid.UUID | None
    part_number: str | None
    item_name: str | None
    category: str | None
    status: str
    reason: str
    changed_at: datetime
    changed_by: uuid.UUID | None

    @classmethod
    def of(cls, row: ApprovalRow) -> ApprovalOut:
        e = row.entry
        return cls(
            id=e.id,
            supplier_id=e.supplier_id,
            supplier_name=row.supplier_name,
            site_id=e.site_id,
            site_name=row.site_name,
            item_id=e.item_id,
            part_number=row.part_number,
            item_name=row.item_name,
            category=e.category,
            status=e.status,
            reason=e.reason,
            changed_at=e.changed_at,
            changed_by=e.changed_by,
        )


class ApprovalList(BaseModel):
    items: list[ApprovalOut]


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(max_length=MAX_NAME, examples=["Li Wei"])
    email: str | None = Field(None, max_length=MAX_EMAIL, examples=["li.wei@supplier.example"])
    phone: str | None = Field(None, max_length=MAX_PHONE, examples=["+86 755 1234 5678"])
    role: str | None = Field(
        None, max_length=MAX_ROLE, description="What the person does: sales, quality...", examples=["Quality"]
    )
    is_primary: bool = Field(False, description="The primary contact; takes over from the previous one")


class ContactOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    supplier_id: uuid.UUID
    name: str
    email: str | None
    phone: str | None
    role: str | None
    is_primary: bool
    created_at: datetime


class ContactList(BaseModel):
    items: list[ContactOut]
