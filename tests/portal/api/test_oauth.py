"""API clients over HTTP: the token endpoint (authlib, RFC 6749), bearer tokens on the
API (RFC 6750), isolation between tenants and suppliers, and the audit trail naming the
client. Every refusal: a clear error, nothing changed, a security event kept."""

from __future__ import annotations

import base64
import uuid

import pytest
import sqlalchemy as sa
from openapi_spec_validator import validate

from auth import clients
from auth.models import ApiToken, SecurityEvent
from erp.items.models import Item
from kernel.crypto import digest
from kernel.models import NIL_TENANT_ID
from kernel.uow import Actor
from tests.factories import actor_in, unique
from tests.portal.support import login

TOKEN_URL = "/api/v1/oauth/token"


class Registered:
    def __init__(self, client, secret) -> None:
        self.pk, self.client_id, self.secret, self.name = client.id, client.client_id, secret, client.name

    @property
    def actor_name(self) -> str:
        return f"api:{self.name} ({self.client_id})"


def register(tx, world, *, scopes=("po.view", "items.manage"), supplier=None, name="Plant MES") -> Registered:
    with tx.uow() as uow:
        admin = actor_in(uow, world, "tenant_admin")
        uow.switch_tenant(world.tenant_id, actor=admin)
        client, secret = clients.create_client(
            uow, admin, name=name, scopes=list(scopes), supplier_id=supplier.id if supplier else None
        )
        uow.commit()
    return Registered(client, secret)


