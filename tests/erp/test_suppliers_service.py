"""Supplier contacts and the approved supplier list: entries and their history, the most
specific entry decides, supplier users see their own, a disqualification blocks orders."""

from __future__ import annotations

import dataclasses
import threading
import time
import uuid

import pytest
import sqlalchemy as sa

from audit.models import Event
from erp.purchasing import confirmation as po
from erp.purchasing.models import PurchaseOrder
from erp.suppliers import service as suppliers
from erp.suppliers.errors import ApprovalChanged, SupplierDisqualified, SupplierNotFound
from erp.suppliers.models import ApprovedSource, ApprovedSourceChange, SupplierContact
from kernel.clock import utcnow
from kernel.errors import Forbidden, ValidationFailed
from tenants import service as tenants
from tests import factories
from tests.erp.po_support import soon
from tests.factories import actor_in, make_item, make_tenant_world, unique


def new_item(tx, world, **kw):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        item = make_item(uow, **kw)
        uow.commit()
    return item


def site_of(tx, world, n: int = 0) -> uuid.UUID:
    """The site the world's supplier `n` was made with."""
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return factories.site_of(uow, world.suppliers[n])


def approve(tx, world, who, *, supplier: int = 0, actor: str = "buyer", **kw) -> uuid.UUID:
    with tx.uow(tenant_id=world.tenant_id, actor=who[actor]) as uow:
        entry = suppliers.set_approval(uow, who[actor], supplier_id=world.suppliers[supplier].id, **kw)
        uow.commit()
        return entry.id


def state(tx, world) -> tuple:
    """The whole list and its history, to compare before and after."""
    with tx.uow(tenant_id=world.tenant_id) as uow:
        entries = sorted((str(e.id), e.status, e.reason, e.changed_at) for e in uow.session.scalars(sa.select(ApprovedSource)))
        changes = uow.scalar(sa.select(sa.func.count()).select_from(ApprovedSourceChange))
        contacts = uow.scalar(sa.select(sa.func.count()).select_from(SupplierContact))
        return entries, changes, contacts


def effective(tx, world, item, *, supplier: int = 0, site_id=None):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return suppliers.approval_for(uow, supplier_id=world.suppliers[supplier].id, item_id=item.id, site_id=site_id)


# -- entries and history ---------------------------------------------------------------------


def test_an_entry_is_created_changed_and_its_history_kept(tx, world, who):
    item = new_item(tx, world)
    entry_id = approve(tx, world, who, item_id=item.id, status="approved", reason="Initial qualification passed")
    assert approve(tx, world, who, item_id=item.id, status="probation", reason="Two late deliveries") == entry_id
    approve(tx, world, who, item_id=item.id, status="disqualified", reason="Failed audit.")
    with tx.uow(tenant_id=world.tenant_id, actor=who["viewer"]) as uow:
        rows = suppliers.list_approvals(uow, who["viewer"], supplier_id=world.suppliers[0].id)
        history = suppliers.approval_history(uow, who["viewer"], approved_source_id=entry_id)
        events = uow.execute(
            sa.select(Event.action, Event.reason).where(Event.table_name == "approved_source", Event.row_id == str(entry_id))
        ).all()
        uow.session.expunge_all()  # read after the unit of work, as loaded
    assert [(r.entry.status, r.entry.reason, r.part_number, r.site_name) for r in rows] == [
        ("disqualified", "Failed audit.", item.part_number, None)
    ]
    assert rows[0].entry.changed_by == world.users["buyer"].id and rows[0].supplier_name == world.suppliers[0].name
    assert [(h.from_status, h.to_status, h.reason) for h in history] == [
        ("probation", "disqualified", "Failed audit."),
        ("approved", "probation", "Two late deliveries"),
        (None, "approved", "Initial qualification passed"),
    ]
    assert all(h.changed_by == world.users["buyer"].id and h.supplier_id == world.suppliers[0].id for h in history)
    # The audit trail records each change with its reason.
    assert ("I", "Initial qualification passed") in events and ("U", "Failed audit.") in events


