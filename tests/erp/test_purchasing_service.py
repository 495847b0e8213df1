"""Purchase order queries: keyset pages, totals, and what each side sees."""

from __future__ import annotations

import base64
import json
import uuid
from decimal import Decimal

import pytest

from erp.pagination import encode_cursor
from erp.purchasing.models import PurchaseOrder
from erp.purchasing.service import list_purchase_orders, purchase_order_summary
from kernel.errors import ValidationFailed
from tests.factories import actor_in, make_item, make_purchase_order


def test_pages_visit_every_order_once_newest_first(tx, world):
    # All made in one transaction: they share created_at, so only the id orders them.
    with tx.uow(tenant_id=world.tenant_id) as uow:
        item = make_item(uow)
        for _ in range(55):
            make_purchase_order(uow, supplier=world.suppliers[0], item=item)
        expected = 55 + len(world.purchase_orders)
        seen, cursor, pages = [], None, 0
        while True:
            page = list_purchase_orders(uow, after=cursor, limit=20)
            seen += page.items
            pages += 1
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    assert pages == 3
    assert len(seen) == expected == len({row.id for row in seen})
    keys = [(row.created_at, row.id) for row in seen]
    assert keys == sorted(keys, reverse=True)


def test_a_full_last_page_has_no_next_cursor(tx, world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        page = list_purchase_orders(uow, limit=len(world.purchase_orders))
    assert len(page.items) == len(world.purchase_orders) and page.next_cursor is None


def test_rows_carry_supplier_line_count_and_total(tx, world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        po = make_purchase_order(uow, supplier=world.suppliers[1], item=world.items[1], quantity="250", price="2.125")
        [row] = [r for r in list_purchase_orders(uow).items if r.id == po.id]
    assert row.supplier_name == world.suppliers[1].name
    assert row.line_count == 1 and row.total == Decimal("531.25")


def test_a_supplier_user_lists_only_its_own_orders(tx, world, other_world):
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, "supplier1")
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        rows = list_purchase_orders(uow).items
    assert {r.id for r in rows} == {world.purchase_orders[0].id}


def test_another_tenants_cursor_shows_nothing_of_it(tx, world, other_world):
    foreign = other_world.purchase_orders[0]
    with tx.uow(tenant_id=other_world.tenant_id) as uow:
        created_at = uow.session.get(PurchaseOrder, (other_world.tenant_id, foreign.id)).created_at
    with tx.uow(tenant_id=world.tenant_id) as uow:
        rows = list_purchase_orders(uow, after=encode_cursor(created_at, foreign.id)).items
    assert {r.id for r in rows} <= {po.id for po in world.purchase_orders}


NAIVE = base64.urlsafe_b64encode(json.dumps(["2026-01-01T00:00:00", str(uuid.uuid4())]).encode()).decode()


@pytest.mark.parametrize("cursor", ["garbage", "W10", "e30", NAIVE])
def test_a_bad_cursor_is_a_validation_error(tx, world, cursor):
    with tx.uow(tenant_id=world.tenant_id) as uow, pytest.raises(ValidationFailed) as info:
        list_purchase_orders(uow, after=cursor)
    assert set(info.value.errors) == {"cursor"}


@pytest.mark.parametrize("limit", [0, 201])
def test_a_page_size_out_of_range_is_refused(tx, world, limit):
    with tx.uow(tenant_id=world.tenant_id) as uow, pytest.raises(ValidationFailed) as info:
        list_purchase_orders(uow, limit=limit)
    assert set(info.value.errors) == {"limit"}


def test_summary_counts_open_orders_and_suppliers(tx, world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        cancelled = make_purchase_order(uow, supplier=world.suppliers[0], item=world.items[0])
        cancelled.status = "cancelled"
        uow.flush()
        summary = purchase_order_summary(uow)
    assert summary.open_count == len(world.purchase_orders)
    assert summary.supplier_count == 2
