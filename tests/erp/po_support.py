"""Purchase orders made through the services, for the confirmation tests."""

from __future__ import annotations

from datetime import timedelta

from erp.purchasing import confirmation as po
from kernel.clock import utcnow
from tests.factories import actor_in


def soon(days: int = 30):
    return utcnow().date() + timedelta(days=days)


def actors(tx, world) -> dict:
    with tx.uow() as lookup:
        return {who: actor_in(lookup, world, who) for who in ("buyer", "viewer", "supplier1", "supplier2")}


def order_lines(world, count: int = 4, *, quantity: str = "100", price: str = "2.50") -> list[dict]:
    item = world.items[0]
    return [{"item_id": item.id, "quantity": quantity, "unit_price": price, "requested_date": soon(30 + n)} for n in range(count)]


def issued_order(tx, world, who: dict, *, count: int = 4, supplier: int = 0, issue: bool = True):
    """A committed order of the world's supplier `supplier`, issued unless told not to;
    returns its id."""
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        order = po.create_purchase_order(
            uow, who["buyer"], supplier_id=world.suppliers[supplier].id, currency="EUR", lines=order_lines(world, count)
        )
        if issue:
            po.issue_purchase_order(uow, who["buyer"], po_id=order.id, version=order.version)
        uow.commit()
        return order.id


def snapshot(tx, world, po_id) -> dict:
    """What a test compares before and after: the order, its lines, schedules and answers."""
    with tx.uow(tenant_id=world.tenant_id) as uow:
        detail = po.get_purchase_order_detail(uow, po_id=po_id)
        order = detail.order
        return {
            "order": (order.status, order.version, order.revision, order.acknowledged_at),
            "lines": [
                (
                    d.line.status,
                    d.line.quantity,
                    d.line.unit_price,
                    d.line.promised_date,
                    [(s.quantity, s.delivery_date) for s in d.schedule],
                )
                for d in detail.lines
            ],
            "responses": sorted((str(r.id), r.decision) for d in detail.lines for r in d.responses),
        }