def test_a_site_and_a_category_are_entries_of_their_own(tx, world, who):
    item = new_item(tx, world)
    site = site_of(tx, world)
    ids = {
        approve(tx, world, who, item_id=item.id, status="approved", reason="Qualified"),
        approve(tx, world, who, item_id=item.id, site_id=site, status="conditional", reason="Extra inspection"),
        approve(tx, world, who, category="packaging", status="approved", reason="Qualified"),
        approve(tx, world, who, category="packaging", site_id=site, status="probation", reason="New line"),
    }
    assert len(ids) == 4
    with tx.uow(tenant_id=world.tenant_id, actor=who["viewer"]) as uow:
        rows = suppliers.list_approvals(uow, who["viewer"], supplier_id=world.suppliers[0].id)
        by_item = suppliers.list_approvals(uow, who["viewer"], item_id=item.id)
        uow.session.expunge_all()
    # Every site first, then the site's own entries.
    assert [(r.site_name, r.part_number, r.entry.category, r.entry.status) for r in rows] == [
        (None, item.part_number, None, "approved"),
        (None, None, "packaging", "approved"),
        ("Site 1", item.part_number, None, "conditional"),
        ("Site 1", None, "packaging", "probation"),
    ]
    assert {r.entry.status for r in by_item} == {"approved", "conditional"}


def _bad(tx, world, item, other_item):
    """Bad requests: (arguments, the field its error names)."""
    own_site = site_of(tx, world, 1)  # supplier 2's
    return [
        ({"item_id": item.id, "status": "bogus"}, "status"),
        ({"item_id": item.id, "status": "approved", "reason": "   "}, "reason"),
        ({"item_id": item.id, "status": "approved", "reason": None}, "reason"),
        ({"item_id": item.id, "status": "approved", "reason": "x" * 2001}, "reason"),
        ({"status": "approved"}, "item_id"),
        ({"item_id": item.id, "category": "component", "status": "approved"}, "item_id"),
        ({"category": "nonsense", "status": "approved"}, "category"),
        ({"item_id": uuid.uuid4(), "status": "approved"}, "item_id"),
        ({"item_id": other_item.id, "status": "approved"}, "item_id"),  # another tenant's
        ({"item_id": item.id, "site_id": own_site, "status": "approved"}, "site_id"),  # another supplier's
        ({"item_id": item.id, "site_id": uuid.uuid4(), "status": "approved"}, "site_id"),
    ]


def test_bad_requests_are_refused_with_the_field_named_and_change_nothing(tx, world, other_world, who):
    item = new_item(tx, world)
    other_item = new_item(tx, other_world)
    approve(tx, world, who, item_id=item.id, status="approved", reason="Qualified")
    before = state(tx, world)
    for kwargs, field in _bad(tx, world, item, other_item):
        kwargs = {"reason": "Because"} | kwargs
        with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
            with pytest.raises(ValidationFailed) as refused:
                suppliers.set_approval(uow, who["buyer"], supplier_id=world.suppliers[0].id, **kwargs)
            uow.commit()
        assert field in refused.value.errors, (kwargs, refused.value.errors)
        assert state(tx, world) == before


def test_a_tenant_site_is_not_a_supplier_site(tx, world, who):
    item = new_item(tx, world)
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        own = tenants.create_site(uow, organisation=tenants.own_organisation(uow), name="Main warehouse", kind="warehouse")
        uow.commit()
    before = state(tx, world)
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow, pytest.raises(ValidationFailed) as refused:
        suppliers.set_approval(
            uow, who["buyer"], supplier_id=world.suppliers[0].id, site_id=own.id, item_id=item.id, status="approved", reason="x"
        )
    assert set(refused.value.errors) == {"site_id"} and state(tx, world) == before


def test_the_same_status_again_is_refused(tx, world, who):
    item = new_item(tx, world)
    approve(tx, world, who, item_id=item.id, status="probation", reason="Late deliveries")
    before = state(tx, world)
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow, pytest.raises(ValidationFailed) as refused:
        suppliers.set_approval(
            uow, who["buyer"], supplier_id=world.suppliers[0].id, item_id=item.id, status="probation", reason="Still late"
        )
    assert refused.value.errors == {"status": suppliers.SAME_STATUS}
    assert state(tx, world) == before


