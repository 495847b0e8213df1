"""The audit trail of one purchase order, as its page shows it to those who may read it."""

from __future__ import annotations

import pytest

from erp.purchasing import confirmation as po
from kernel.errors import Forbidden
from tests.erp.po_support import actors, soon
from tests.factories import actor_in


@pytest.fixture
def who(tx, world):
    found = actors(tx, world)
    with tx.uow() as lookup:
        found["quality"] = actor_in(lookup, world, "quality")
    return found


def test_the_trail_holds_the_order_its_lines_answers_and_replaced_schedules(tx, world, who):
    item = world.items[0]
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        line = {
            "item_id": item.id,
            "quantity": "100",
            "unit_price": "2",
            "requested_date": soon(40),
            "schedule": [{"quantity": "60", "date": soon(35)}, {"quantity": "40", "date": soon(40)}],
        }
        order = po.create_purchase_order(uow, who["buyer"], supplier_id=world.suppliers[0].id, currency="EUR", lines=[line])
        po.issue_purchase_order(uow, who["buyer"], po_id=order.id, version=order.version)
        uow.commit()
        po_id = order.id
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier1"]) as uow:
        detail = po.get_purchase_order_detail(uow, po_id=po_id)
        old_schedule = {str(s.id) for s in detail.lines[0].schedule}
        split = [{"quantity": "50", "date": soon(45).isoformat()}, {"quantity": "50", "date": soon(50).isoformat()}]
        [answer] = po.respond_to_purchase_order(
            uow,
            who["supplier1"],
            po_id=po_id,
            revision=detail.order.revision,
            version=detail.order.version,
            responses=[{"line_id": detail.lines[0].line.id, "action": "propose", "schedule": split}],
        )
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        version = po.get_purchase_order_detail(uow, po_id=po_id).order.version
        po.decide_on_response(uow, who["buyer"], response_id=answer.id, accept=True, version=version)
        uow.commit()

    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        detail = po.get_purchase_order_detail(uow, po_id=po_id)
        trail = po.purchase_order_trail(uow, detail)
    seen = {(e.table_name, e.action) for e in trail}
    assert {("purchase_order", "I"), ("purchase_order", "U"), ("purchase_order_line", "I"), ("po_line_response", "I")} <= seen
    deleted = {e.row_id for e in trail if e.table_name == "purchase_order_schedule" and e.action == "D"}
    assert deleted == old_schedule  # the replaced schedule rows, though gone from the order
    assert [e.occurred_at for e in trail] == sorted((e.occurred_at for e in trail), reverse=True)
    assert all(e.row_id != str(p.id) for e in trail for p in world.purchase_orders)  # nothing of other orders

    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow, pytest.raises(Forbidden):
        po.purchase_order_trail(uow, po.get_purchase_order_detail(uow, po_id=po_id))
