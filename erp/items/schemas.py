"""API shapes of items (pydantic; the OpenAPI document is generated from them)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from erp.items.models import CATEGORIES, UNITS
from erp.items.service import MAX_NAME, MAX_PART_NUMBER, PART_NUMBER


class ItemCreate(BaseModel):
    """A new item in the tenant's part master."""

    model_config = ConfigDict(extra="forbid")

    part_number: str = Field(max_length=MAX_PART_NUMBER, pattern=PART_NUMBER.pattern, examples=["PC-1001"])
    name: str = Field(max_length=MAX_NAME, examples=["Polycarbonate housing"])
    name_zh: str | None = Field(None, max_length=MAX_NAME, examples=["聚碳酸酯外壳"])
    category: Literal[CATEGORIES]  # type: ignore[valid-type]
    uom: Literal[UNITS]  # type: ignore[valid-type]


class ItemOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # built straight from the Item row

    id: uuid.UUID
    part_number: str
    name: str
    name_zh: str | None
    category: str
    uom: str
    gtin: str | None
    created_at: datetime
