"""Traceability: what went into what, where it went, and recalls.

The genealogy is lot to lot (and, where serialised, serial to serial): a production run
makes a finished lot of the tenant's own (lot.supplier_id null) from component lots it
consumed, each consumption a `genealogy_link`. Sub-assemblies are finished lots that are
consumed again, so a trace is a walk over these links to any depth (recursive SQL on
the link indexes). Shipments to customers say where finished lots and serials went.
Receipts, ship notices and purchase orders (erp.receiving, erp.shipping, erp.purchasing)
say where component lots came from.

A trace run is kept as a snapshot (who, why, the result as it was then); a recall opens
from one, its scope the affected units, reviewable line by line with reasons.
Everything here is the tenant's: suppliers see recall notices addressed to them only.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy import orm
from sqlalchemy.dialects.postgresql import JSONB

from kernel.models import Base, TenantOwned, Timestamps, tenant_fk, within

REFERENCE_MAX = 60  # an MES work order, a WMS delivery number: the idempotency key of a record


class Customer(TenantOwned, Timestamps, Base):
    """Who finished devices are shipped to (a hospital, a distributor). Recall notices go
    to the email, in the customer's language."""

    __tablename__ = "customer"
    __table_args__ = (sa.UniqueConstraint("tenant_id", "code"),)

    code: orm.Mapped[str] = orm.mapped_column(sa.String(40))
    name: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    email: orm.Mapped[str | None] = orm.mapped_column(sa.String(254))
    address: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    country: orm.Mapped[str | None] = orm.mapped_column(sa.String(2))
    locale: orm.Mapped[str] = orm.mapped_column(sa.String(10), server_default="en")


class ProductionRun(TenantOwned, Timestamps, Base):
    """One production record: a quantity of a finished lot made (its serials in the links
    and in stock), as a screen, a CSV row group or an MES sends it. `reference` (the work
    order) makes the record idempotent."""

    __tablename__ = "production_run"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "reference"),
        tenant_fk(["item_id"], "item"),
        tenant_fk(["lot_id"], "lot"),
        tenant_fk(["location_id"], "location"),
        sa.Index("ix_production_run_lot", "tenant_id", "lot_id"),
        sa.CheckConstraint("quantity > 0", name="quantity"),
    )

    reference: orm.Mapped[str] = orm.mapped_column(sa.String(REFERENCE_MAX))
    item_id: orm.Mapped[uuid.UUID]
    lot_id: orm.Mapped[uuid.UUID]
    quantity: orm.Mapped[Decimal] = orm.mapped_column(sa.Numeric(18, 4))
    location_id: orm.Mapped[uuid.UUID | None]
    produced_at: orm.Mapped[datetime]
    recorded_by: orm.Mapped[uuid.UUID | None]
    source: orm.Mapped[str] = orm.mapped_column(sa.String(10), server_default="screen")  # screen, csv, api, epcis


class GenealogyLink(TenantOwned, Base):
    """A component (lot, serial) consumed into a finished lot (and serial, when the
    finished unit is serialised and the component went into that one unit)."""

    __tablename__ = "genealogy_link"
    __table_args__ = (
        tenant_fk(["production_run_id"], "production_run", ondelete="CASCADE"),
        tenant_fk(["output_lot_id"], "lot"),
        tenant_fk(["input_item_id"], "item"),
        tenant_fk(["input_lot_id"], "lot"),
        # Forward (where did this lot go) and backward (what is in this lot) walks.
        sa.Index("ix_genealogy_link_input", "tenant_id", "input_lot_id", "output_lot_id"),
        sa.Index("ix_genealogy_link_output", "tenant_id", "output_lot_id", "input_lot_id"),
        sa.Index("ix_genealogy_link_input_serial", "tenant_id", "input_item_id", "input_serial"),
        sa.Index("ix_genealogy_link_output_serial", "tenant_id", "output_lot_id", "output_serial"),
        sa.Index("ix_genealogy_link_run", "tenant_id", "production_run_id"),
        sa.CheckConstraint("quantity > 0", name="quantity"),
        sa.CheckConstraint("input_lot_id <> output_lot_id", name="not_itself"),
    )

    production_run_id: orm.Mapped[uuid.UUID]
    output_lot_id: orm.Mapped[uuid.UUID]
    output_serial: orm.Mapped[str | None] = orm.mapped_column(sa.String(20))
    input_item_id: orm.Mapped[uuid.UUID]
    input_lot_id: orm.Mapped[uuid.UUID]
    input_serial: orm.Mapped[str | None] = orm.mapped_column(sa.String(20))
    quantity: orm.Mapped[Decimal] = orm.mapped_column(sa.Numeric(18, 4))


