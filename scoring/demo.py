"""Scorecard data for the demo tenant (`make demo`), made after erp's demo seed
(erp.demo.seed) through the domains' own services, as people would make it: the buyer
issues an order to Acme Polymers, Acme accepts it and ships each line on its own ship
notice, the warehouse receives each by scanning its case, quality inspects the lot of
sterile infusion sets, then the scorecards are recomputed.

All of it is placed in the last complete month, the period the scorecard pages open on
(so the demo shows figures on first open, and the month stays open to disputes for
`dispute_days` after it ends): the services stamp their own times (now), so the seed
then moves those timestamps back with direct UPDATEs - the order's issue and
acknowledgement, the lines' promised dates, the ship notices' dates, the receipts'
arrival and the inspection's completion. That is acceptable in a demo seed only; the
audit trail records the UPDATEs like any other change.

Acme's four deliveries: three on time (one a day early, within the window), one three
days after its promised date. Demo walk (README): sales@acme-polymers.example opens
*Scorecard*, On-time delivery 75 %, "See the transactions", disputes the late line;
buyer@demo.example opens *Scorecards* → Disputes, accepts it with a reason; the
score goes up (on-time 100 %).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import sqlalchemy as sa
from biip.checksums import gs1_standard_check_digit

from auth import service as auth_service
from erp.items.models import Item
from erp.purchasing import confirmation
from erp.purchasing.models import PurchaseOrder, PurchaseOrderLine
from erp.receiving import inspection as inspections
from erp.receiving import service as receiving
from erp.receiving.models import Inspection, Receipt
from erp.shipping import service as shipping
from erp.shipping.models import Asn
from kernel.clock import utcnow
from kernel.uow import Actor
from scoring import service as scoring
from tenants import service as tenants
from tenants.errors import TenantNotFound
from tenants.models import Organisation

DEMO_TENANT = "demo"
BUYER = "buyer@demo.example"
SUPPLIER = "sales@acme-polymers.example"
WAREHOUSE = "warehouse@demo.example"
QUALITY = "quality@demo.example"
REASON = "demo seed: scorecard transactions, backdated to the last complete month"


@dataclass(frozen=True)
class Delivery:
    part_number: str
    quantity: str
    due_day: int  # day of the month the line is promised for
    late_days: int  # arrival after the promised date (negative: early)


DELIVERIES = (
    Delivery("PC-1001", "1000", 4, 0),
    Delivery("PC-1001", "1000", 11, 3),  # the late one: three days after its promised date
    Delivery("TB-2040", "4000", 18, -1),  # a day early: within the on-time window
    Delivery("FD-9000", "200", 22, 0),  # sterile infusion sets: inspected on receipt
)


def demo_month(today: date) -> tuple[date, date]:
    """The last complete month: (first day, first day of the next)."""
    end = today.replace(day=1)
    return (end - timedelta(days=1)).replace(day=1), end


def seed_demo_scores(uow) -> bool:
    """Make the demo tenant's scorecard transactions and recompute its scorecards. Takes
    any unit of work (it sets the demo tenant and each person's context itself) and
    does not commit. Returns False, changing nothing, when Acme already has receipts
    (seeded before) or there is no demo tenant."""
    uow.switch_tenant(None, actor=Actor.system("demo"))
    try:
        tenant_id = tenants.tenant_id_by_slug(uow, slug=DEMO_TENANT)
    except TenantNotFound:
        return False
    people = {email: _actor(uow, email, tenant_id) for email in (BUYER, SUPPLIER, WAREHOUSE, QUALITY)}
    uow.switch_tenant(tenant_id, actor=Actor.system("demo"))
    uow.reason = REASON
    acme = uow.scalar(sa.select(Organisation).where(Organisation.code == "ACME", Organisation.kind == "supplier"))
    if acme is None or uow.scalar(sa.select(sa.func.count()).select_from(Receipt).where(Receipt.supplier_id == acme.id)):
        return False
    warehouse = next(s for s in tenants.own_sites(uow) if s.kind == "warehouse")
    items = {i.part_number: i for i in uow.session.scalars(sa.select(Item))}
    start, _ = demo_month(utcnow().date())
    today = utcnow().date()

    # The buyer orders; Acme accepts every line.
    _as(uow, tenant_id, people[BUYER])
    order = confirmation.create_purchase_order(
        uow,
        people[BUYER],
        supplier_id=acme.id,
        currency="EUR",
        lines=[
            {
                "item_id": items[d.part_number].id,
                "quantity": d.quantity,
                "unit_price": "1.80",
                "requested_date": today + timedelta(days=30),
                "ship_to_site_id": warehouse.id,
            }
            for d in DELIVERIES
        ],
    )
    confirmation.issue_purchase_order(uow, people[BUYER], po_id=order.id, version=order.version)
    _as(uow, tenant_id, people[SUPPLIER])
    detail = confirmation.get_purchase_order_detail(uow, po_id=order.id)
    line_ids = [d.line.id for d in detail.lines]
    confirmation.respond_to_purchase_order(
        uow,
        people[SUPPLIER],
        po_id=order.id,
        revision=detail.order.revision,
        version=detail.order.version,
        responses=[{"line_id": i, "action": "accept"} for i in line_ids],
    )

    # Acme ships each line in one case on its own ship notice; the warehouse scans it in.
    shipped = []
    for delivery, line_id in zip(DELIVERIES, line_ids, strict=True):
        _as(uow, tenant_id, people[SUPPLIER])
        case = _sscc()
        item = items[delivery.part_number]
        line = {"purchase_order_line_id": line_id, "package": case, "quantity": delivery.quantity}
        if item.label_lot or item.label_expiry_date:
            line |= {"lot": f"DEMO-{delivery.due_day:02d}", "expiry_date": today + timedelta(days=700)}
        saved = shipping.save_asn(
            uow,
            people[SUPPLIER],
            data={
                "ship_to_site_id": warehouse.id,
                "carrier": "DB Schenker",
                "tracking_number": f"DBS-{case[-6:]}",
                "ship_date": today,
                "expected_arrival": today + timedelta(days=2),
                "packages": [{"sscc": case, "level": "case"}],
                "lines": [line],
            },
        )
        shipping.submit_asn(uow, people[SUPPLIER], asn_id=saved.asn.id, version=saved.asn.version, acknowledge_warnings=True)
        _as(uow, tenant_id, people[WAREHOUSE])
        receipt = receiving.start_receipt(uow, people[WAREHOUSE], sscc=case)
        receiving.scan(uow, people[WAREHOUSE], receipt_id=receipt.id, text=case)
        receiving.close_receipt(uow, people[WAREHOUSE], receipt_id=receipt.id)
        shipped.append((delivery, line_id, saved.asn.id, receipt.id))

    # Quality inspects what needs it (the sterile infusion sets): all accepted.
    _as(uow, tenant_id, people[QUALITY])
    for _, _, _, receipt_id in shipped:
        for found in uow.session.scalars(sa.select(Inspection).where(Inspection.receipt_id == receipt_id)):
            inspections.record_inspection(
                uow,
                people[QUALITY],
                inspection_id=found.id,
                accepted_quantity=str(found.received_quantity),
                rejected_quantity="0",
                note="Demo: sample of 32 checked against the drawing, no defects.",
            )

    # Back to the last complete month (demo only: the services stamped "now").
    uow.switch_tenant(tenant_id, actor=Actor.system("demo"))
    uow.reason = REASON
    issued = _at(start, 9)
    uow.execute(
        sa.update(PurchaseOrder)
        .where(PurchaseOrder.id == order.id)
        .values(order_date=start, issued_at=issued, acknowledged_at=issued + timedelta(hours=20))
    )
    for delivery, line_id, asn_id, receipt_id in shipped:
        due = start + timedelta(days=delivery.due_day - 1)
        arrived = due + timedelta(days=delivery.late_days)
        uow.execute(
            sa.update(PurchaseOrderLine).where(PurchaseOrderLine.id == line_id).values(requested_date=due, promised_date=due)
        )
        uow.execute(
            sa.update(Asn)
            .where(Asn.id == asn_id)
            .values(
                ship_date=arrived - timedelta(days=2),
                expected_arrival=arrived,
                submitted_at=_at(arrived - timedelta(days=2), 8),
            )
        )
        uow.execute(
            sa.update(Receipt).where(Receipt.id == receipt_id).values(created_at=_at(arrived, 9, 30), closed_at=_at(arrived, 11))
        )
        uow.execute(
            sa.update(Inspection)
            .where(Inspection.receipt_id == receipt_id)
            .values(created_at=_at(arrived, 11), completed_at=_at(arrived + timedelta(days=1), 14))
        )
    uow.session.expire_all()
    scoring.recompute(uow, Actor.system("demo"), periods=scoring.default_periods(today))
    return True


def _actor(uow, email: str, tenant_id: uuid.UUID) -> Actor:
    user = auth_service.find_user_by_email(uow, email=email)
    uow.switch_tenant(None, actor=Actor(user_id=user.id, name=user.email))
    return tenants.actor_in(uow, user, tenant_id)


def _as(uow, tenant_id: uuid.UUID, actor: Actor) -> None:
    """Act as `actor` from here on (a supplier's context limits it to its own rows)."""
    uow.switch_tenant(tenant_id, actor=actor)
    uow.reason = REASON


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=UTC)


def _sscc() -> str:
    """A demo SSCC: extension 0, GS1's example company prefix 9506000, a random serial."""
    body = f"09506000{uuid.uuid4().int % 10**9:09d}"
    return body + str(gs1_standard_check_digit(body))
