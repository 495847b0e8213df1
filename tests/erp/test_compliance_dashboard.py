"""The compliance dashboard's figures (erp.suppliers.dashboard): suppliers fully compliant
(those with no requirements shown apart), certificates expiring this month, expired,
waiting for review; the expiry calendar by month and day; the export's rows. Another
tenant's certificates never count; supplier users and people without the permission
are refused."""

from __future__ import annotations

import dataclasses
from datetime import date, timedelta

import pytest

from erp.suppliers import compliance, dashboard
from erp.suppliers import service as suppliers
from kernel.errors import Forbidden
from kernel.uow import Actor
from tenants import service as tenants
from tests.factories import actor_in, make_item, make_tenant_world, unique
from tests.factories.documents import make_certificate, make_certificate_type

TODAY = date(2027, 3, 10)


@dataclasses.dataclass
class Scene:
    world: object
    buyer: object
    types: dict
    certs: dict
    lonely: object  # a supplier no requirement applies to


def make_world(tx, slug: str):
    with tx.uow() as uow:
        world = make_tenant_world(uow, slug=unique(slug))
        uow.commit()
    with tx.uow() as uow:
        buyer = actor_in(uow, world, "buyer")
    return world, buyer


def approve_category(uow, buyer, supplier, category: str = "component") -> None:
    suppliers.set_approval(uow, buyer, supplier_id=supplier.id, category=category, status="approved", reason="Qualified")


@pytest.fixture
def scene(tx) -> Scene:
    """Supplier 1 meets its requirement (a certificate expiring this month) and has one
    waiting for review; supplier 2's certificate has expired; a third supplier supplies
    nothing a requirement names."""
    world, buyer = make_world(tx, "dash")
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        iso = make_certificate_type(uow, name="ISO 13485", name_zh="ISO 13485 质量体系")
        ce = make_certificate_type(uow, name="CE certificate", name_zh="CE 证书")
        compliance.add_requirement(uow, buyer, certificate_type_id=iso.id, scope="category", category="component")
        s1, s2 = world.suppliers
        approve_category(uow, buyer, s1)
        approve_category(uow, buyer, s2)
        lonely = tenants.create_supplier(uow, code="S9", name="Zeta Lonely Ltd")
        certs = {
            "expiring": make_certificate(uow, supplier=s1, type=iso, expires_on=TODAY + timedelta(days=10)),
            "pending": make_certificate(uow, supplier=s1, type=ce, status="pending_review", expires_on=date(2028, 1, 1)),
            "old": make_certificate(uow, supplier=s1, type=iso, status="superseded", expires_on=TODAY - timedelta(days=30)),
            "expired": make_certificate(uow, supplier=s2, type=iso, expires_on=TODAY - timedelta(days=5)),
            "next_month": make_certificate(uow, supplier=s2, type=ce, expires_on=date(2027, 4, 2)),
            "rejected": make_certificate(uow, supplier=s2, type=iso, status="rejected", expires_on=TODAY + timedelta(days=3)),
        }
        uow.commit()
    return Scene(world=world, buyer=buyer, types={"iso": iso, "ce": ce}, certs=certs, lonely=lonely)


@pytest.fixture
def elsewhere(tx):
    """Another tenant whose certificates expire, have expired and wait in the same days."""
    world, buyer = make_world(tx, "else")
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        iso = make_certificate_type(uow, name="Elsewhere ISO")
        compliance.add_requirement(uow, buyer, certificate_type_id=iso.id, scope="all")
        for supplier in world.suppliers:
            make_certificate(uow, supplier=supplier, type=iso, expires_on=TODAY + timedelta(days=5))
            make_certificate(uow, supplier=supplier, type=iso, expires_on=TODAY - timedelta(days=5))
            make_certificate(uow, supplier=supplier, type=iso, status="pending_review")
        uow.commit()
    return world


def overview(tx, scene, today: date = TODAY, actor=None):
    with tx.uow(tenant_id=scene.world.tenant_id, actor=actor or scene.buyer) as uow:
        found = dashboard.compliance_overview(uow, actor or scene.buyer, today=today)
        uow.session.expunge_all()  # read after the unit of work, as loaded
        return found


def test_the_counts_show_each_state_once(tx, scene, elsewhere):
    found = overview(tx, scene)
    assert (found.suppliers, found.compliant, found.no_requirements) == (3, 2, 1)
    assert (found.expiring_suppliers, found.expiring_certificates) == (1, 1)
    assert (found.expired_suppliers, found.expired_certificates) == (1, 1)  # the superseded one does not count
    assert (found.pending_suppliers, found.pending_review) == (1, 1)
    assert found.month_end == date(2027, 3, 31)


