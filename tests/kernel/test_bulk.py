"""insert_rows: many rows in one statement, each still in the audit trail, under the
caller's tenant (row-level security checks every row)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from audit.models import Event
from erp.inventory.models import Lot
from kernel.bulk import insert_rows
from kernel.ids import new_id


def test_rows_go_in_one_statement_and_each_is_audited(tx, world):
    item = world.items[0]
    rows = [{"id": new_id(), "item_id": item.id, "supplier_id": None, "number": f"B-{n}", "expiry_date": None} for n in range(3)]
    with tx.uow(tenant_id=world.tenant_id) as uow:
        insert_rows(uow, Lot, rows)
        insert_rows(uow, Lot, [])
        found = uow.session.scalars(sa.select(Lot.number).where(Lot.item_id == item.id).order_by(Lot.number)).all()
        assert found == ["B-0", "B-1", "B-2"]
        audited = uow.session.scalars(
            sa.select(Event.row_id).where(Event.table_name == "lot", Event.action == "I")
        ).all()
        assert sorted(audited) == sorted(str(r["id"]) for r in rows)


def test_a_row_of_another_tenant_is_refused(tx, world, other_world):
    rows = [{"id": new_id(), "tenant_id": other_world.tenant_id, "item_id": world.items[0].id, "number": "X"}]
    with tx.uow(tenant_id=world.tenant_id) as uow, pytest.raises(sa.exc.DBAPIError):
        insert_rows(uow, Lot, rows)