class CustomerShipment(TenantOwned, Timestamps, Base):
    """Finished devices shipped to a customer, as a WMS/TMS/CRM sends it; `reference` (the
    delivery number) makes it idempotent."""

    __tablename__ = "customer_shipment"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "reference"),
        tenant_fk(["customer_id"], "customer"),
        sa.Index("ix_customer_shipment_customer", "tenant_id", "customer_id", "shipped_at"),
    )

    reference: orm.Mapped[str] = orm.mapped_column(sa.String(REFERENCE_MAX))
    customer_id: orm.Mapped[uuid.UUID]
    ship_to_address: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    shipped_at: orm.Mapped[datetime]
    recorded_by: orm.Mapped[uuid.UUID | None]
    source: orm.Mapped[str] = orm.mapped_column(sa.String(10), server_default="screen")


class CustomerShipmentLine(TenantOwned, Base):
    __tablename__ = "customer_shipment_line"
    __table_args__ = (
        tenant_fk(["shipment_id"], "customer_shipment", ondelete="CASCADE"),
        tenant_fk(["item_id"], "item"),
        tenant_fk(["lot_id"], "lot"),
        sa.Index("ix_customer_shipment_line_shipment", "tenant_id", "shipment_id"),
        sa.Index("ix_customer_shipment_line_lot", "tenant_id", "lot_id"),
        sa.Index("ix_customer_shipment_line_serial", "tenant_id", "item_id", "serial"),
        sa.CheckConstraint("quantity > 0", name="quantity"),
    )

    shipment_id: orm.Mapped[uuid.UUID]
    item_id: orm.Mapped[uuid.UUID]
    lot_id: orm.Mapped[uuid.UUID]
    serial: orm.Mapped[str | None] = orm.mapped_column(sa.String(20))
    quantity: orm.Mapped[Decimal] = orm.mapped_column(sa.Numeric(18, 4))


START_KINDS = ("udi", "gtin_lot", "serial", "sscc", "lot", "supplier", "purchase_order", "asn")


class TraceSnapshot(TenantOwned, Base):
    """A trace as it was run: from what, by whom, why, and its result (the nodes and
    edges, JSON) at that moment. Insert-only."""

    __tablename__ = "trace_snapshot"
    __table_args__ = (
        sa.Index("ix_trace_snapshot_run_at", "tenant_id", "run_at"),
        sa.CheckConstraint(within("start_kind", START_KINDS), name="start_kind"),
    )

    start_code: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    start_kind: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    reason: orm.Mapped[str] = orm.mapped_column(sa.Text)
    result: orm.Mapped[dict] = orm.mapped_column(JSONB)
    node_count: orm.Mapped[int]
    run_by: orm.Mapped[uuid.UUID | None]
    run_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())


RECALL_STATUSES = ("open", "closed")
CLASSIFICATIONS = ("class_i", "class_ii", "class_iii")
# Where an affected unit is, and how far the recall has got with it.
SCOPE_PLACES = ("stock", "in_transit", "customer", "consumed", "unknown")
SCOPE_STATES = ("to_locate", "located", "held", "returned", "destroyed")
ACTION_KINDS = ("hold", "notify_supplier", "notify_customer", "return", "destroy", "scope_change", "located", "note")


class Recall(TenantOwned, Timestamps, Base):
    """A recall case, or a mock recall (practice: changes no stock, timed from start to
    "all located"). Closing it is signed."""

    __tablename__ = "recall"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "number"),
        tenant_fk(["trace_snapshot_id"], "trace_snapshot"),
        sa.Index("ix_recall_status", "tenant_id", "status", "created_at"),
        sa.CheckConstraint(within("status", RECALL_STATUSES), name="status"),
        sa.CheckConstraint(within("classification", CLASSIFICATIONS), name="classification"),
    )

    number: orm.Mapped[str] = orm.mapped_column(sa.String(30))
    mock: orm.Mapped[bool] = orm.mapped_column(server_default=sa.false())
    title: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    reason: orm.Mapped[str] = orm.mapped_column(sa.Text)
    classification: orm.Mapped[str] = orm.mapped_column(sa.String(10))
    status: orm.Mapped[str] = orm.mapped_column(sa.String(10), server_default="open")
    trace_snapshot_id: orm.Mapped[uuid.UUID | None]
    opened_by: orm.Mapped[uuid.UUID | None]
    all_located_at: orm.Mapped[datetime | None]
    closed_at: orm.Mapped[datetime | None]
    closed_by: orm.Mapped[uuid.UUID | None]
    signature_id: orm.Mapped[uuid.UUID | None]
    version: orm.Mapped[int] = orm.mapped_column(server_default="1")

    __mapper_args__ = {"version_id_col": version}


