"""API shapes of purchase orders."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field


class SupplierRef(BaseModel):
    id: uuid.UUID
    name: str
    name_zh: str | None


class PurchaseOrderOut(BaseModel):
    id: uuid.UUID
    number: str = Field(examples=["PO-2026-000123"])
    status: str
    order_date: date
    created_at: datetime
    currency: str = Field(description="ISO 4217 code", examples=["EUR"])
    supplier: SupplierRef
    line_count: int
    # Money travels as a decimal string: JSON numbers would round it.
    total: Decimal = Field(description="Sum of quantity × unit price over the lines, as a decimal string")

    @classmethod
    def of(cls, row) -> PurchaseOrderOut:
        return cls(
            id=row.id,
            number=row.number,
            status=row.status,
            order_date=row.order_date,
            created_at=row.created_at,
            currency=row.currency,
            supplier=SupplierRef(id=row.supplier_id, name=row.supplier_name, name_zh=row.supplier_name_zh),
            line_count=row.line_count,
            total=money(row.total),
        )


class PurchaseOrderPage(BaseModel):
    items: list[PurchaseOrderOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page")


class PurchaseOrderQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    cursor: str | None = Field(None, description="The `next_cursor` of the previous page")
    limit: int = Field(50, ge=1, le=200, description="Rows per page")


def money(amount: Decimal) -> Decimal:
    """Cents at least, more only when the amount has them, and never an exponent."""
    cents = amount.quantize(Decimal("0.01"))
    return cents if cents == amount else Decimal(format(amount.normalize(), "f"))
