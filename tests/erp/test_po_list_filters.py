"""The purchase order lists' filters, sorts and exports: each filter alone and combined,
every sort paged without repeats or gaps, bad input refused, "needs my action" on both
sides, and a supplier never seeing another supplier's orders (or drafts)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from erp.purchasing import confirmation as po
from erp.purchasing.errors import TooManyRows
from erp.purchasing.models import STATUSES, PurchaseOrder
from erp.purchasing.service import (
    AWAITING,
    DEFAULT_SORT,
    NO_FILTER,
    SORTS,
    PurchaseOrderFilter,
    export_purchase_orders,
    list_purchase_orders,
    ordered_items,
)
from kernel.errors import ValidationFailed
from tests.erp.po_support import issued_order, soon
from tests.factories import make_item, make_purchase_order

BASE = date(2025, 3, 1)


@pytest.fixture
def made(tx, world):
    """24 committed orders besides the world's: every status three times, both suppliers,
    order dates three to a day (ties for the sorts), a third of them with an item of
    their own. Returns {"ids": [...], "item": the item's id}."""
    with tx.uow(tenant_id=world.tenant_id) as uow:
        special = make_item(uow)
        ids = []
        for n in range(24):
            order = make_purchase_order(uow, supplier=world.suppliers[n % 2], item=special if n % 3 == 0 else world.items[0])
            order.status = STATUSES[n % len(STATUSES)]
            order.order_date = BASE + timedelta(days=n // 3)
            ids.append(order.id)
        uow.flush()
        uow.commit()
        return {"ids": ids, "item": special.id}


def every_row(uow, filters=NO_FILTER, sort=DEFAULT_SORT, limit=200):
    rows, cursor = [], None
    while True:
        page = list_purchase_orders(uow, after=cursor, limit=limit, filters=filters, sort=sort)
        rows += page.items
        if page.next_cursor is None:
            return rows
        cursor = page.next_cursor


def ids_of(rows) -> set:
    return {row.id for row in rows}


def test_statuses_filter_keeps_only_those_statuses(tx, world, made):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        everything = every_row(uow)
        rows = every_row(uow, PurchaseOrderFilter(statuses=("draft", "closed")))
    assert ids_of(rows) == {r.id for r in everything if r.status in ("draft", "closed")}
    assert len(rows) == 6


def test_supplier_filter(tx, world, made):
    supplier = world.suppliers[1].id
    with tx.uow(tenant_id=world.tenant_id) as uow:
        everything = every_row(uow)
        rows = every_row(uow, PurchaseOrderFilter(supplier_id=supplier))
    assert ids_of(rows) == {r.id for r in everything if r.supplier_id == supplier}
    assert len(rows) == 13  # 12 made, one of the world's


def test_item_filter_keeps_orders_with_a_line_of_the_item(tx, world, made):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        rows = every_row(uow, PurchaseOrderFilter(item_id=made["item"]))
    assert ids_of(rows) == {made["ids"][n] for n in range(0, 24, 3)}


def test_order_date_range_is_inclusive_at_both_ends(tx, world, made):
    frm, to = BASE + timedelta(days=2), BASE + timedelta(days=4)
    with tx.uow(tenant_id=world.tenant_id) as uow:
        rows = every_row(uow, PurchaseOrderFilter(ordered_from=frm, ordered_to=to))
        only_from = every_row(uow, PurchaseOrderFilter(ordered_from=BASE + timedelta(days=7)))
        only_to = every_row(uow, PurchaseOrderFilter(ordered_to=BASE))
    assert ids_of(rows) == set(made["ids"][6:15])
    # The world's orders are dated 2026-11-01: after every made one.
    assert ids_of(only_from) == set(made["ids"][21:]) | {p.id for p in world.purchase_orders}
    assert ids_of(only_to) == set(made["ids"][:3])


def test_open_only_leaves_out_closed_and_cancelled(tx, world, made):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        everything = every_row(uow)
        rows = every_row(uow, PurchaseOrderFilter(open_only=True))
    assert ids_of(rows) == {r.id for r in everything if r.status not in ("closed", "cancelled")}
    assert len(everything) - len(rows) == 6


def test_filters_combine(tx, world, made):
    filters = PurchaseOrderFilter(
        statuses=("draft", "issued", "acknowledged", "in_delivery"),
        supplier_id=world.suppliers[0].id,
        item_id=made["item"],
        ordered_from=BASE,
        ordered_to=BASE + timedelta(days=6),
        open_only=True,
    )
    with tx.uow(tenant_id=world.tenant_id) as uow:
        rows = every_row(uow, filters)
    # The first supplier's with the item, dated within the range: n = 0 (draft), 6 (closed),
    # 12 (in delivery), 18 (partially acknowledged); two of them have a status asked for.
    assert ids_of(rows) == {made["ids"][0], made["ids"][12]}


SORT_KEYS = {
    "created": lambda r: (r.created_at, r.id),
    "order_date": lambda r: (r.order_date, r.id),
    "number": lambda r: (r.number, r.id),
}


@pytest.mark.parametrize("sort", SORTS)
def test_every_sort_pages_through_every_order_once_in_order(tx, world, made, sort):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        everything = every_row(uow)
        pages, rows, cursor = 0, [], None
        while True:
            page = list_purchase_orders(uow, after=cursor, limit=5, sort=sort)
            rows += page.items
            pages += 1
            if page.next_cursor is None:
                break
            cursor = page.next_cursor
    assert len(rows) == len(everything) == len(ids_of(rows)) == 26
    assert pages == 6
    key = SORT_KEYS[sort.lstrip("-")]
    assert [key(r) for r in rows] == sorted((key(r) for r in rows), reverse=sort.startswith("-"))


def test_paging_keeps_the_filters(tx, world, made):
    filters = PurchaseOrderFilter(supplier_id=world.suppliers[0].id)
    with tx.uow(tenant_id=world.tenant_id) as uow:
        rows = every_row(uow, filters, sort="order_date", limit=4)
    assert len(rows) == len(ids_of(rows)) == 13
    assert {r.supplier_id for r in rows} == {world.suppliers[0].id}


def test_a_cursor_of_one_sort_is_refused_for_another(tx, world, made):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        by_number = list_purchase_orders(uow, limit=5, sort="number").next_cursor
        newest = list_purchase_orders(uow, limit=5).next_cursor
        for cursor, sort in ((by_number, "-number"), (by_number, "order_date"), (by_number, DEFAULT_SORT), (newest, "number")):
            with pytest.raises(ValidationFailed) as info:
                list_purchase_orders(uow, after=cursor, sort=sort)
            assert set(info.value.errors) == {"cursor"}


@pytest.mark.parametrize("sort", ["supplier", "-", "created_at", "", "--number"])
def test_an_unknown_sort_is_refused(tx, world, sort):
    with tx.uow(tenant_id=world.tenant_id) as uow, pytest.raises(ValidationFailed) as info:
        list_purchase_orders(uow, sort=sort)
    assert set(info.value.errors) == {"sort"}


def test_a_date_range_that_ends_before_it_starts_is_refused(tx, world):
    filters = PurchaseOrderFilter(ordered_from=date(2026, 5, 2), ordered_to=date(2026, 5, 1))
    with tx.uow(tenant_id=world.tenant_id) as uow, pytest.raises(ValidationFailed) as info:
        list_purchase_orders(uow, filters=filters)
    assert info.value.errors == {"ordered_to": "The start of the date range must not be after its end."}


def test_a_one_day_range_is_fine(tx, world, made):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        rows = every_row(uow, PurchaseOrderFilter(ordered_from=BASE, ordered_to=BASE))
    assert ids_of(rows) == set(made["ids"][:3])


def test_an_unknown_status_is_refused(tx, world):
    with tx.uow(tenant_id=world.tenant_id) as uow, pytest.raises(ValidationFailed) as info:
        list_purchase_orders(uow, filters=PurchaseOrderFilter(statuses=("issued", "shipped")))
    assert set(info.value.errors) == {"status"}


# -- a supplier's list ----------------------------------------------------------------------


def test_a_supplier_sees_only_its_own_issued_orders(tx, world, made, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier1"]) as uow:
        rows = every_row(uow, sort="number", limit=3)
        own = every_row(uow, PurchaseOrderFilter(supplier_id=world.suppliers[0].id))
    expected = {made["ids"][n] for n in range(0, 24, 2) if STATUSES[n % 8] != "draft"} | {world.purchase_orders[0].id}
    assert ids_of(rows) == ids_of(own) == expected
    assert {r.supplier_id for r in rows} == {world.suppliers[0].id}


def test_a_supplier_naming_another_supplier_is_refused(tx, world, other_world, made, who):
    for foreign in (world.suppliers[1].id, other_world.suppliers[0].id):
        with tx.uow(tenant_id=world.tenant_id, actor=who["supplier1"]) as uow, pytest.raises(ValidationFailed) as info:
            list_purchase_orders(uow, filters=PurchaseOrderFilter(supplier_id=foreign))
        assert set(info.value.errors) == {"supplier_id"}
        with tx.uow(tenant_id=world.tenant_id, actor=who["supplier1"]) as uow, pytest.raises(ValidationFailed):
            export_purchase_orders(uow, filters=PurchaseOrderFilter(supplier_id=foreign))


def test_a_supplier_filtering_by_an_item_sees_only_its_own(tx, world, made, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier2"]) as uow:
        rows = every_row(uow, PurchaseOrderFilter(item_id=made["item"]))
    assert ids_of(rows) == {made["ids"][n] for n in (3, 9, 15, 21)}  # odd n: the second supplier's


def test_item_choices_are_the_items_on_the_callers_orders(tx, world, made, who):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        buyer = {i.id for i in ordered_items(uow)}
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier2"]) as uow:
        supplier = {i.id for i in ordered_items(uow)}
    assert buyer == {made["item"], world.items[0].id, world.items[1].id}
    assert supplier == {made["item"], world.items[0].id, world.items[1].id}  # the second supplier has all three
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier1"]) as uow:
        assert world.items[1].id not in {i.id for i in ordered_items(uow)}


# -- needs my action ------------------------------------------------------------------------------


def answer(tx, world, who, po_id, actions, supplier="supplier1"):
    """The supplier answers the order's lines: `actions` by line, None leaves one open."""
    with tx.uow(tenant_id=world.tenant_id, actor=who[supplier]) as uow:
        detail = po.get_purchase_order_detail(uow, po_id=po_id)
        responses = [{"line_id": d.line.id, **a} for d, a in zip(detail.lines, actions, strict=True) if a]
        made = po.respond_to_purchase_order(
            uow, who[supplier], po_id=po_id, revision=detail.order.revision, version=detail.order.version, responses=responses
        )
        uow.commit()
        return [r.id for r in made]


ACCEPT = {"action": "accept"}
PROPOSE = {"action": "propose", "promised_date": soon(90)}
REJECT = {"action": "reject", "reason_code": "capacity"}


def test_awaiting_is_the_confirmation_lifecycles(tx):
    assert AWAITING == po.AWAITING


def test_needs_action_for_a_supplier_is_what_awaits_its_answer(tx, world, who):
    untouched = issued_order(tx, world, who, count=2)
    partly = issued_order(tx, world, who, count=2)
    answer(tx, world, who, partly, [ACCEPT, None])  # partially acknowledged, a line open
    proposed = issued_order(tx, world, who, count=2)
    answer(tx, world, who, proposed, [ACCEPT, PROPOSE])  # waiting for the buyer now
    done = issued_order(tx, world, who, count=1)
    answer(tx, world, who, done, [ACCEPT])  # acknowledged
    issued_order(tx, world, who, count=1, issue=False)  # a draft: not theirs yet
    others = issued_order(tx, world, who, count=1, supplier=1)
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier1"]) as uow:
        rows = every_row(uow, PurchaseOrderFilter(needs_action=True))
        statuses = {r.id: r.status for r in every_row(uow)}
    assert ids_of(rows) == {untouched, partly, world.purchase_orders[0].id}
    assert statuses[partly] == "partially_acknowledged" and statuses[proposed] == "partially_acknowledged"
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier2"]) as uow:
        assert ids_of(every_row(uow, PurchaseOrderFilter(needs_action=True))) == {others, world.purchase_orders[1].id}


def test_a_proposal_the_buyer_rejected_needs_the_supplier_again(tx, world, who):
    order = issued_order(tx, world, who, count=1)
    [response] = answer(tx, world, who, order, [PROPOSE])
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier1"]) as uow:
        assert order not in ids_of(every_row(uow, PurchaseOrderFilter(needs_action=True)))
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        assert order in ids_of(every_row(uow, PurchaseOrderFilter(needs_action=True)))
        version = po.get_purchase_order_detail(uow, po_id=order).order.version
        po.decide_on_response(uow, who["buyer"], response_id=response, accept=False, version=version)
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier1"]) as uow:
        assert order in ids_of(every_row(uow, PurchaseOrderFilter(needs_action=True)))
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        assert order not in ids_of(every_row(uow, PurchaseOrderFilter(needs_action=True)))


def test_needs_action_for_the_buyer_is_drafts_and_answers_to_decide(tx, world, who):
    draft = issued_order(tx, world, who, count=1, issue=False)
    issued_order(tx, world, who, count=2)  # nothing to decide
    proposed = issued_order(tx, world, who, count=2)
    answer(tx, world, who, proposed, [ACCEPT, PROPOSE])
    rejected = issued_order(tx, world, who, count=2, supplier=1)
    answer(tx, world, who, rejected, [REJECT, None], supplier="supplier2")
    accepted = issued_order(tx, world, who, count=1)
    answer(tx, world, who, accepted, [ACCEPT])
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        rows = every_row(uow, PurchaseOrderFilter(needs_action=True))
        mine = every_row(uow, PurchaseOrderFilter(needs_action=True, supplier_id=world.suppliers[1].id))
    assert ids_of(rows) == {draft, proposed, rejected}
    assert ids_of(mine) == {rejected}


def test_an_answer_to_an_earlier_revision_needs_nobody(tx, world, who):
    """A pending answer of a revision the order has moved past is not the buyer's to
    decide (the detail page and decide_on_response refuse it too)."""
    order = issued_order(tx, world, who, count=1)
    answer(tx, world, who, order, [PROPOSE])
    with tx.uow(tenant_id=world.tenant_id) as uow:
        row = uow.session.get(PurchaseOrder, (world.tenant_id, order))
        row.revision += 1  # as a change order does
        uow.flush()
        buyer_rows = every_row(uow, PurchaseOrderFilter(needs_action=True))
        uow.commit()
    assert order not in ids_of(buyer_rows)
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier1"]) as uow:
        assert order in ids_of(every_row(uow, PurchaseOrderFilter(needs_action=True)))


# -- export ------------------------------------------------------------------------------------------


def test_export_has_every_matching_order_in_the_sort_order(tx, world, made):
    filters = PurchaseOrderFilter(open_only=True)
    with tx.uow(tenant_id=world.tenant_id) as uow:
        rows = export_purchase_orders(uow, filters=filters, sort="-number")
        listed = every_row(uow, filters, sort="-number", limit=7)
    assert [r.id for r in rows] == [r.id for r in listed] and len(rows) == 20


def test_an_export_over_the_limit_is_refused_not_cut_short(tx, world, made):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert len(export_purchase_orders(uow, max_rows=26)) == 26
        with pytest.raises(TooManyRows) as info:
            export_purchase_orders(uow, max_rows=25)
    assert info.value.params == {"limit": 25}
