"""API shapes of production records, customers and customer shipments (as an MES, a WMS
or a CRM sends them). erp.traceability.service checks the content; these models only
carry it."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from erp.inventory.service import plain_quantity

Amount = Decimal | str  # a decimal string (or JSON number); the service checks it
Moment = datetime | str  # ISO 8601 with its zone; the service says what is wrong with one that is not


class CustomerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(max_length=40, description="The customer's code in your CRM or ERP: the key of the upsert",
                      examples=["HOSP-01"])
    name: str = Field(max_length=200, examples=["City Hospital"])
    email: str | None = Field(None, max_length=254, description="Where recall notices go")
    address: str | None = Field(None, max_length=1000)
    country: str | None = Field(None, max_length=2, description="ISO 3166 alpha-2", examples=["CN"])
    locale: str = Field("en", description='The language of notices: "en" or "zh_Hans_CN"')


class CustomerOut(BaseModel):
    id: uuid.UUID
    code: str
    name: str
    email: str | None
    address: str | None
    country: str | None
    locale: str
    created_at: datetime

    @classmethod
    def of(cls, c) -> CustomerOut:
        return cls(id=c.id, code=c.code, name=c.name, email=c.email, address=c.address, country=c.country,
                   locale=c.locale, created_at=c.created_at)


class CustomerList(BaseModel):
    items: list[CustomerOut]
    next_cursor: str | None = Field(None, description="Pass as `cursor` for the next page; null on the last")


class ListQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: str | None = Field(None, max_length=100, description="The beginning of a reference, code or lot number")
    cursor: str | None = Field(None, description="next_cursor of the previous page")
    limit: int = Field(50, ge=1, le=200)


class RunQuery(ListQuery):
    lot_id: uuid.UUID | None = Field(None, description="Runs that made this lot")


class ShipmentQuery(ListQuery):
    customer_id: uuid.UUID | None = None
    lot_id: uuid.UUID | None = Field(None, description="Shipments carrying this lot")


class ComponentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: uuid.UUID | None = Field(None, description="The component item; or give `item`")
    item: str | None = Field(None, max_length=60, description="The component's part number or UDI-DI (GTIN)")
    lot: str | None = Field(None, max_length=20, description="The component lot's number (may be left out with a serial)")
    lot_id: uuid.UUID | None = None
    supplier_id: uuid.UUID | None = Field(None, description="The lot's maker, when several makers use the lot number")
    serial: str | None = Field(None, max_length=20, description="One serialised unit consumed (quantity 1)")
    quantity: Amount = Field("1", description="In the item's unit of measure")
    output_serial: str | None = Field(None, max_length=20, description="The finished serial it went into: one of `serials`")


class ProductionRunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: str = Field(max_length=60, description="The work order: the same reference and content again returns the "
                           "first record; other content under it is refused with 409", examples=["WO-2026-0001"])
    item_id: uuid.UUID | None = Field(None, description="The finished item; or give `item`")
    item: str | None = Field(None, max_length=60, description="The finished item's part number or UDI-DI (GTIN)")
    lot: str = Field(max_length=20, description="The finished lot: made when new, added to when it is yours already",
                     examples=["FL-2026-01"])
    quantity: Amount
    produced_at: Moment = Field(description="ISO 8601 with a zone, not in the future", examples=["2026-03-01T14:30:00+08:00"])
    expiry_date: date | None = None
    serials: list[str] = Field(default_factory=list, description="The finished units' serials, one per unit")
    location_id: uuid.UUID | None = Field(None, description="Where the finished units go (default: the production location)")
    components: list[ComponentIn] = Field(description="What was consumed: released stock of existing lots")


class ComponentOut(BaseModel):
    item_id: uuid.UUID
    part_number: str
    lot_id: uuid.UUID
    lot: str
    supplier_id: uuid.UUID | None
    serial: str | None
    quantity: str
    output_serial: str | None


class ProductionRunOut(BaseModel):
    id: uuid.UUID
    reference: str
    item_id: uuid.UUID
    part_number: str
    lot_id: uuid.UUID
    lot: str
    quantity: str
    produced_at: datetime
    location_id: uuid.UUID | None
    source: str
    created_at: datetime
    serials: list[str]
    components: list[ComponentOut]

    @classmethod
    def of(cls, d) -> ProductionRunOut:
        return cls(
            id=d.run.id, reference=d.run.reference, item_id=d.item.id, part_number=d.item.part_number, lot_id=d.lot.id,
            lot=d.lot.number, quantity=plain_quantity(d.run.quantity), produced_at=d.run.produced_at,
            location_id=d.run.location_id, source=d.run.source, created_at=d.run.created_at, serials=d.serials,
            components=[
                ComponentOut(
                    item_id=c.item.id, part_number=c.item.part_number, lot_id=c.lot.id, lot=c.lot.number,
                    supplier_id=c.lot.supplier_id, serial=c.link.input_serial, quantity=plain_quantity(c.link.quantity),
                    output_serial=c.link.output_serial,
                )
                for c in d.components
            ],
        )


class ProductionRunSummary(BaseModel):
    id: uuid.UUID
    reference: str
    item_id: uuid.UUID
    part_number: str
    lot_id: uuid.UUID
    lot: str
    quantity: str
    produced_at: datetime
    source: str
    components: int = Field(description="How many component uses it records")

    @classmethod
    def of(cls, r) -> ProductionRunSummary:
        return cls(
            id=r.run.id, reference=r.run.reference, item_id=r.item.id, part_number=r.item.part_number, lot_id=r.lot.id,
            lot=r.lot.number, quantity=plain_quantity(r.run.quantity), produced_at=r.run.produced_at, source=r.run.source,
            components=r.components,
        )


class ProductionRunList(BaseModel):
    items: list[ProductionRunSummary]
    next_cursor: str | None = None


class ShippedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_id: uuid.UUID | None = Field(None, description="The item shipped; or give `item`")
    item: str | None = Field(None, max_length=60, description="Its part number or UDI-DI (GTIN)")
    lot: str | None = Field(None, max_length=20, description="The lot's number (may be left out with a serial)")
    lot_id: uuid.UUID | None = None
    serial: str | None = Field(None, max_length=20)
    quantity: Amount = "1"


class ShipmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reference: str = Field(max_length=60, description="The delivery number: idempotent as a production run's reference",
                           examples=["DN-2026-0001"])
    customer_id: uuid.UUID | None = Field(None, description="The customer; or give `customer` (its code)")
    customer: str | None = Field(None, max_length=40, description="The customer's code")
    ship_to_address: str | None = Field(None, max_length=1000, description="Default: the customer's address")
    shipped_at: Moment = Field(examples=["2026-03-05T09:00:00+08:00"])
    lines: list[ShippedIn]


class CustomerRef(BaseModel):
    id: uuid.UUID
    code: str
    name: str


class ShipmentLineOut(BaseModel):
    item_id: uuid.UUID
    part_number: str
    lot_id: uuid.UUID
    lot: str
    serial: str | None
    quantity: str


class ShipmentOut(BaseModel):
    id: uuid.UUID
    reference: str
    customer: CustomerRef
    ship_to_address: str | None
    shipped_at: datetime
    source: str
    created_at: datetime
    lines: list[ShipmentLineOut]

    @classmethod
    def of(cls, d) -> ShipmentOut:
        s = d.shipment
        return cls(
            id=s.id, reference=s.reference, customer=CustomerRef(id=d.customer.id, code=d.customer.code, name=d.customer.name),
            ship_to_address=s.ship_to_address, shipped_at=s.shipped_at, source=s.source, created_at=s.created_at,
            lines=[
                ShipmentLineOut(
                    item_id=r.item.id, part_number=r.item.part_number, lot_id=r.lot.id, lot=r.lot.number,
                    serial=r.line.serial, quantity=plain_quantity(r.line.quantity),
                )
                for r in d.lines
            ],
        )


class ShipmentSummary(BaseModel):
    id: uuid.UUID
    reference: str
    customer: CustomerRef
    shipped_at: datetime
    source: str
    lines: int
    quantity: str

    @classmethod
    def of(cls, r) -> ShipmentSummary:
        return cls(
            id=r.shipment.id, reference=r.shipment.reference,
            customer=CustomerRef(id=r.customer.id, code=r.customer.code, name=r.customer.name),
            shipped_at=r.shipment.shipped_at, source=r.shipment.source, lines=r.lines, quantity=plain_quantity(r.quantity),
        )


class ShipmentList(BaseModel):
    items: list[ShipmentSummary]
    next_cursor: str | None = None