def test_the_rows_put_suppliers_that_are_not_compliant_first(tx, scene, elsewhere):
    s1, s2 = scene.world.suppliers
    rows = overview(tx, scene).rows
    assert [r.supplier.id for r in rows] == [s2.id, s1.id, scene.lonely.id]
    by_id = {r.supplier.id: r for r in rows}
    assert (by_id[s2.id].compliant, by_id[s2.id].unmet, by_id[s2.id].obligations) == (False, 1, 1)
    assert by_id[s2.id].next_expiry == date(2027, 4, 2)  # the expired one is not next
    assert (by_id[s1.id].compliant, by_id[s1.id].unmet, by_id[s1.id].next_expiry) == (True, 0, TODAY + timedelta(days=10))
    lonely = by_id[scene.lonely.id]
    assert (lonely.compliant, lonely.no_requirements, lonely.next_expiry) == (True, True, None)
    assert not by_id[s1.id].no_requirements


def test_expiring_this_month_ends_with_the_month_and_starts_today(tx, scene):
    # On April 1st the March certificate has expired and the April one expires this month.
    found = overview(tx, scene, today=date(2027, 4, 1))
    assert (found.expiring_certificates, found.expired_certificates) == (1, 2)
    assert (found.compliant, found.no_requirements) == (1, 1)  # supplier 1's certificate expired too
    # On its expiry day a certificate still counts as expiring, not expired.
    found = overview(tx, scene, today=date(2027, 3, 20))
    assert (found.expiring_certificates, found.expired_certificates) == (1, 1)


def test_a_tenant_without_suppliers_has_nothing_to_count(tx):
    with tx.uow() as uow:
        tenant = tenants.create_tenant(uow, slug=unique("empty"), name="Empty")
        uow.commit()
    actor = Actor(user_id=None, name="reader", permissions=frozenset({"suppliers.view"}))
    with tx.uow(tenant_id=tenant.id, actor=actor) as uow:
        found = dashboard.compliance_overview(uow, actor, today=TODAY)
        months = dashboard.expiry_calendar(uow, actor, start=date(2027, 3, 1), today=TODAY)
        rows = dashboard.obligation_rows(uow, actor, today=TODAY)
    assert (found.suppliers, found.compliant, found.pending_review, found.rows) == (0, 0, 0, [])
    assert [m.count for m in months] == [0, 0, 0] and rows == []


def test_the_calendar_groups_the_window_by_month_and_day(tx, scene, elsewhere):
    s1, s2 = scene.world.suppliers
    iso, ce = scene.types["iso"], scene.types["ce"]
    with tx.uow(tenant_id=scene.world.tenant_id, actor=scene.buyer) as uow:
        same_day = make_certificate(uow, supplier=s1, type=ce, expires_on=date(2027, 4, 2), number="CE-1")
        last = make_certificate(uow, supplier=s1, type=iso, expires_on=date(2027, 5, 31))
        make_certificate(uow, supplier=s1, type=iso, expires_on=date(2027, 6, 1))  # after the window
        make_certificate(uow, supplier=s1, type=iso, expires_on=date(2027, 2, 28))  # before it
        make_certificate(uow, supplier=s1, type=iso, status="pending_review", expires_on=date(2027, 4, 2))
        make_certificate(uow, supplier=s2, type=iso, status="superseded", expires_on=date(2027, 4, 2))
        months = dashboard.expiry_calendar(uow, scene.buyer, start=date(2027, 3, 1), today=TODAY)
    assert [m.month for m in months] == [date(2027, 3, 1), date(2027, 4, 1), date(2027, 5, 1)]
    march, april, may = months
    # March: the one expired on the 5th (still approved), the one expiring on the 20th.
    assert {d: [e.certificate_id for e in es] for d, es in march.days.items()} == {
        date(2027, 3, 5): [scene.certs["expired"].id],
        date(2027, 3, 20): [scene.certs["expiring"].id],
    }
    assert [e.days_left for es in march.days.values() for e in es] == [-5, 10]
    # Two on one day, by supplier name; the pending and superseded ones are left out.
    assert list(april.days) == [date(2027, 4, 2)]
    assert [e.certificate_id for e in april.days[date(2027, 4, 2)]] == [same_day.id, scene.certs["next_month"].id]
    first = april.days[date(2027, 4, 2)][0]
    assert (first.supplier_code, first.supplier_name, first.type_name, first.type_name_zh, first.number, first.days_left) == (
        s1.code,
        s1.name,
        "CE certificate",
        "CE 证书",
        "CE-1",
        23,
    )
    assert [e.certificate_id for es in may.days.values() for e in es] == [last.id]
    assert (march.count, april.count, may.count) == (2, 2, 1)


