"""API shapes of ship notices (ASNs). The input is the one shape erp.shipping.validation
describes for every entry path; the service checks it, these models only carry it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from erp import fields

Amount = Decimal | str  # a decimal string (or JSON number); the service checks it
DateText = date | str  # an ISO date; the service says what is wrong with one that is not


class PackageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    sscc: str = Field(description="GS1 SSCC (AI 00): 18 digits, the last a check digit", examples=["395060000000000016"])
    level: str = Field("case", description='"pallet" or "case"')
    parent: str | None = Field(None, description="For a case on a pallet: the pallet's SSCC")


class AsnLineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    purchase_order_line_id: uuid.UUID = Field(description="An accepted line of one of the supplier's orders")
    package: str | None = Field(None, description="The SSCC of the package it is in: one of `packages`")
    quantity: Amount = Field(description="In the order line's unit; for a serialised item, the number of serials")
    lot: str | None = Field(None, description="GS1 AI 10: up to 20 characters of GS1 set 82")
    production_date: DateText | None = None
    expiry_date: DateText | None = None
    serials: list[str] = Field(default_factory=list, description="GS1 AI 21, one per unit of a serialised item")
    gtin: str | None = Field(None, description="The UDI-DI as scanned, if any: checked against the item's")


class AsnIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ship_to_site_id: uuid.UUID = Field(description="One of the customer's sites (the order lines' ship-to)")
    ship_from_site_id: uuid.UUID | None = Field(None, description="One of the supplier's own sites")
    carrier: str | None = Field(None, max_length=100, examples=["SF Express"])
    tracking_number: str | None = Field(None, max_length=100)
    seal_number: str | None = Field(
        None, max_length=40, description="The truck's or container's seal: letters, digits and dashes", examples=["SL-0042817"]
    )
    ship_date: DateText
    expected_arrival: DateText
    packages: list[PackageIn] = Field(default_factory=list)
    lines: list[AsnLineIn]

    def data(self) -> dict:
        """The input of erp.shipping.service.save_asn."""
        return self.model_dump()


class AsnUpdate(AsnIn):
    version: int = Field(description="The ship notice's `version` as read: a changed one is refused with 409")
    reason: str | None = Field(None, max_length=500, description="Why it changes; required once it was submitted")

    def data(self) -> dict:
        return self.model_dump(exclude={"version", "reason"})


class SubmitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int
    acknowledge_warnings: bool = Field(False, description="Ship despite the warnings (a short shelf life)")


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int
    reason: str = Field(max_length=500, examples=["Truck cancelled"])


class FromOrdersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    po_ids: list[uuid.UUID] = Field(min_length=1, max_length=100, description="The supplier's purchase orders")


class AsnQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: str | None = Field(None, description="Comma-separated statuses, such as submitted,in_transit")
    limit: int = Field(50, ge=1, le=200, description="Rows, by expected arrival")


class AsnOut(BaseModel):
    id: uuid.UUID
    number: str = Field(examples=["ASN-2026-000042"])
    status: str
    supplier_id: uuid.UUID
    ship_to_site_id: uuid.UUID
    ship_from_site_id: uuid.UUID | None
    carrier: str | None
    tracking_number: str | None
    seal_number: str | None = Field(description="The seal the supplier gave; checked on receipt")
    ship_date: date
    expected_arrival: date
    revision: int
    version: int = Field(description="Send it back with a change: a changed ship notice is refused with 409")
    submitted_at: datetime | None
    created_at: datetime

    @classmethod
    def of(cls, asn) -> AsnOut:
        return cls(**{name: getattr(asn, name) for name in cls.model_fields})


class AsnList(BaseModel):
    items: list[AsnOut]


class PackageOut(BaseModel):
    sscc: str
    level: str
    parent: str | None = Field(description="The pallet's SSCC, for a case on a pallet")


class AsnLineOut(BaseModel):
    line_no: int
    purchase_order_id: uuid.UUID
    purchase_order_number: str
    purchase_order_line_id: uuid.UUID
    purchase_order_line_no: int
    item_id: uuid.UUID
    part_number: str
    udi_di: str | None = Field(description="The item's UDI-DI as shipped (GTIN-14 for GS1)")
    package: str | None = Field(description="The SSCC of its package")
    quantity: Decimal
    uom: str
    lot: str | None
    production_date: date | None
    expiry_date: date | None
    serials: list[str]


class RevisionOut(BaseModel):
    revision: int = Field(description="The revision this content was, before the change")
    reason: str
    created_at: datetime


class WarningOut(BaseModel):
    field: str = Field(examples=["lines.0.expiry_date"])
    message: str = Field(description="In the caller's language")


class AsnDetailOut(AsnOut):
    packages: list[PackageOut]
    lines: list[AsnLineOut]
    revisions: list[RevisionOut] = Field(description="Earlier revisions, newest first")
    warnings: list[WarningOut] = Field(
        default_factory=list, description="After a save or submit: what to acknowledge (a short shelf life)"
    )

    @classmethod
    def of(cls, detail, warnings: list[WarningOut] | None = None) -> AsnDetailOut:
        by_id = {p.id: p.sscc for p in detail.packages}
        lines = []
        for line in detail.lines:
            order, item = detail.orders[line.purchase_order_id], detail.items[line.item_id]
            po_line = detail.po_lines[line.purchase_order_line_id]
            lines.append(
                AsnLineOut(
                    line_no=line.line_no,
                    purchase_order_id=order.id,
                    purchase_order_number=order.number,
                    purchase_order_line_id=po_line.id,
                    purchase_order_line_no=po_line.line_no,
                    item_id=item.id,
                    part_number=item.part_number,
                    udi_di=line.udi_di,
                    package=by_id.get(line.package_id),
                    quantity=Decimal(fields.plain(line.quantity)),
                    uom=po_line.uom,
                    lot=line.lot,
                    production_date=line.production_date,
                    expiry_date=line.expiry_date,
                    serials=detail.serials.get(line.id, []),
                )
            )
        return cls(
            **AsnOut.of(detail.asn).model_dump(),
            packages=[PackageOut(sscc=p.sscc, level=p.level, parent=by_id.get(p.parent_id)) for p in detail.packages],
            lines=lines,
            revisions=[RevisionOut(revision=r.revision, reason=r.reason, created_at=r.created_at) for r in detail.revisions],
            warnings=warnings or [],
        )


class DraftLineOut(BaseModel):
    purchase_order_line_id: uuid.UUID
    quantity: Decimal = Field(description="What is left to ship of the line")


class AsnDraftOut(BaseModel):
    """The input for "ship everything open", to complete (dates, packages, lots,
    serials) and send to POST /asns; nothing is saved."""

    ship_to_site_id: uuid.UUID | None
    packages: list[PackageIn]
    lines: list[DraftLineOut]
