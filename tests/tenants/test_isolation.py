"""Row-level security: tenants and suppliers see only their own rows."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from erp.items.models import Item
from erp.purchasing.models import PurchaseOrder, PurchaseOrderLine
from tenants.models import Membership, Organisation, Site
from tests.factories import actor_in, make_item

TENANT_TABLES_SQL = """
select c.oid::regclass::text from pg_class c join pg_attribute a on a.attrelid = c.oid
where a.attname = 'tenant_id' and not a.attisdropped and c.relkind in ('r', 'p')
  and c.relnamespace::regnamespace::text in ('public', 'audit') order by 1
"""


def tenant_tables(admin) -> list[str]:
    return [row[0] for row in admin.execute(TENANT_TABLES_SQL)]


def test_no_tenant_context_sees_nothing(tx, admin):
    with tx.uow() as uow:
        for table in tenant_tables(admin):
            assert uow.scalar(sa.text(f"select count(*) from {table}")) == 0, table


def test_tenant_sees_only_its_own_rows(tx, world, other_world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        tenants = set(uow.session.scalars(sa.select(PurchaseOrder.tenant_id)))
        numbers = set(uow.session.scalars(sa.select(PurchaseOrder.id)))
    assert tenants == {world.tenant_id}
    assert numbers == {po.id for po in world.purchase_orders}


def test_insert_with_another_tenants_id_fails(tx, world, other_world):
    with tx.uow(tenant_id=world.tenant_id) as uow, pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
        make_item(uow, tenant_id=other_world.tenant_id)


def test_update_into_another_tenant_fails(tx, world, other_world):
    with tx.uow(tenant_id=world.tenant_id) as uow, pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
        uow.execute(sa.update(Item).values(tenant_id=other_world.tenant_id))


def test_update_of_another_tenants_rows_touches_nothing(tx, world, other_world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        result = uow.execute(sa.update(Item).where(Item.id == other_world.items[0].id).values(name="hijacked"))
        assert result.rowcount == 0


def test_pooled_connection_carries_no_tenant(runtime, world):
    # One connection in the pool: the second transaction gets the same connection.
    from kernel.database import create_app_engine
    from kernel.runtime import Runtime
    from kernel.uow import make_sessionmaker

    engine = create_app_engine(runtime.urls, pool_size=1)
    rt = Runtime(settings=runtime.settings, urls=runtime.urls, engine=engine, sessions=make_sessionmaker(engine))
    try:
        with rt.uow(tenant_id=world.tenant_id) as uow:
            assert uow.scalar(sa.select(sa.func.count()).select_from(Item)) > 0
            pid = uow.scalar(sa.text("select pg_backend_pid()"))
            uow.commit()
        with rt.uow() as uow:
            assert uow.scalar(sa.text("select pg_backend_pid()")) == pid
            assert uow.scalar(sa.text("select current_setting('app.tenant_id', true)")) in ("", None)
            assert uow.scalar(sa.select(sa.func.count()).select_from(Item)) == 0
        # A raw connection outside any unit of work sees nothing either.
        with engine.connect() as connection:
            assert connection.scalar(sa.select(sa.func.count()).select_from(Item)) == 0
    finally:
        engine.dispose()


@pytest.mark.parametrize("model", [PurchaseOrder, PurchaseOrderLine])
def test_supplier_sees_only_its_own_rows(tx, world, model):
    supplier1, _supplier2 = world.suppliers
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, "supplier1")
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        suppliers = set(uow.session.scalars(sa.select(model.supplier_id)))
    assert suppliers == {supplier1.id}


def test_supplier_cannot_see_other_supplier_organisation_or_sites(tx, world):
    supplier1, supplier2 = world.suppliers
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, "supplier1")
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        orgs = set(uow.session.scalars(sa.select(Organisation.id)))
        site_suppliers = set(uow.session.scalars(sa.select(Site.supplier_id)))
        member_suppliers = set(uow.session.scalars(sa.select(Membership.supplier_id)))
    assert supplier2.id not in orgs and supplier1.id in orgs
    assert supplier2.id not in site_suppliers
    assert supplier2.id not in member_suppliers


def test_supplier_cannot_write_for_another_supplier(tx, world):
    _supplier1, supplier2 = world.suppliers
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, "supplier1")
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        with pytest.raises(sa.exc.ProgrammingError, match="row-level security"):
            uow.add(
                PurchaseOrder(
                    number="X-1", supplier_id=supplier2.id, currency="EUR", order_date=sa.func.current_date(), id=uuid.uuid4()
                )
            )
            uow.flush()
