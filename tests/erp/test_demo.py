"""The demo data `make demo` seeds (rolled back with the test): it loads, and the walk in
the README can start from it."""

from __future__ import annotations

import sqlalchemy as sa

from erp import demo
from erp.purchasing.models import PurchaseOrder
from tenants import service as tenants


def test_the_demo_seeds_once_with_a_draft_to_issue_and_an_api_client(tx):
    assert demo.seed(tx) is True
    assert demo.seed(tx) is False  # a second run reuses the data
    with tx.uow() as uow:
        tenant_id = tenants.tenant_id_by_slug(uow, slug="demo")
    with tx.uow(tenant_id=tenant_id) as uow:
        statuses = sorted(uow.session.scalars(sa.select(PurchaseOrder.status)))
    assert statuses == ["draft", "issued", "issued", "issued"]
    client_id, secret = demo.api_client(tx)
    again_id, again_secret = demo.api_client(tx)
    assert client_id == again_id and secret != again_secret  # rotated at every start
