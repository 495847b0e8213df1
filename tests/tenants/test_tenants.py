import pytest
import sqlalchemy as sa

from tenants import service as tenants
from tenants.errors import SlugTaken, TenantNotFound
from tenants.models import Organisation


def test_a_taken_slug_is_refused_and_the_transaction_goes_on(tx, world):
    with tx.uow() as uow:
        with pytest.raises(SlugTaken):
            tenants.create_tenant(uow, slug=world.slug, name="Copycat")
        tenant = tenants.create_tenant(uow, slug="fresh-one", name="Fresh")
        assert uow.scalar(sa.select(Organisation.name).where(Organisation.kind == "tenant")) == "Fresh"
        assert tenants.tenant_id_by_slug(uow, slug="fresh-one") == tenant.id


def test_unknown_slug_is_a_clear_error(tx):
    with tx.uow() as uow, pytest.raises(TenantNotFound):
        tenants.tenant_id_by_slug(uow, slug="nope")


def test_counters_are_gapless_per_tenant_and_year(tx, world, other_world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        first = tenants.next_number(uow, name="ASN", prefix="ASN", year=2031)
        second = tenants.next_number(uow, name="ASN", prefix="ASN", year=2031)
    with tx.uow(tenant_id=other_world.tenant_id) as uow:
        other = tenants.next_number(uow, name="ASN", prefix="ASN", year=2031)
    assert (first, second, other) == ("ASN-2031-000001", "ASN-2031-000002", "ASN-2031-000001")
