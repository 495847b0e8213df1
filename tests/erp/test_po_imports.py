"""Purchase orders from a CSV file: one draft per supplier and currency, every bad row
named (row, column, message), all of the file or nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from erp.purchasing import confirmation as po
from erp.purchasing import imports
from erp.purchasing.models import PurchaseOrder, PurchaseOrderLine
from erp.suppliers import service as suppliers
from kernel.clock import utcnow
from kernel.errors import Forbidden
from tests.erp.po_support import soon
from tests.factories import make_item

HEADER = "supplier_code,currency,part_number,quantity,unit_price,requested_date\n"


def counts(tx, world) -> tuple[int, int]:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return (
            uow.scalar(sa.select(sa.func.count()).select_from(PurchaseOrder)),
            uow.scalar(sa.select(sa.func.count()).select_from(PurchaseOrderLine)),
        )


def run(tx, world, who, content: bytes, actor: str = "buyer"):
    with tx.uow(tenant_id=world.tenant_id, actor=who[actor]) as uow:
        made = imports.import_purchase_orders(uow, who[actor], content=content)
        uow.commit()
        return [(o.supplier_id, o.currency, o.status, lines_of(uow, o)) for o in made]


def lines_of(uow, order):
    stmt = sa.select(PurchaseOrderLine).where(PurchaseOrderLine.purchase_order_id == order.id)
    lines = uow.session.scalars(stmt.order_by(PurchaseOrderLine.line_no))
    return [(li.line_no, li.item_id, li.quantity, li.requested_date) for li in lines]


def refusal(tx, world, who, content: bytes) -> list[tuple]:
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow, pytest.raises(imports.PurchaseOrderImportInvalid) as bad:
        imports.import_purchase_orders(uow, who["buyer"], content=content)
    return [(e.row, e.field, e.message) for e in bad.value.rows]


def test_rows_of_one_supplier_and_currency_make_one_draft(tx, world, who):
    p0, p1 = world.items[0].part_number, world.items[1].part_number
    text = HEADER + (
        f"S1,EUR,{p0},100,2.50,{soon(30)}\n"
        f"S2,EUR,{p1},5,1,{soon(31)}\n"
        "\n"
        f"s1,eur,{p1},7,3,{soon(32)}\n"
        f"S1,USD,{p0},1,9.99,{soon(33)}\n"
    )
    made = run(tx, world, who, b"\xef\xbb\xbf" + text.encode())
    s1, s2 = world.suppliers[0].id, world.suppliers[1].id
    assert made == [
        (s1, "EUR", "draft", [(10, world.items[0].id, 100, soon(30)), (20, world.items[1].id, 7, soon(32))]),
        (s2, "EUR", "draft", [(10, world.items[1].id, 5, soon(31))]),
        (s1, "USD", "draft", [(10, world.items[0].id, 1, soon(33))]),
    ]


def test_a_gb18030_file_is_read(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        item = make_item(uow, part_number="料号-001", name="导管")
        uow.commit()
    content = (HEADER + f"S1,CNY,料号-001,3,12.5,{soon(10)}\n").encode("gb18030")
    assert run(tx, world, who, content) == [(world.suppliers[0].id, "CNY", "draft", [(10, item.id, 3, soon(10))])]


def test_every_bad_row_is_named_and_nothing_is_written(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        banned = make_item(uow)
        suppliers.set_approval(
            uow, who["buyer"], supplier_id=world.suppliers[0].id, item_id=banned.id, status="disqualified", reason="Failed audit"
        )
        uow.commit()
    before = counts(tx, world)
    p0 = world.items[0].part_number
    yesterday = utcnow().date() - timedelta(days=1)
    text = HEADER + (
        f"S1,EUR,{p0},100,2.50,{soon(30)}\n"  # 2: fine, but the file fails as a whole
        f"S9,EUR,{p0},1,1,{soon(30)}\n"  # 3: unknown supplier
        f"S1,EUR,NOPE-404,1,1,{soon(30)}\n"  # 4: unknown part
        f"S1,EUR,{p0},0,1,{soon(30)}\n"  # 5: bad quantity
        f"S2,EUR,{p0},1,1,{yesterday}\n"  # 6: past date
        f"S1,EUR,{banned.part_number},1,1,{soon(30)}\n"  # 7: disqualified
        f"S2,EURO,{p0},1,1,{soon(30)}\n"  # 8: bad currency
    )
    found = refusal(tx, world, who, text.encode())
    assert found == [
        (3, "supplier_code", imports.UNKNOWN_SUPPLIER),
        (4, "part_number", imports.UNKNOWN_PART),
        (5, "quantity", po.QUANTITY),
        (6, "requested_date", po.PAST_DATE),
        (7, "part_number", "%(supplier)s is disqualified for %(part_number)s since %(since)s: %(reason)s"),
        (8, "currency", po.CURRENCY_CODE),
    ]
    assert counts(tx, world) == before


def test_a_file_without_the_columns_is_refused(tx, world, who):
    found = refusal(tx, world, who, b"supplier,part_number,qty\nS1,P,1\n")
    assert [(row, field) for row, field, _ in found] == [(1, ""), (1, "")]
    assert found[0][2] == imports.MISSING_COLUMNS
    assert refusal(tx, world, who, HEADER.encode()) == [(0, "", imports.NO_ROWS)]
    assert refusal(tx, world, who, b"") == [(0, "", imports.EMPTY)]


def test_a_column_named_twice_is_refused(tx, world, who):
    content = HEADER.strip() + ",quantity\n" + f"S1,EUR,{world.items[0].part_number},1,1,{soon(30)},2\n"
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow, pytest.raises(imports.PurchaseOrderImportInvalid) as bad:
        imports.import_purchase_orders(uow, who["buyer"], content=content.encode())
    assert [(e.row, e.field, e.message, e.params) for e in bad.value.rows] == [
        (1, "", imports.REPEATED_COLUMNS, {"columns": "quantity"})
    ]


def test_a_row_with_more_cells_than_the_header_is_named_and_nothing_is_written(tx, world, who):
    before = counts(tx, world)
    p0 = world.items[0].part_number
    text = HEADER + f"S1,EUR,{p0},1,1,{soon(30)}\nS1,EUR,{p0},2,1,{soon(31)},surprise\n"
    assert refusal(tx, world, who, text.encode()) == [(3, "", imports.EXTRA_CELLS)]
    assert counts(tx, world) == before


def test_a_file_too_large_or_with_too_many_rows_is_refused(tx, world, who, monkeypatch):
    before = counts(tx, world)
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow, pytest.raises(imports.PurchaseOrderImportInvalid) as bad:
        imports.import_purchase_orders(uow, who["buyer"], content=HEADER.encode() + b"x" * imports.MAX_BYTES)
    assert [(e.row, e.field, e.message, e.params) for e in bad.value.rows] == [(0, "", imports.TOO_LARGE, {"megabytes": 1})]
    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    row = f"S1,EUR,{world.items[0].part_number},1,1,{soon(30)}\n"
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:  # at the limit: imported (not committed)
        [made] = imports.import_purchase_orders(uow, who["buyer"], content=(HEADER + row * 3).encode())
        assert len(lines_of(uow, made)) == 3
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow, pytest.raises(imports.PurchaseOrderImportInvalid) as bad:
        imports.import_purchase_orders(uow, who["buyer"], content=(HEADER + row * 4).encode())
    assert [(e.row, e.field, e.message, e.params) for e in bad.value.rows] == [(0, "", imports.TOO_MANY_ROWS, {"rows": "3"})]
    assert counts(tx, world) == before


def test_a_viewer_may_not_import(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["viewer"]) as uow, pytest.raises(Forbidden):
        imports.import_purchase_orders(uow, who["viewer"], content=HEADER.encode())
