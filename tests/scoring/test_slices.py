"""A supplier's KPIs per receiving site and per item category: each slice counts only its
own transactions, certificates count the same in every slice, and the list, the
evidence and the breakdown follow the slice."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from scoring import service
from scoring.compute import Slice
from scoring.periods import period_of
from tests.factories import make_item
from tests.scoring.support import Books, at, people

OCTOBER = period_of("month", "2026-10")


@pytest.fixture
def who(tx, world):
    return people(tx, world)


def two_sites(uow, world):
    """Supplier 1 in October 2026: at the first site, components - two deliveries, one
    three days late; at the second, sterile barrier pouches - one on time, its lot
    inspected with 10 of 200 rejected, and an order acknowledged in 24 hours."""
    supplier = world.suppliers[0]
    pouch = make_item(uow, category="sterile_barrier")
    components = Books(uow, world, supplier)
    pouches = Books(uow, world, supplier, item=pouch)
    _, l1 = components.order(due=date(2026, 10, 5))
    _, l2 = components.order(due=date(2026, 10, 5))
    components.delivery(l1, arrived=at(date(2026, 10, 5)))
    components.delivery(l2, arrived=at(date(2026, 10, 8)))
    _, l3 = pouches.order(due=date(2026, 10, 12), issued=at(date(2026, 10, 1)), acknowledged=at(date(2026, 10, 2)))
    r3 = pouches.delivery(l3, arrived=at(date(2026, 10, 12)))
    pouches.inspection(r3, received="200", rejected="10", completed=at(date(2026, 10, 13)))
    return components, pouches


def values(card) -> dict:
    return {k.key: k.value for k in card.kpis}


def test_each_site_and_category_counts_only_its_own_transactions(tx, world, who):
    buyer = who["buyer"]
    supplier_id = world.suppliers[0].id
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        components, pouches = two_sites(uow, world)
        whole = values(service.scorecard(uow, buyer, supplier_id=supplier_id, period=OCTOBER))
        first = service.scorecard(uow, buyer, supplier_id=supplier_id, period=OCTOBER, part=Slice(site_id=components.site.id))
        second = values(
            service.scorecard(uow, buyer, supplier_id=supplier_id, period=OCTOBER, part=Slice(site_id=pouches.site.id))
        )
        sterile = values(
            service.scorecard(uow, buyer, supplier_id=supplier_id, period=OCTOBER, part=Slice(category="sterile_barrier"))
        )
        both = values(
            service.scorecard(
                uow, buyer, supplier_id=supplier_id, period=OCTOBER,
                part=Slice(site_id=components.site.id, category="sterile_barrier"),
            )
        )
    assert whole["on_time"] == Decimal("66.67")  # 2 of 3
    assert values(first)["on_time"] == Decimal("50.00")  # 1 of 2
    assert values(first)["lot_acceptance"] is None  # nothing inspected there: no data, not 0
    assert first.computed_at is None  # a slice is always computed now
    assert second["on_time"] == Decimal("100.00")
    assert second["ppm"] == Decimal("50000.00")  # 10 of 200
    assert second["ack_time"] == Decimal("24.00")  # the order shipped to that site
    assert sterile == second  # the same transactions, sliced the other way
    assert all(value is None for value in both.values())  # no pouches at the first site


def test_the_breakdown_lists_the_sites_and_categories_with_business(tx, world, who):
    buyer = who["buyer"]
    supplier_id = world.suppliers[0].id
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        components, pouches = two_sites(uow, world)
        rows = service.breakdown(uow, buyer, supplier_id=supplier_id, period=OCTOBER)
        empty = service.breakdown(uow, buyer, supplier_id=supplier_id, period=period_of("month", "2026-08"))
    by_key = {(kind, key): card for kind, key, card in rows}
    assert set(by_key) == {
        ("site", str(components.site.id)),
        ("site", str(pouches.site.id)),
        ("category", "component"),
        ("category", "sterile_barrier"),
    }
    assert [kind for kind, _, _ in rows] == ["site", "site", "category", "category"]
    assert by_key[("category", "component")].kpi("on_time").value == Decimal("50.00")
    assert by_key[("site", str(pouches.site.id))].kpi("lot_acceptance").value == Decimal("0.00")
    assert empty == []


def test_evidence_of_a_slice_lists_only_its_transactions(tx, world, who):
    buyer = who["buyer"]
    supplier_id = world.suppliers[0].id
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        components, _ = two_sites(uow, world)
        everything = service.evidence(uow, buyer, supplier_id=supplier_id, period=OCTOBER, kpi="on_time")
        there = service.evidence(
            uow, buyer, supplier_id=supplier_id, period=OCTOBER, kpi="on_time", part=Slice(site_id=components.site.id)
        )
    assert len(everything) == 3
    assert len(there) == 2
    assert sorted(r.good for r in there) == [False, True]
    assert [r.value for r in there if not r.good] == [Decimal(3)]  # three days late


def test_the_list_of_a_slice_ranks_the_suppliers_live(tx, world, who):
    buyer = who["buyer"]
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        components, _ = two_sites(uow, world)
        other = Books(uow, world, world.suppliers[1])
        _, line = other.order(due=date(2026, 10, 20))
        other.delivery(line, arrived=at(date(2026, 10, 20)))
        site = service.scorecards(uow, buyer, period=OCTOBER, part=Slice(site_id=components.site.id))
        first = service.scorecards(uow, buyer, period=OCTOBER, part=Slice(category="component"), limit=1)
        rest = service.scorecards(
            uow, buyer, period=OCTOBER, part=Slice(category="component"), limit=1, cursor=first.next_cursor
        )
        supplier_view = service.scorecards(uow, who["supplier1"], period=OCTOBER, part=Slice(category="component"))
    # The second supplier delivered nothing at the first site: listed, with no score.
    assert (site.items[0].supplier_id, site.items[0].score is None) == (world.suppliers[0].id, False)
    assert site.items[-1].score is None
    # Both delivered components: the on-time one (100 %) first, then the other.
    assert [c.supplier_id for c in first.items] == [world.suppliers[1].id]
    assert [c.supplier_id for c in rest.items] == [world.suppliers[0].id]
    assert rest.next_cursor is None
    assert {c.supplier_id for c in supplier_view.items} == {world.suppliers[0].id}


def test_certificates_count_the_same_in_every_slice(tx, world, who):
    buyer = who["buyer"]
    supplier_id = world.suppliers[0].id
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        components, _ = two_sites(uow, world)
        whole = service.scorecard(uow, buyer, supplier_id=supplier_id, period=OCTOBER)
        sliced = service.scorecard(uow, buyer, supplier_id=supplier_id, period=OCTOBER, part=Slice(site_id=components.site.id))
    for kpi in ("cert_compliance", "qms_certified"):
        assert whole.kpi(kpi).value == sliced.kpi(kpi).value


def test_a_line_received_at_two_sites_is_in_full_at_the_second(tx, world, who):
    """Ordered 100: 50 at the first site on the 5th, 50 at the second on the 6th. At the
    second site the delivery completes the line (in full, OTIF), as in the whole."""
    buyer = who["buyer"]
    supplier_id = world.suppliers[0].id
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        first = Books(uow, world, world.suppliers[0])
        second = Books(uow, world, world.suppliers[0])
        _, line = first.order(due=date(2026, 10, 6))
        first.delivery(line, arrived=at(date(2026, 10, 5)), quantity="50")
        second.delivery(line, arrived=at(date(2026, 10, 6)), quantity="50")
        whole = service.scorecard(uow, buyer, supplier_id=supplier_id, period=OCTOBER)
        there = service.scorecard(uow, buyer, supplier_id=supplier_id, period=OCTOBER, part=Slice(site_id=second.site.id))
        here = service.scorecard(uow, buyer, supplier_id=supplier_id, period=OCTOBER, part=Slice(site_id=first.site.id))
    assert (whole.kpi("otif").numerator, whole.kpi("otif").denominator) == (1, 2)
    assert (there.kpi("otif").numerator, there.kpi("otif").denominator) == (1, 1)
    assert (here.kpi("otif").numerator, here.kpi("otif").denominator) == (0, 1)
