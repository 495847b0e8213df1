"""API shapes of purchase orders."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from datetime import date as Date
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
    issued_at: datetime | None = None
    overdue: bool = Field(False, description="Awaiting the supplier's acknowledgement longer than the tenant allows")

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
            issued_at=row.issued_at,
            overdue=row.overdue,
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


# -- the lifecycle and confirmation (erp.purchasing.confirmation) ---------------------------

Amount = Decimal | str  # a decimal string (or JSON number); the service checks it


class ScheduleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    quantity: Amount
    date: Date


class LineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: uuid.UUID
    quantity: Amount = Field(description="Above zero; whole numbers for EA, BOX, PK, SET and ROLL, else up to three decimals")
    unit_price: Amount = Field(description="In the order's currency, zero or more, up to six decimals")
    currency: str | None = Field(None, description="If sent, must be the order's currency")
    requested_date: date
    ship_to_site_id: uuid.UUID | None = Field(None, description="One of the tenant's own sites")
    schedule: list[ScheduleIn] | None = Field(None, description="Delivery schedule lines adding up to the quantity")


class PurchaseOrderCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    supplier_id: uuid.UUID
    currency: str = Field(description="ISO 4217 code", examples=["EUR"])
    lines: list[LineIn]


class VersionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(description="The order's `version` as read: a changed order is refused with 409")


class ResponseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    line_id: uuid.UUID
    action: str = Field(description="accept, reject or propose", examples=["accept"])
    reason_code: str | None = Field(None, description="For a rejection: one of the order's `reason_codes`")
    quantity: Amount | None = None
    unit_price: Amount | None = None
    currency: str | None = Field(None, description="If sent with a price, must be the order's currency")
    promised_date: date | None = None
    schedule: list[ScheduleIn] | None = Field(None, description="A proposed split into schedule lines")
    comment: str | None = Field(None, max_length=2000)


class ResponsesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    revision: int
    version: int
    responses: list[ResponseIn] = Field(description="One answer per line; the whole order is an answer for every line")


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    accept: bool
    version: int
    note: str | None = Field(None, max_length=2000)


class ScheduleOut(BaseModel):
    seq: int
    quantity: Decimal
    delivery_date: date


class ResponseOut(BaseModel):
    id: uuid.UUID
    revision: int
    action: str
    reason_code: str | None
    quantity: Decimal | None
    unit_price: Decimal | None
    promised_date: date | None
    schedule: list[dict] | None
    comment: str | None
    responded_at: datetime
    decision: str
    decided_at: datetime | None
    decision_note: str | None


class LineOut(BaseModel):
    id: uuid.UUID
    line_no: int
    item_id: uuid.UUID
    quantity: Decimal
    uom: str
    unit_price: Decimal
    requested_date: date
    promised_date: date | None
    ship_to_site_id: uuid.UUID | None
    status: str
    schedule: list[ScheduleOut]
    responses: list[ResponseOut] = Field(description="The supplier's answers, newest first, beside the line as it is")


class ReasonCodeOut(BaseModel):
    code: str
    name: str
    name_zh: str | None


class PurchaseOrderDetailOut(BaseModel):
    id: uuid.UUID
    number: str
    status: str
    revision: int
    version: int = Field(description="Send it back with a change: a changed order is refused with 409")
    currency: str
    order_date: date
    supplier: SupplierRef
    issued_at: datetime | None
    acknowledged_at: datetime | None
    acknowledgement_hours: float | None
    lines: list[LineOut]
    reason_codes: list[ReasonCodeOut]

    @classmethod
    def of(cls, detail) -> PurchaseOrderDetailOut:
        po = detail.order

        def response(r) -> ResponseOut:
            return ResponseOut(
                id=r.id,
                revision=r.revision,
                action=r.action,
                reason_code=r.reason_code,
                quantity=_plain(r.quantity),
                unit_price=_plain(r.unit_price),
                promised_date=r.promised_date,
                schedule=r.schedule,
                comment=r.comment,
                responded_at=r.responded_at,
                decision=r.decision,
                decided_at=r.decided_at,
                decision_note=r.decision_note,
            )

        return cls(
            id=po.id,
            number=po.number,
            status=po.status,
            revision=po.revision,
            version=po.version,
            currency=po.currency,
            order_date=po.order_date,
            supplier=SupplierRef(id=po.supplier_id, name=detail.supplier_name, name_zh=detail.supplier_name_zh),
            issued_at=po.issued_at,
            acknowledged_at=po.acknowledged_at,
            acknowledgement_hours=detail.acknowledgement_hours,
            lines=[
                LineOut(
                    id=d.line.id,
                    line_no=d.line.line_no,
                    item_id=d.line.item_id,
                    quantity=_plain(d.line.quantity),
                    uom=d.line.uom,
                    unit_price=_plain(d.line.unit_price),
                    requested_date=d.line.requested_date,
                    promised_date=d.line.promised_date,
                    ship_to_site_id=d.line.ship_to_site_id,
                    status=d.line.status,
                    schedule=[
                        ScheduleOut(seq=s.seq, quantity=_plain(s.quantity), delivery_date=s.delivery_date) for s in d.schedule
                    ],
                    responses=[response(r) for r in d.responses],
                )
                for d in detail.lines
            ],
            reason_codes=[ReasonCodeOut(code=c.code, name=c.name, name_zh=c.name_zh) for c in detail.reason_codes],
        )


def _plain(amount: Decimal | None) -> Decimal | None:
    """Without trailing zeros or an exponent: 100.0000 is 100."""
    return None if amount is None else Decimal(format(amount.normalize(), "f"))


class MessageIn(BaseModel):
    """A message to the other side of a purchase order."""

    model_config = ConfigDict(extra="forbid")

    body: str = Field(max_length=5000, examples=["Can you ship line 10 a week early?"])


class MessageFileOut(BaseModel):
    """A file on a message; GET /purchase-orders/{po_id}/attachments/{id} downloads it."""

    id: uuid.UUID = Field(description="The attachment's id")
    filename: str
    content_type: str
    size: int
    sha256: str


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # straight from the PoMessage row

    id: uuid.UUID
    side: str = Field(description='"buyer" or "supplier"')
    author_name: str
    body: str
    created_at: datetime
    files: list[MessageFileOut] = []

    @classmethod
    def of(cls, entry) -> MessageOut:
        """From a messages.ThreadMessage: the message with its files."""
        files = [
            MessageFileOut(id=attachment_id, filename=f.filename, content_type=f.content_type, size=f.size, sha256=f.sha256)
            for attachment_id, f in entry.files
        ]
        return cls.model_validate(entry.message).model_copy(update={"files": files})


class MessageList(BaseModel):
    items: list[MessageOut]


class ChangeIn(BaseModel):
    """One change of a change order: a line changed ({line_id, quantity?, unit_price?,
    requested_date?}), removed ({line_id, remove: true}) or added ({item_id, quantity,
    unit_price, requested_date})."""

    model_config = ConfigDict(extra="forbid")

    line_id: uuid.UUID | None = None
    remove: bool = False
    item_id: uuid.UUID | None = None
    quantity: Amount | None = None
    unit_price: Amount | None = None
    requested_date: date | None = None


class RevisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(description="The order's `version` as read: a changed order is refused with 409")
    reason: str = Field(max_length=2000, description="Why; the supplier sees it", examples=["Forecast raised for Q1"])
    changes: list[ChangeIn]


class RevisionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # straight from the PoRevision row

    revision: int
    reason: str
    diff: list[dict] = Field(description='[{"line_no", "change": added|removed|changed, "field", "from", "to"}]')
    previous_lines: list[dict] = Field(description="The lines as they were before this revision")
    changed_at: datetime


class RevisionList(BaseModel):
    items: list[RevisionOut]