def test_the_calendar_starts_on_the_day_given_and_its_weeks_start_on_monday(tx, scene):
    with tx.uow(tenant_id=scene.world.tenant_id, actor=scene.buyer) as uow:
        months = dashboard.expiry_calendar(uow, scene.buyer, start=TODAY, months=1)
    assert [m.month for m in months] == [date(2027, 3, 1)]
    assert [e.days_left for es in months[0].days.values() for e in es] == [10]  # the 5th is before the start
    april = dashboard.CalendarMonth(month=date(2027, 4, 1))
    weeks = april.weeks
    assert weeks[0] == [None, None, None, date(2027, 4, 1), date(2027, 4, 2), date(2027, 4, 3), date(2027, 4, 4)]
    assert weeks[-1][:5] == [date(2027, 4, 26), date(2027, 4, 27), date(2027, 4, 28), date(2027, 4, 29), date(2027, 4, 30)]
    assert weeks[-1][5:] == [None, None] and len(weeks) == 5


def test_the_calendar_window_is_one_to_twelve_months(tx, scene):
    with tx.uow(tenant_id=scene.world.tenant_id, actor=scene.buyer) as uow:
        assert len(dashboard.expiry_calendar(uow, scene.buyer, start=date(2027, 11, 1), months=0)) == 1
        many = dashboard.expiry_calendar(uow, scene.buyer, start=date(2027, 11, 1), months=40)
    assert len(many) == dashboard.MAX_MONTHS and many[-1].month == date(2028, 10, 1)


def test_the_export_rows_are_one_per_site_obligation_with_part_numbers(tx, scene):
    s1, s2 = scene.world.suppliers
    with tx.uow(tenant_id=scene.world.tenant_id, actor=scene.buyer) as uow:
        item = make_item(uow, part_number=unique("DASH-"))
        suppliers.set_approval(uow, scene.buyer, supplier_id=s1.id, item_id=item.id, status="approved", reason="Qualified")
        compliance.add_requirement(uow, scene.buyer, certificate_type_id=scene.types["ce"].id, scope="item", item_id=item.id)
        second_site = tenants.create_site(uow, organisation=s2, name="A Second Site", kind="warehouse")
        rows = dashboard.obligation_rows(uow, scene.buyer, today=TODAY)
        uow.session.expunge_all()
    found = sorted(
        (r.supplier.code, r.site.name if r.site else None, r.obligation.type.name, r.part_number, r.obligation.state, r.days_left)
        for r in rows
    )
    site1 = next(r.site.name for r in rows if r.supplier.id == s1.id)
    assert found == [
        ("S1", site1, "CE certificate", item.part_number, "pending_review", 297),
        ("S1", site1, "ISO 13485", None, "expiring", 10),
        # Supplier 2 supplies the item's category: the item's requirement applies to it too.
        ("S2", "A Second Site", "CE certificate", item.part_number, "expiring", 23),
        ("S2", "A Second Site", "ISO 13485", None, "expired", -5),
        ("S2", "Site 2", "CE certificate", item.part_number, "expiring", 23),
        ("S2", "Site 2", "ISO 13485", None, "expired", -5),
    ]
    assert second_site.id in {r.site.id for r in rows}
    assert scene.lonely.id not in {r.supplier.id for r in rows}


def test_supplier_users_and_people_without_the_permission_are_refused(tx, scene):
    with tx.uow() as uow:
        supplier = actor_in(uow, scene.world, "supplier1")
    nobody = dataclasses.replace(scene.buyer, permissions=frozenset({"po.view"}))
    for actor in (supplier, nobody):
        with tx.uow(tenant_id=scene.world.tenant_id, actor=actor) as uow:
            with pytest.raises(Forbidden):
                dashboard.compliance_overview(uow, actor, today=TODAY)
            with pytest.raises(Forbidden):
                dashboard.expiry_calendar(uow, actor, start=TODAY)
            with pytest.raises(Forbidden):
                dashboard.obligation_rows(uow, actor, today=TODAY)


def test_a_supplier_holding_suppliers_view_is_still_refused(tx, scene):
    """The buyer-side check does not rest on the role: a supplier actor given the
    permission by mistake sees nothing either."""
    with tx.uow() as uow:
        supplier = actor_in(uow, scene.world, "supplier1")
    widened = dataclasses.replace(supplier, permissions=supplier.permissions | {"suppliers.view"})
    with tx.uow(tenant_id=scene.world.tenant_id, actor=widened) as uow:
        with pytest.raises(Forbidden) as refused:
            dashboard.compliance_overview(uow, widened, today=TODAY)
    assert refused.value.message == dashboard.BUYER_ONLY


def test_months_are_added_across_years():
    assert dashboard.add_months(date(2027, 11, 1), 3) == date(2028, 2, 1)
    assert dashboard.add_months(date(2027, 1, 1), -1) == date(2026, 12, 1)
    assert dashboard.last_day(date(2028, 2, 10)) == date(2028, 2, 29)
