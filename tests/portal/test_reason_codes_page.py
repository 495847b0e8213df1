"""The rejection reasons screen: add (with errors on the form), retire, offer again;
the last offered reason stays; others cannot reach it."""

from __future__ import annotations

import pytest

from erp.purchasing import confirmation
from tests.portal.support import login, text_of, token_in

PAGE = "/buyer/reason-codes"


def offered(tx, world) -> list[str]:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        found = [c.code for c in confirmation.reason_codes(uow, active_only=True)]
        uow.commit()
        return found


def test_a_buyer_adds_retires_and_restores_a_reason(client, tx, world):
    offered(tx, world)  # the tenant's defaults exist
    login(client, world.users["buyer"])
    page = client.get(PAGE)
    assert page.status_code == 200 and "capacity" in text_of(page)
    token = token_in(page.data)
    bad = client.post(PAGE, data={"csrf_token": token, "code": "has space", "name": ""})
    assert bad.status_code == 422 and "This field is required." in text_of(bad)
    assert "has space" not in offered(tx, world)
    added = client.post(PAGE, data={"csrf_token": token, "code": "tooling", "name": "Tooling not ready", "name_zh": "模具未就绪"})
    assert added.status_code == 303 and "tooling" in offered(tx, world)
    assert client.post(f"{PAGE}/tooling/retire", data={"csrf_token": token}).status_code == 303
    assert "tooling" not in offered(tx, world)
    assert client.post(f"{PAGE}/tooling/restore", data={"csrf_token": token}).status_code == 303
    assert "tooling" in offered(tx, world)
    assert client.post(f"{PAGE}/nope/retire", data={"csrf_token": token}).status_code == 404
    assert client.post(f"{PAGE}/tooling/retire").status_code == 400  # no CSRF token


@pytest.mark.parametrize("who", ["viewer", "supplier1"])
def test_others_cannot_reach_it(client, world, who):
    login(client, world.users[who])
    assert client.get(PAGE).status_code == 403