def waiting_for_a_lock(admin, timeout: float = 20) -> bool:
    """Whether a session of the test database comes to wait for a lock within `timeout`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        query = "select count(*) from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'"
        if admin.execute(query).fetchone()[0]:
            return True
        time.sleep(0.05)
    return False


def test_two_people_creating_the_same_entry_at_once_one_is_told_it_changed(runtime, admin):
    # Committed, in a tenant of its own: the second transaction must not see the first's row.
    with runtime.uow() as uow:
        fresh = make_tenant_world(uow, slug=unique("asl"))
        uow.commit()
    with runtime.uow() as lookup:
        first, second = actor_in(lookup, fresh, "buyer"), actor_in(lookup, fresh, "tenant_admin")
    entry = {"supplier_id": fresh.suppliers[0].id, "item_id": fresh.items[0].id}
    outcome = []

    def meanwhile():
        try:
            with runtime.uow(tenant_id=fresh.tenant_id, actor=second) as uow:
                suppliers.set_approval(uow, second, **entry, status="conditional", reason="Open audit findings")
                uow.commit()
            outcome.append("created")
        except Exception as exc:  # noqa: BLE001 - asserted below
            outcome.append(exc)

    thread = threading.Thread(target=meanwhile)
    with runtime.uow(tenant_id=fresh.tenant_id, actor=first) as uow:
        suppliers.set_approval(uow, first, **entry, status="approved", reason="Audit passed")
        thread.start()  # finds no entry (not committed yet), inserts one and waits on the unique index
        assert waiting_for_a_lock(admin)
        uow.commit()
    thread.join(30)
    assert not thread.is_alive()
    [refused] = outcome
    assert isinstance(refused, ApprovalChanged)
    with runtime.uow(tenant_id=fresh.tenant_id) as uow:
        found = [(e.status, e.reason) for e in uow.session.scalars(sa.select(ApprovedSource))]
        changes = [(c.from_status, c.to_status) for c in uow.session.scalars(sa.select(ApprovedSourceChange))]
    assert found == [("approved", "Audit passed")] and changes == [(None, "approved")]


def test_only_the_tenants_suppliers_and_only_with_the_permission(tx, world, other_world, who):
    item = new_item(tx, world)
    before = state(tx, world)
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        own = tenants.own_organisation(uow).id
    for supplier_id in (other_world.suppliers[0].id, own, uuid.uuid4()):
        with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow, pytest.raises(SupplierNotFound):
            suppliers.set_approval(uow, who["buyer"], supplier_id=supplier_id, item_id=item.id, status="approved", reason="x")
        with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow, pytest.raises(SupplierNotFound):
            suppliers.list_approvals(uow, who["buyer"], supplier_id=supplier_id)
        with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow, pytest.raises(SupplierNotFound):
            suppliers.add_contact(uow, who["buyer"], supplier_id=supplier_id, name="Li Wei")
    for actor in ("viewer", "supplier1"):
        with tx.uow(tenant_id=world.tenant_id, actor=who[actor]) as uow, pytest.raises(Forbidden):
            suppliers.set_approval(
                uow, who[actor], supplier_id=world.suppliers[0].id, item_id=item.id, status="approved", reason="x"
            )
        with tx.uow(tenant_id=world.tenant_id, actor=who[actor]) as uow, pytest.raises(Forbidden):
            suppliers.add_contact(uow, who[actor], supplier_id=world.suppliers[0].id, name="Li Wei")
    assert state(tx, world) == before


# -- the most specific entry decides ----------------------------------------------------------


def test_the_most_specific_entry_decides(tx, world, who):
    item = new_item(tx, world, category="sterile_barrier")
    sibling = new_item(tx, world, category="sterile_barrier")
    stranger = new_item(tx, world, category="service")
    site = site_of(tx, world)
    assert effective(tx, world, item) is None  # the list says nothing yet

    approve(tx, world, who, category="sterile_barrier", status="approved", reason="Qualified")
    assert (effective(tx, world, item), effective(tx, world, item, site_id=site)) == ("approved", "approved")
    approve(tx, world, who, category="sterile_barrier", site_id=site, status="disqualified", reason="Site failed audit")
    assert (effective(tx, world, item), effective(tx, world, item, site_id=site)) == ("approved", "disqualified")
    approve(tx, world, who, item_id=item.id, status="probation", reason="Late")
    # supplier + item beats site + category
    assert (effective(tx, world, item), effective(tx, world, item, site_id=site)) == ("probation", "probation")
    approve(tx, world, who, item_id=item.id, site_id=site, status="conditional", reason="Extra inspection")
    assert (effective(tx, world, item), effective(tx, world, item, site_id=site)) == ("probation", "conditional")
    # The sibling has only the category's entries; another category, none; another supplier, none.
    assert (effective(tx, world, sibling), effective(tx, world, sibling, site_id=site)) == ("approved", "disqualified")
    assert effective(tx, world, stranger) is None
    assert effective(tx, world, item, supplier=1) is None
    # Another site of the supplier: its entries do not count there.
    with tx.uow(tenant_id=world.tenant_id) as uow:
        other_site = tenants.create_site(uow, organisation=world.suppliers[0], name="Site B", kind="distribution").id
        uow.commit()
    assert effective(tx, world, sibling, site_id=other_site) == "approved"


# -- isolation ---------------------------------------------------------------------------------


def test_a_supplier_user_sees_only_its_own_entries(tx, world, other_world, who):
    item = new_item(tx, world)
    approve(tx, world, who, item_id=item.id, status="approved", reason="Qualified", supplier=0)
    approve(tx, world, who, item_id=item.id, status="disqualified", reason="Failed audit", supplier=1)
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        for n in (0, 1):
            suppliers.add_contact(uow, who["buyer"], supplier_id=world.suppliers[n].id, name=f"Contact {n}")
        uow.commit()
    # Supplier roles hold no suppliers.view (auth.permissions.SUPPLIER_PERMISSIONS) ...
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier1"]) as uow, pytest.raises(Forbidden):
        suppliers.list_approvals(uow, who["supplier1"])
    # ... and were they given it, row-level security would still show only their own rows.
    reader = dataclasses.replace(who["supplier1"], permissions=who["supplier1"].permissions | {"suppliers.view"})
    with tx.uow(tenant_id=world.tenant_id, actor=reader) as uow:
        rows = suppliers.list_approvals(uow, reader)
        by_item = suppliers.list_approvals(uow, reader, item_id=item.id)
        history = suppliers.approval_history(uow, reader)
        contacts = list(uow.session.scalars(sa.select(SupplierContact)))
        raw = list(uow.session.scalars(sa.select(ApprovedSource)))
        with pytest.raises(SupplierNotFound):
            suppliers.list_approvals(uow, reader, supplier_id=world.suppliers[1].id)
        assert suppliers.approval_for(uow, supplier_id=world.suppliers[1].id, item_id=item.id) is None
        uow.session.expunge_all()
    own = world.suppliers[0].id
    assert [r.entry.status for r in rows] == ["approved"] and [r.entry.supplier_id for r in by_item] == [own]
    assert {h.supplier_id for h in history} == {own}
    assert [c.name for c in contacts] == ["Contact 0"] and [e.supplier_id for e in raw] == [own]
    # Another tenant sees nothing of it.
    with tx.uow(tenant_id=other_world.tenant_id) as uow:
        assert uow.scalar(sa.select(sa.func.count()).select_from(ApprovedSource).where(ApprovedSource.item_id == item.id)) == 0


# -- purchase orders ---------------------------------------------------------------------------


def order(tx, world, who, items, *, supplier: int = 0):
    lines = [{"item_id": i.id, "quantity": "10", "unit_price": "1.00", "requested_date": soon(30)} for i in items]
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        made = po.create_purchase_order(uow, who["buyer"], supplier_id=world.suppliers[supplier].id, currency="EUR", lines=lines)
        uow.commit()
        return made.id


def orders(tx, world) -> int:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return uow.scalar(sa.select(sa.func.count()).select_from(PurchaseOrder))


def test_a_disqualified_item_blocks_a_new_order_naming_the_reason(tx, world, who):
    fine, banned = new_item(tx, world, category="service"), new_item(tx, world, part_number=f"PC-{uuid.uuid4().hex[:6]}")
    approve(tx, world, who, item_id=banned.id, status="disqualified", reason="failed audit.")
    before = orders(tx, world)
    with pytest.raises(SupplierDisqualified) as refused:
        order(tx, world, who, [fine, banned])
    today = utcnow().date().isoformat()
    assert (
        str(refused.value) == f"{world.suppliers[0].name} is disqualified for {banned.part_number} since {today}: failed audit."
    )
    assert refused.value.status == 422 and refused.value.errors == {"lines.1.item_id": po.DISQUALIFIED}
    assert orders(tx, world) == before
    # Other suppliers are not concerned.
    assert order(tx, world, who, [banned], supplier=1)


def test_a_disqualified_category_blocks_and_other_errors_are_kept(tx, world, who):
    item = new_item(tx, world, category="raw_material")
    approve(tx, world, who, category="raw_material", status="disqualified", reason="Supplier lost its certification")
    lines = [{"item_id": item.id, "quantity": "0", "unit_price": "1.00", "requested_date": soon(30)}]
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow, pytest.raises(SupplierDisqualified) as refused:
        po.create_purchase_order(uow, who["buyer"], supplier_id=world.suppliers[0].id, currency="EUR", lines=lines)
    assert set(refused.value.errors) == {"lines.0.item_id", "lines.0.quantity"}
    assert "Supplier lost its certification" in str(refused.value)


def test_probation_conditional_and_no_entry_do_not_block(tx, world, who):
    on_probation, conditional, unlisted = (new_item(tx, world) for _ in range(3))
    approve(tx, world, who, item_id=on_probation.id, status="probation", reason="Late deliveries")
    approve(tx, world, who, item_id=conditional.id, status="conditional", reason="Extra inspection")
    # Disqualified at one site only: an order names no supplier site, so it is not blocked.
    approve(tx, world, who, item_id=unlisted.id, site_id=site_of(tx, world), status="disqualified", reason="Site closed")
    before = orders(tx, world)
    assert order(tx, world, who, [on_probation, conditional, unlisted])
    assert orders(tx, world) == before + 1
    # Requalified after a disqualification: allowed again.
    approve(tx, world, who, item_id=on_probation.id, status="disqualified", reason="Failed audit")
    with pytest.raises(SupplierDisqualified):
        order(tx, world, who, [on_probation])
    approve(tx, world, who, item_id=on_probation.id, status="approved", reason="Re-audit passed")
    assert order(tx, world, who, [on_probation])


# -- contacts ------------------------------------------------------------------------------------


def test_contacts_with_one_primary(tx, world, who):
    supplier_id = world.suppliers[0].id
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        suppliers.add_contact(
            uow, who["buyer"], supplier_id=supplier_id, name="Zhang San", email="zhang@s.example", is_primary=True
        )
        suppliers.add_contact(uow, who["buyer"], supplier_id=supplier_id, name="Anna Berg", role="Quality")
        suppliers.add_contact(
            uow, who["buyer"], supplier_id=supplier_id, name="Li Wei", phone="+86 755 1234 5678", role="Sales", is_primary=True
        )
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=who["viewer"]) as uow:
        found = [(c.name, c.is_primary, c.role) for c in suppliers.list_contacts(uow, who["viewer"], supplier_id=supplier_id)]
    assert found == [("Li Wei", True, "Sales"), ("Anna Berg", False, "Quality"), ("Zhang San", False, None)]


@pytest.mark.parametrize(
    ("fields", "error"),
    [
        ({"name": "  "}, "name"),
        ({"name": "x" * 201}, "name"),
        ({"email": "not-an-address"}, "email"),
        ({"phone": "call me"}, "phone"),
        ({"role": "x" * 101}, "role"),
    ],
)
def test_bad_contacts_are_refused_and_change_nothing(tx, world, who, fields, error):
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        suppliers.add_contact(uow, who["buyer"], supplier_id=world.suppliers[0].id, name="Zhang San", is_primary=True)
        uow.commit()
    before = state(tx, world)
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow, pytest.raises(ValidationFailed) as refused:
        suppliers.add_contact(
            uow, who["buyer"], supplier_id=world.suppliers[0].id, **({"name": "Li Wei", "is_primary": True} | fields)
        )
    assert set(refused.value.errors) == {error}
    assert state(tx, world) == before
    with tx.uow(tenant_id=world.tenant_id, actor=who["viewer"]) as uow:
        assert [c.is_primary for c in suppliers.list_contacts(uow, who["viewer"], supplier_id=world.suppliers[0].id)] == [True]