class RecallScope(TenantOwned, Timestamps, Base):
    """One affected unit of a recall: a lot (a quantity) or a serial, where it is, and how
    far the recall has got with it. Lines taken out of scope stay, with the reason."""

    __tablename__ = "recall_scope"
    __table_args__ = (
        tenant_fk(["recall_id"], "recall", ondelete="CASCADE"),
        tenant_fk(["item_id"], "item"),
        tenant_fk(["lot_id"], "lot"),
        tenant_fk(["supplier_id"], "organisation"),
        tenant_fk(["customer_id"], "customer"),
        tenant_fk(["location_id"], "location"),
        sa.Index("ix_recall_scope_recall", "tenant_id", "recall_id"),
        sa.CheckConstraint(within("place", SCOPE_PLACES), name="place"),
        sa.CheckConstraint(within("state", SCOPE_STATES), name="state"),
        sa.CheckConstraint("quantity >= 0", name="quantity"),
    )

    recall_id: orm.Mapped[uuid.UUID]
    item_id: orm.Mapped[uuid.UUID]
    lot_id: orm.Mapped[uuid.UUID | None]
    serial: orm.Mapped[str | None] = orm.mapped_column(sa.String(20))
    quantity: orm.Mapped[Decimal] = orm.mapped_column(sa.Numeric(18, 4))
    supplier_id: orm.Mapped[uuid.UUID | None]  # the component's maker, to notify
    place: orm.Mapped[str] = orm.mapped_column(sa.String(12), server_default="unknown")
    location_id: orm.Mapped[uuid.UUID | None]
    customer_id: orm.Mapped[uuid.UUID | None]
    state: orm.Mapped[str] = orm.mapped_column(sa.String(12), server_default="to_locate")
    included: orm.Mapped[bool] = orm.mapped_column(server_default=sa.true())
    reason: orm.Mapped[str | None] = orm.mapped_column(sa.Text)  # why added or taken out by hand
    returned_quantity: orm.Mapped[Decimal] = orm.mapped_column(sa.Numeric(18, 4), server_default="0")
    destroyed_quantity: orm.Mapped[Decimal] = orm.mapped_column(sa.Numeric(18, 4), server_default="0")


class RecallAction(TenantOwned, Base):
    """The recall's timeline: every hold, notice, return, destruction and scope change,
    who and when. Insert-only."""

    __tablename__ = "recall_action"
    __table_args__ = (
        tenant_fk(["recall_id"], "recall", ondelete="CASCADE"),
        tenant_fk(["scope_id"], "recall_scope"),
        tenant_fk(["supplier_id"], "organisation"),
        tenant_fk(["customer_id"], "customer"),
        sa.Index("ix_recall_action_recall", "tenant_id", "recall_id", "done_at"),
        sa.CheckConstraint(within("kind", ACTION_KINDS), name="kind"),
    )

    recall_id: orm.Mapped[uuid.UUID]
    kind: orm.Mapped[str] = orm.mapped_column(sa.String(20))
    scope_id: orm.Mapped[uuid.UUID | None]
    supplier_id: orm.Mapped[uuid.UUID | None]
    customer_id: orm.Mapped[uuid.UUID | None]
    quantity: orm.Mapped[Decimal | None] = orm.mapped_column(sa.Numeric(18, 4))
    note: orm.Mapped[str | None] = orm.mapped_column(sa.Text)
    done_by: orm.Mapped[uuid.UUID | None]
    done_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())


class RecallNotice(TenantOwned, Base):
    """A recall notice to a supplier whose lots are in scope, read in its portal (the
    supplier policy shows each supplier its own notices only) and acknowledged there."""

    __tablename__ = "recall_notice"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "recall_id", "supplier_id"),
        tenant_fk(["recall_id"], "recall", ondelete="CASCADE"),
        tenant_fk(["supplier_id"], "organisation"),
        sa.Index("ix_recall_notice_supplier", "tenant_id", "supplier_id", "sent_at"),
    )

    recall_id: orm.Mapped[uuid.UUID]
    supplier_id: orm.Mapped[uuid.UUID]
    message: orm.Mapped[str] = orm.mapped_column(sa.Text)
    lots: orm.Mapped[list] = orm.mapped_column(JSONB, server_default="[]")  # item, lot, serials concerned
    sent_by: orm.Mapped[uuid.UUID | None]
    sent_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())
    acknowledged_at: orm.Mapped[datetime | None]
    acknowledged_by: orm.Mapped[uuid.UUID | None]
    response: orm.Mapped[str | None] = orm.mapped_column(sa.Text)


class EpcisEvent(TenantOwned, Base):
    """An EPCIS 2.0 event captured from a partner (`POST /api/v1/epcis/capture`, the CLI),
    kept as received; those that map onto our model (production, shipping, sensor
    readings) were also recorded there. eventID makes capture idempotent."""

    __tablename__ = "epcis_event"
    __table_args__ = (
        sa.UniqueConstraint("tenant_id", "event_id"),
        sa.Index("ix_epcis_event_time", "tenant_id", "event_time"),
    )

    event_id: orm.Mapped[str] = orm.mapped_column(sa.String(200))
    event_type: orm.Mapped[str] = orm.mapped_column(sa.String(40))
    event_time: orm.Mapped[datetime]
    biz_step: orm.Mapped[str | None] = orm.mapped_column(sa.String(200))
    document: orm.Mapped[dict] = orm.mapped_column(JSONB)
    capture_id: orm.Mapped[uuid.UUID]  # one capture (document) of several events
    captured_by: orm.Mapped[uuid.UUID | None]
    captured_at: orm.Mapped[datetime] = orm.mapped_column(server_default=sa.func.now())