def basic(client_id: str, secret: str) -> dict:
    return {"Authorization": "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()}


def request_token(http, reg: Registered, *, scope=None, how="basic", secret=None, **environ):
    secret = reg.secret if secret is None else secret
    data = {"grant_type": "client_credentials"} | ({"scope": scope} if scope else {})
    headers = {}
    if how == "basic":
        headers = basic(reg.client_id, secret)
    else:
        data |= {"client_id": reg.client_id, "client_secret": secret}
    return http.post(TOKEN_URL, data=data, headers=headers, environ_base=environ)


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def token_for(http, reg, **kw) -> str:
    response = request_token(http, reg, **kw)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.json["access_token"]


def events(tx, tenant_id, kind) -> list[SecurityEvent]:
    with tx.uow(tenant_id=tenant_id) as uow:
        rows = list(uow.session.scalars(sa.select(SecurityEvent).where(SecurityEvent.kind == kind).order_by(SecurityEvent.id)))
        uow.session.expunge_all()  # plain values after the unit of work ends
        return rows


def tokens_of(tx, world, reg) -> list[ApiToken]:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        rows = list(uow.session.scalars(sa.select(ApiToken).where(ApiToken.client_id == reg.pk)))
        uow.session.expunge_all()
        return rows


def count_items(tx, tenant_id, part_number) -> int:
    with tx.uow(tenant_id=tenant_id) as uow:
        return uow.scalar(sa.select(sa.func.count()).select_from(Item).where(Item.part_number == part_number))


def new_item(**extra) -> dict:
    return {"part_number": unique("MES-"), "name": "Sterile cap", "category": "component", "uom": "EA"} | extra


# --- the token endpoint ----------------------------------------------------------------


@pytest.mark.parametrize("how", ["basic", "post"])
def test_a_client_gets_a_token_by_basic_or_form_authentication(client, tx, world, settings, how):
    reg = register(tx, world)
    response = request_token(client, reg, how=how)
    assert response.status_code == 200 and response.mimetype == "application/json"
    body = response.json
    assert body["token_type"] == "Bearer" and body["expires_in"] == settings.api_token_minutes * 60
    assert body["scope"] == "items.manage po.view" and "refresh_token" not in body
    assert response.headers["Cache-Control"] == "no-store"
    # Only the digest is kept.
    [stored] = tokens_of(tx, world, reg)
    assert stored.token_hash == digest(body["access_token"]) and stored.scopes == ["items.manage", "po.view"]


def test_a_wrong_secret_and_an_unknown_client_get_the_same_answer(client, tx, world):
    reg = register(tx, world)
    wrong = request_token(client, reg, secret=reg.secret[:-1] + ("A" if reg.secret[-1] != "A" else "B"))
    unknown_reg = Registered.__new__(Registered)
    unknown_reg.client_id, unknown_reg.secret = "tpc_" + "x" * 22, reg.secret
    unknown = request_token(client, unknown_reg)
    unknown_post = request_token(client, unknown_reg, how="post")
    for response in (wrong, unknown, unknown_post):
        assert response.status_code == 401
        assert response.json == wrong.json and response.json["error"] == "invalid_client"
        assert response.headers["WWW-Authenticate"].startswith("Basic ")
    assert tokens_of(tx, world, reg) == []
    # The refusals are kept although the answers are errors.
    assert [e.detail["reason"] for e in events(tx, world.tenant_id, "api_token_refused")] == ["wrong_secret"]
    platform = [
        e.detail for e in events(tx, NIL_TENANT_ID, "api_token_refused") if e.detail["client_id"] == unknown_reg.client_id
    ]
    assert [d["reason"] for d in platform] == ["unknown_client", "unknown_client"]


def test_other_grant_types_are_unsupported(client, tx, world):
    reg = register(tx, world)
    response = client.post(
        TOKEN_URL, data={"grant_type": "password", "username": "a", "password": "b"}, headers=basic(reg.client_id, reg.secret)
    )
    assert response.status_code == 400 and response.json["error"] == "unsupported_grant_type"
    assert tokens_of(tx, world, reg) == []


def test_a_token_gets_a_subset_of_the_clients_scopes_and_no_more(client, tx, world):
    reg = register(tx, world)
    narrow = request_token(client, reg, scope="po.view")
    assert narrow.status_code == 200 and narrow.json["scope"] == "po.view"
    for scope in ("po.view audit.export", "users.manage", "nonsense"):
        response = request_token(client, reg, scope=scope)
        assert response.status_code == 400 and response.json["error"] == "invalid_scope"
    assert [t.scopes for t in tokens_of(tx, world, reg)] == [["po.view"]]
    assert [e.detail["reason"] for e in events(tx, world.tenant_id, "api_token_refused")] == ["scope"] * 3


# --- bearer tokens on the API -------------------------------------------------------------


def test_me_tells_a_client_who_it_is(client, tx, world):
    reg = register(tx, world, scopes=["po.view", "asn.view"], supplier=world.suppliers[1], name="Supplier ERP")
    token = token_for(client, reg, scope="po.view")
    me = client.get("/api/v1/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.json["client"] == {"client_id": reg.client_id, "name": "Supplier ERP", "scopes": ["po.view"]}
    assert me.json["user"] is None and me.json["memberships"] == [] and me.json["csrf_token"] is None
    assert me.json["tenant"]["id"] == str(world.tenant_id) and me.json["tenant"]["slug"] == world.slug
    assert me.json["supplier"]["id"] == str(world.suppliers[1].id) and me.json["permissions"] == ["po.view"]


@pytest.mark.parametrize("header", ["Bearer nope", "Bearer ", "Basic Zm9vOmJhcg==", "Bearer " + "x" * 300])
def test_a_bad_token_is_a_401_with_a_bearer_challenge(client, header):
    response = client.get("/api/v1/me", headers={"Authorization": header})
    assert response.status_code == 401 and response.mimetype == "application/problem+json"
    assert response.json["type"] == "urn:traceport:problem:invalid-token"
    assert 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert response.headers["WWW-Authenticate"].startswith("Bearer ")


def test_a_bearer_request_never_falls_back_to_the_session(client, tx, world):
    login(client, world.users["buyer"])
    assert client.get("/api/v1/me").json["user"]["email"] == world.users["buyer"].email
    # A bad token with a good cookie: refused, not the cookie's user.
    assert client.get("/api/v1/purchase-orders", headers=bearer("nope")).status_code == 401
    # A good token with the cookie: the client, not the user.
    reg = register(tx, world, scopes=["po.view"])
    me = client.get("/api/v1/me", headers=bearer(token_for(client, reg)))
    assert me.json["user"] is None and me.json["client"]["client_id"] == reg.client_id


def test_a_client_writes_without_csrf_and_the_trail_names_it(client, tx, world):
    reg = register(tx, world)
    body = new_item()
    response = client.post("/api/v1/items", json=body, headers=bearer(token_for(client, reg)))
    assert response.status_code == 201
    item_id = response.json["id"]
    with tx.uow(tenant_id=world.tenant_id) as uow:
        actor, actor_id = uow.execute(
            sa.text("select actor, actor_id from audit.event where table_name = 'item' and row_id = :i and action = 'I'"),
            {"i": item_id},
        ).one()
    assert actor == reg.actor_name and actor_id is None


def test_a_clients_idempotency_keys_are_its_own(client, tx, world):
    reg = register(tx, world)
    headers = bearer(token_for(client, reg)) | {"Idempotency-Key": "mes-1"}
    body = new_item()
    first = client.post("/api/v1/items", json=body, headers=headers)
    again = client.post("/api/v1/items", json=body, headers=headers)
    assert first.status_code == again.status_code == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert count_items(tx, world.tenant_id, body["part_number"]) == 1


def test_a_token_without_the_scope_is_refused(client, tx, world):
    reg = register(tx, world, scopes=["po.view"])
    body = new_item()
    response = client.post("/api/v1/items", json=body, headers=bearer(token_for(client, reg)))
    assert response.status_code == 403 and response.mimetype == "application/problem+json"
    assert 'error="insufficient_scope"' in response.headers["WWW-Authenticate"]
    assert count_items(tx, world.tenant_id, body["part_number"]) == 0
    [refusal] = [e for e in events(tx, world.tenant_id, "permission_denied") if e.detail.get("actor") == reg.actor_name]
    assert refusal.detail["needs"] == ["items.manage"] and refusal.user_id is None


def test_a_revoked_clients_tokens_stop_at_once(client, tx, world):
    reg = register(tx, world)
    token = token_for(client, reg)
    assert client.get("/api/v1/purchase-orders", headers=bearer(token)).status_code == 200
    with tx.uow() as uow:
        admin = actor_in(uow, world, "tenant_admin")
        uow.switch_tenant(world.tenant_id, actor=admin)
        clients.revoke_client(uow, admin, client_pk=reg.pk)
        uow.commit()
    response = client.get("/api/v1/purchase-orders", headers=bearer(token))
    assert response.status_code == 401 and 'error="invalid_token"' in response.headers["WWW-Authenticate"]
    assert request_token(client, reg).status_code == 401
    reasons = [e.detail["reason"] for e in events(tx, world.tenant_id, "api_token_refused")]
    assert reasons == ["token_revoked", "client_revoked"]


def test_an_expired_token_is_refused(client, tx, world):
    reg = register(tx, world)
    with tx.uow() as uow:
        token, _ = clients.issue_token(uow, client_id=reg.client_id, client_secret=reg.secret, minutes=0)
        uow.commit()
    response = client.get("/api/v1/me", headers=bearer(token))
    assert response.status_code == 401
    assert [e.detail["reason"] for e in events(tx, world.tenant_id, "api_token_refused")] == ["token_expired"]


# --- isolation ----------------------------------------------------------------------------


def test_tenant_a_token_never_sees_tenant_b(client, tx, world, other_world):
    token = token_for(client, register(tx, world, scopes=["po.view", "items.manage"]))
    numbers = {po["number"] for po in client.get("/api/v1/purchase-orders", headers=bearer(token)).json["items"]}
    ids = {po["id"] for po in client.get("/api/v1/purchase-orders", headers=bearer(token)).json["items"]}
    assert {str(po.id) for po in world.purchase_orders} <= ids
    assert not ids & {str(po.id) for po in other_world.purchase_orders}
    assert numbers  # B's numbers repeat A's (per-tenant counters): ids decide
    mine = client.get(f"/api/v1/purchase-orders/{world.purchase_orders[0].id}", headers=bearer(token))
    assert mine.status_code == 200 and mine.json["number"] == world.purchase_orders[0].number
    theirs = client.get(f"/api/v1/purchase-orders/{other_world.purchase_orders[0].id}", headers=bearer(token))
    assert theirs.status_code == 404 and theirs.json["type"] == "urn:traceport:problem:purchase-order-not-found"


def test_probing_another_tenants_order_is_a_404_like_any_other_and_an_event(client, tx, world, other_world):
    token = token_for(client, register(tx, world, scopes=["po.view"]))
    theirs = client.get(f"/api/v1/purchase-orders/{other_world.purchase_orders[0].id}", headers=bearer(token))
    nowhere = client.get(f"/api/v1/purchase-orders/{uuid.uuid4()}", headers=bearer(token))
    # The same answer for an order of tenant B and for none at all: the probe learns nothing.
    assert theirs.status_code == nowhere.status_code == 404
    same = {k: v for k, v in theirs.json.items() if k not in ("instance", "request_id")}
    assert same == {k: v for k, v in nowhere.json.items() if k not in ("instance", "request_id")}
    [event] = events(tx, world.tenant_id, "isolation_denied")
    assert event.detail["value"] == str(other_world.purchase_orders[0].id) and event.detail["where"] == "path"
    assert event.detail["field"] == "po_id" and event.detail["path"].startswith("/api/v1/purchase-orders/")
    assert events(tx, other_world.tenant_id, "isolation_denied") == []


def test_a_supplier_client_probing_another_suppliers_order_leaves_an_event(client, tx, world):
    token = token_for(client, register(tx, world, scopes=["po.view"], supplier=world.suppliers[0], name="S1 ERP"))
    other = client.get(f"/api/v1/purchase-orders/{world.purchase_orders[1].id}", headers=bearer(token))
    assert other.status_code == 404
    [event] = events(tx, world.tenant_id, "isolation_denied")
    assert event.detail["value"] == str(world.purchase_orders[1].id)


def test_a_supplier_client_naming_another_supplier_in_a_json_body_is_refused(client, tx, world):
    reg = register(tx, world, scopes=["po.view"], supplier=world.suppliers[0], name="S1 ERP")
    body = new_item(supplier_id=str(world.suppliers[1].id))
    response = client.post("/api/v1/items", json=body, headers=bearer(token_for(client, reg)))
    assert response.status_code == 403 and response.mimetype == "application/problem+json"
    assert count_items(tx, world.tenant_id, body["part_number"]) == 0
    [event] = events(tx, world.tenant_id, "isolation_denied")
    assert event.detail["field"] == "supplier_id" and event.detail["where"] == "json"


def test_another_tenants_id_in_the_body_is_refused_and_noted(client, tx, world, other_world):
    reg = register(tx, world)
    body = new_item(tenant_id=str(other_world.tenant_id))
    response = client.post("/api/v1/items", json=body, headers=bearer(token_for(client, reg)))
    assert response.status_code == 403 and response.mimetype == "application/problem+json"
    assert count_items(tx, other_world.tenant_id, body["part_number"]) == 0
    assert count_items(tx, world.tenant_id, body["part_number"]) == 0
    [event] = events(tx, world.tenant_id, "isolation_denied")
    assert event.detail["field"] == "tenant_id" and event.detail["where"] == "json"
    assert events(tx, other_world.tenant_id, "isolation_denied") == []


def test_a_supplier_id_in_an_item_body_is_not_taken(client, tx, world, other_world):
    """Items have no supplier: the field is refused by the schema, nothing is written."""
    body = new_item(supplier_id=str(other_world.suppliers[0].id))
    response = client.post("/api/v1/items", json=body, headers=bearer(token_for(client, register(tx, world))))
    assert response.status_code == 422 and response.json["errors"] == {"supplier_id": "This field is not expected."}
    assert count_items(tx, other_world.tenant_id, body["part_number"]) == 0
    assert count_items(tx, world.tenant_id, body["part_number"]) == 0


def test_a_supplier_client_naming_another_supplier_is_refused(client, tx, world):
    reg = register(tx, world, scopes=["po.view"], supplier=world.suppliers[0], name="S1 ERP")
    response = client.get(
        "/api/v1/purchase-orders",
        query_string={"supplier_id": str(world.suppliers[1].id)},
        headers=bearer(token_for(client, reg)),
    )
    assert response.status_code == 403
    [event] = events(tx, world.tenant_id, "isolation_denied")
    assert event.detail["field"] == "supplier_id" and event.detail["where"] == "query"


def test_a_supplier_client_sees_its_own_orders_only(client, tx, world):
    token = token_for(client, register(tx, world, scopes=["po.view"], supplier=world.suppliers[0], name="S1 ERP"))
    listed = client.get("/api/v1/purchase-orders", headers=bearer(token)).json["items"]
    assert [po["id"] for po in listed] == [str(world.purchase_orders[0].id)]
    other = client.get(f"/api/v1/purchase-orders/{world.purchase_orders[1].id}", headers=bearer(token))
    assert other.status_code == 404
    # A buyer's write is not a supplier client's, whatever its token says.
    assert client.post("/api/v1/items", json=new_item(), headers=bearer(token)).status_code == 403


def test_a_call_from_a_new_address_is_noted_even_when_refused(client, tx, world, other_world):
    reg = register(tx, world, scopes=["po.view"])
    token = token_for(client, reg, REMOTE_ADDR="192.0.2.10")
    ok = client.get("/api/v1/purchase-orders", headers=bearer(token), environ_base={"REMOTE_ADDR": "192.0.2.10"})
    assert ok.status_code == 200
    probe = client.get(
        f"/api/v1/purchase-orders/{other_world.purchase_orders[0].id}",
        headers=bearer(token),
        environ_base={"REMOTE_ADDR": "198.51.100.77"},
    )
    assert probe.status_code == 404
    seen = [(e.detail["ip"], str(e.ip), e.severity) for e in events(tx, world.tenant_id, "api_new_address")]
    assert seen == [("192.0.2.10", "192.0.2.10", "warning"), ("198.51.100.77", "198.51.100.77", "warning")]
    with tx.uow(tenant_id=world.tenant_id, actor=Actor.system()) as uow:
        used = uow.execute(sa.text("select host(last_used_ip) from api_client where id = :i"), {"i": reg.pk}).scalar()
    assert used == "198.51.100.77"


# --- the description ---------------------------------------------------------------------


def test_the_openapi_document_describes_tokens(client):
    spec = client.get("/api/v1/openapi.json").json
    validate(spec)
    schemes = spec["components"]["securitySchemes"]
    assert schemes["bearerAuth"] == {"type": "http", "scheme": "bearer", "description": schemes["bearerAuth"]["description"]}
    assert schemes["oauth2"]["flows"]["clientCredentials"]["tokenUrl"] == TOKEN_URL
    token = spec["paths"][TOKEN_URL]["post"]
    assert token["security"] == [] and "application/x-www-form-urlencoded" in token["requestBody"]["content"]
    assert {"200", "400", "401"} <= set(token["responses"])
    listing = spec["paths"]["/api/v1/purchase-orders"]["get"]
    assert {"bearerAuth": ["po.view"]} in listing["security"] and {"session": []} in listing["security"]
    me = spec["components"]["schemas"]["MeOut"]["properties"]
    assert "client" in me and "/api/v1/purchase-orders/{po_id}" in spec["paths"]
