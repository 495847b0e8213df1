"""0005: the approved supplier list's guarantees are the database's own - one entry per
supplier, site (or none) and item or category; the history is insert-only."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from erp.suppliers.models import ApprovedSource
from kernel.clock import utcnow
from kernel.database import APP_ROLE


@pytest.mark.parametrize(
    ("table", "privilege"),
    [("approved_source_change", "UPDATE"), ("approved_source_change", "DELETE"), ("approved_source", "DELETE")],
)
def test_the_history_is_insert_only_and_entries_stay(admin, table, privilege):
    assert not admin.execute("select has_table_privilege(%s, %s, %s)", (APP_ROLE, table, privilege)).fetchone()[0]


def _entry(world, **kw) -> ApprovedSource:
    values = {"supplier_id": world.suppliers[0].id, "status": "approved", "reason": "Qualified", "changed_at": utcnow()}
    return ApprovedSource(**(values | kw))


@pytest.mark.parametrize(
    "second",
    [
        {"item": True},  # the same item, every site: the null sites count as equal
        {"item": False, "category": "packaging"},
    ],
)
def test_one_entry_per_supplier_site_and_item_or_category(tx, world, second):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        item_id = world.items[0].id if second.pop("item") else None
        kw = {"item_id": item_id} | second
        uow.add(_entry(world, **kw))
        uow.flush()
        uow.add(_entry(world, **kw))
        with pytest.raises(sa.exc.IntegrityError, match="ix_approved_source_scope"):
            uow.flush()


@pytest.mark.parametrize(
    ("kw", "constraint"),
    [
        ({}, "ck_approved_source_item_or_category"),
        ({"category": "packaging", "item": True}, "ck_approved_source_item_or_category"),
        ({"category": "nonsense"}, "ck_approved_source_category"),
        ({"category": "packaging", "status": "maybe"}, "ck_approved_source_status"),
        ({"category": "packaging", "reason": " "}, "ck_approved_source_reason"),
    ],
)
def test_the_entry_is_checked(tx, world, kw, constraint):
    kw = dict(kw)
    if kw.pop("item", False):
        kw["item_id"] = world.items[0].id
    with tx.uow(tenant_id=world.tenant_id) as uow:
        uow.add(_entry(world, **kw))
        with pytest.raises(sa.exc.IntegrityError, match=constraint):
            uow.flush()
