"""API clients: creation and its limits, the token grant, bearer checks, rotation and
revocation - each refusal a clear error that changes nothing and leaves a security event."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from auth import clients
from auth.errors import (
    ApiClientInvalid,
    ApiClientRevoked,
    ClientAuthenticationFailed,
    InvalidScope,
    ScopeNotGrantable,
    TokenInvalid,
)
from auth.models import ApiClient, ApiToken, SecurityEvent
from kernel.crypto import digest
from kernel.errors import Forbidden
from kernel.models import NIL_TENANT_ID
from kernel.uow import Actor
from tests.factories import actor_in

MINUTES = 60


def events(uow, tenant_id, kind):
    uow.switch_tenant(tenant_id, actor=Actor.system())
    return list(uow.session.scalars(sa.select(SecurityEvent).where(SecurityEvent.kind == kind).order_by(SecurityEvent.id)))


def count_clients(uow, tenant_id) -> int:
    uow.switch_tenant(tenant_id, actor=Actor.system())
    return uow.scalar(sa.select(sa.func.count()).select_from(ApiClient))


def make_client(uow, world, *, scopes=("po.view", "items.manage"), supplier=None, name="Plant MES"):
    admin = actor_in(uow, world, "tenant_admin")
    uow.switch_tenant(world.tenant_id, actor=admin)
    return clients.create_client(uow, admin, name=name, scopes=list(scopes), supplier_id=supplier.id if supplier else None)


# --- creating ------------------------------------------------------------------------


def test_the_secret_is_returned_once_and_only_its_digest_is_stored(tx, world):
    with tx.uow() as uow:
        client, secret = make_client(uow, world)
        assert client.client_id.startswith("tpc_") and len(secret) >= 43
        assert client.secret_hash == digest(secret) and secret not in client.secret_hash
        assert client.scopes == ["items.manage", "po.view"] and client.supplier_id is None
        stored = uow.execute(sa.text("select row_to_json(c)::text from api_client c where id = :i"), {"i": client.id}).scalar()
        assert secret not in stored
        # Nor is it in the audit trail: the digest is redacted there too.
        trail = uow.execute(
            sa.text("select new_values::text from audit.event where table_name = 'api_client' and row_id = :i"),
            {"i": str(client.id)},
        ).scalar()
        assert secret not in trail and client.secret_hash not in trail
        [event] = events(uow, world.tenant_id, "api_client_created")
        assert event.detail["client_id"] == client.client_id and event.email == world.users["tenant_admin"].email


def test_listing_shows_the_tenants_clients_only(tx, world, other_world):
    with tx.uow() as uow:
        mine, _ = make_client(uow, world, name="Mine")
        make_client(uow, other_world, name="Theirs")
        admin = actor_in(uow, world, "tenant_admin")
        uow.switch_tenant(world.tenant_id, actor=admin)
        assert [c.client_id for c in clients.list_clients(uow, admin)] == [mine.client_id]


@pytest.mark.parametrize(
    ("name", "scopes", "supplier", "field"),
    [
        ("  ", ["po.view"], None, "name"),
        ("x" * 101, ["po.view"], None, "name"),
        ("MES", [], None, "scopes"),
        ("MES", ["po.fly"], None, "scopes"),
        ("MES", ["users.manage"], None, "scopes"),  # identity administration stays with people
        ("MES", ["api_clients.manage"], None, "scopes"),
        ("MES", ["po.confirm"], None, "scopes"),  # a supplier permission on the tenant's side
        ("Supplier ERP", ["items.manage"], 0, "scopes"),  # a buyer permission for a supplier
        ("Supplier ERP", ["po.view"], "other", "supplier_id"),  # another tenant's supplier
    ],
)
def test_bad_clients_are_refused_by_field(tx, world, other_world, name, scopes, supplier, field):
    with tx.uow() as uow:
        supplier_id = {None: None, 0: world.suppliers[0].id, "other": other_world.suppliers[0].id}[supplier]
        admin = actor_in(uow, world, "tenant_admin")
        uow.switch_tenant(world.tenant_id, actor=admin)
        with pytest.raises(ApiClientInvalid) as refused:
            clients.create_client(uow, admin, name=name, scopes=scopes, supplier_id=supplier_id)
        assert field in refused.value.errors
        assert count_clients(uow, world.tenant_id) == 0
        assert events(uow, world.tenant_id, "api_client_created") == []


@pytest.mark.parametrize("who", ["buyer", "viewer", "supplier1"])
def test_only_api_client_administrators_create_clients(tx, world, who):
    with tx.uow() as uow:
        actor = actor_in(uow, world, who)
        uow.switch_tenant(world.tenant_id, actor=actor)
        with pytest.raises(Forbidden):
            clients.create_client(uow, actor, name="MES", scopes=["po.view"])
        assert count_clients(uow, world.tenant_id) == 0


def test_an_administrator_cannot_give_a_client_more_than_they_hold(tx, world):
    """A custom role with api_clients.manage but not items.manage cannot mint items.manage."""
    with tx.uow() as uow:
        user = world.users["tenant_admin"]
        narrow = Actor(user_id=user.id, name=user.email, permissions=frozenset({"api_clients.manage", "po.view"}))
        uow.switch_tenant(world.tenant_id, actor=narrow)
        assert clients.grantable_scopes(narrow, for_supplier=False) == ["po.view"]
        with pytest.raises(ScopeNotGrantable):
            clients.create_client(uow, narrow, name="MES", scopes=["po.view", "items.manage"])
        # Acting for a supplier needs the power to bring a supplier's people in.
        assert clients.grantable_scopes(narrow, for_supplier=True) == []
        with pytest.raises(ScopeNotGrantable):
            clients.create_client(uow, narrow, name="ERP", scopes=["po.view"], supplier_id=world.suppliers[0].id)
        assert count_clients(uow, world.tenant_id) == 0


def test_a_supplier_client_gets_supplier_scopes(tx, world):
    with tx.uow() as uow:
        client, _ = make_client(uow, world, scopes=["po.view", "po.confirm"], supplier=world.suppliers[0])
        assert client.supplier_id == world.suppliers[0].id and client.scopes == ["po.confirm", "po.view"]


# --- the token grant -------------------------------------------------------------------


def test_a_token_carries_all_or_some_of_the_clients_scopes(tx, world):
    with tx.uow() as uow:
        client, secret = make_client(uow, world)
        uow.switch_tenant(None, actor=Actor.system())
        token, row = clients.issue_token(uow, client_id=client.client_id, client_secret=secret, minutes=MINUTES)
        assert row.token_hash == digest(token) and row.scopes == ["items.manage", "po.view"]
        assert timedelta(minutes=MINUTES - 1) < row.expires_at - row.issued_at <= timedelta(minutes=MINUTES, seconds=5)
        uow.switch_tenant(None, actor=Actor.system())
        _, narrow = clients.issue_token(uow, client_id=client.client_id, client_secret=secret, scope="po.view", minutes=5)
        assert narrow.scopes == ["po.view"]
        # Issued by the client: the audit trail names it.
        actor = uow.execute(
            sa.text("select actor from audit.event where table_name = 'api_token' and row_id = :i"), {"i": str(row.id)}
        ).scalar()
        assert actor == f"api:Plant MES ({client.client_id})"


def test_a_scope_beyond_the_clients_is_refused(tx, world):
    with tx.uow() as uow:
        client, secret = make_client(uow, world, scopes=["po.view"])
        for scope in ("po.view items.manage", "audit.export", "made.up"):
            uow.switch_tenant(None, actor=Actor.system())
            with pytest.raises(InvalidScope):
                clients.issue_token(uow, client_id=client.client_id, client_secret=secret, scope=scope, minutes=MINUTES)
        uow.switch_tenant(world.tenant_id, actor=Actor.system())
        assert uow.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0
        refused = events(uow, world.tenant_id, "api_token_refused")
        assert [e.detail["reason"] for e in refused] == ["scope"] * 3


def test_a_wrong_secret_and_an_unknown_client_fail_alike(tx, world):
    with tx.uow() as uow:
        client, secret = make_client(uow, world)
        uow.switch_tenant(None, actor=Actor.system())
        with pytest.raises(ClientAuthenticationFailed) as wrong:
            clients.issue_token(uow, client_id=client.client_id, client_secret=secret + "x", minutes=MINUTES)
        uow.switch_tenant(None, actor=Actor.system())
        with pytest.raises(ClientAuthenticationFailed) as unknown:
            clients.issue_token(uow, client_id="tpc_nobody", client_secret=secret, minutes=MINUTES)
        assert str(wrong.value) == str(unknown.value)
        assert [e.detail["reason"] for e in events(uow, world.tenant_id, "api_token_refused")] == ["wrong_secret"]
        platform = events(uow, NIL_TENANT_ID, "api_token_refused")
        assert [(e.detail["reason"], e.detail["client_id"]) for e in platform] == [("unknown_client", "tpc_nobody")]
        uow.switch_tenant(world.tenant_id, actor=Actor.system())
        assert uow.scalar(sa.select(sa.func.count()).select_from(ApiToken)) == 0


# --- bearer checks -----------------------------------------------------------------------


def issue(uow, client, secret, *, minutes=MINUTES, scope=None):
    uow.switch_tenant(None, actor=Actor.system())
    token, _ = clients.issue_token(uow, client_id=client.client_id, client_secret=secret, scope=scope, minutes=minutes)
    uow.switch_tenant(None, actor=Actor.system())
    return token


def test_a_token_makes_the_client_the_actor_in_its_tenant(tx, world):
    with tx.uow() as uow:
        client, secret = make_client(uow, world, scopes=["po.view", "po.confirm"], supplier=world.suppliers[1])
        token = issue(uow, client, secret, scope="po.view")
        call = clients.authenticate_call(uow, token=token, ip="203.0.113.5")
        assert call.actor == Actor(
            user_id=None,
            name=f"api:Plant MES ({client.client_id})",
            kind="api",
            supplier_id=world.suppliers[1].id,
            permissions=frozenset({"po.view"}),
        )
        assert uow.tenant_id == world.tenant_id and uow.actor == call.actor
        assert call.tenant_slug == world.slug and call.client_id == client.client_id
        assert clients.authenticate_token(uow, token=token, ip="203.0.113.5") == call.actor


@pytest.mark.parametrize("token", ["", "nope", "x" * 500])
def test_unknown_tokens_are_refused_without_a_trace(tx, token):
    with tx.uow() as uow:
        with pytest.raises(TokenInvalid):
            clients.authenticate_call(uow, token=token, ip=None)
        assert uow.tenant_id is None


def test_an_expired_token_is_refused_and_noted(tx, world):
    with tx.uow() as uow:
        client, secret = make_client(uow, world)
        token = issue(uow, client, secret, minutes=0)
        with pytest.raises(TokenInvalid):
            clients.authenticate_call(uow, token=token, ip="203.0.113.5")
        [event] = events(uow, world.tenant_id, "api_token_refused")
        assert event.detail == {"client_id": client.client_id, "reason": "token_expired", "token_id": event.detail["token_id"]}


def test_revoking_a_client_refuses_its_tokens_and_secret_at_once(tx, world):
    with tx.uow() as uow:
        client, secret = make_client(uow, world)
        token = issue(uow, client, secret)
        clients.authenticate_call(uow, token=token, ip="203.0.113.5")
        admin = actor_in(uow, world, "tenant_admin")
        uow.switch_tenant(world.tenant_id, actor=admin)
        clients.revoke_client(uow, admin, client_pk=client.id)
        assert client.revoked_at is not None
        uow.switch_tenant(None, actor=Actor.system())
        with pytest.raises(TokenInvalid):
            clients.authenticate_call(uow, token=token, ip="203.0.113.5")
        uow.switch_tenant(None, actor=Actor.system())
        with pytest.raises(ClientAuthenticationFailed):
            issue(uow, client, secret)
        reasons = [e.detail["reason"] for e in events(uow, world.tenant_id, "api_token_refused")]
        assert reasons == ["token_revoked", "client_revoked"]
        assert len(events(uow, world.tenant_id, "api_client_revoked")) == 1
        uow.switch_tenant(world.tenant_id, actor=admin)
        # Revoking again changes nothing; rotating a revoked client is refused.
        revoked_at = client.revoked_at
        assert clients.revoke_client(uow, admin, client_pk=client.id).revoked_at == revoked_at
        with pytest.raises(ApiClientRevoked):
            clients.rotate_secret(uow, admin, client_pk=client.id)


def test_a_client_of_a_revoked_client_is_refused_even_with_a_live_token_row(tx, world):
    """The client's own revocation decides, whatever its tokens' rows say."""
    with tx.uow() as uow:
        client, secret = make_client(uow, world)
        token = issue(uow, client, secret)
        uow.switch_tenant(world.tenant_id, actor=Actor.system())
        uow.execute(sa.update(ApiClient).where(ApiClient.id == client.id).values(revoked_at=sa.func.now()))
        uow.switch_tenant(None, actor=Actor.system())
        with pytest.raises(TokenInvalid):
            clients.authenticate_call(uow, token=token, ip=None)
        assert [e.detail["reason"] for e in events(uow, world.tenant_id, "api_token_refused")] == ["client_revoked"]


def test_rotation_replaces_the_secret_and_ends_the_old_tokens(tx, world):
    with tx.uow() as uow:
        client, old_secret = make_client(uow, world)
        token = issue(uow, client, old_secret)
        admin = actor_in(uow, world, "tenant_admin")
        uow.switch_tenant(world.tenant_id, actor=admin)
        rotated, new_secret = clients.rotate_secret(uow, admin, client_pk=client.id)
        assert new_secret != old_secret and rotated.secret_hash == digest(new_secret) and rotated.secret_rotated_at
        uow.switch_tenant(None, actor=Actor.system())
        with pytest.raises(ClientAuthenticationFailed):
            issue(uow, client, old_secret)
        uow.switch_tenant(None, actor=Actor.system())
        with pytest.raises(TokenInvalid):
            clients.authenticate_call(uow, token=token, ip=None)
        fresh = issue(uow, client, new_secret)
        assert clients.authenticate_call(uow, token=fresh, ip=None).client_id == client.client_id
        [event] = events(uow, world.tenant_id, "api_secret_rotated")
        assert event.detail["tokens_revoked"] == 1


def test_use_is_recorded_and_a_new_address_is_a_security_event(tx, world):
    with tx.uow() as uow:
        client, secret = make_client(uow, world)
        token = issue(uow, client, secret)
        first = clients.authenticate_call(uow, token=token, ip="203.0.113.5")
        assert first.use_recorded and str(client.last_used_ip) == "203.0.113.5" and client.last_used_at
        # Within the minute, from the same address: nothing is written.
        uow.switch_tenant(None, actor=Actor.system())
        assert not clients.authenticate_call(uow, token=token, ip="203.0.113.5").use_recorded
        uow.switch_tenant(None, actor=Actor.system())
        assert clients.authenticate_call(uow, token=token, ip="198.51.100.9").use_recorded
        uow.switch_tenant(None, actor=Actor.system())
        clients.authenticate_call(uow, token=token, ip="203.0.113.5")  # back to a known address
        seen = events(uow, world.tenant_id, "api_new_address")
        assert [(e.detail["ip"], e.detail["previous_ip"], e.severity) for e in seen] == [
            ("203.0.113.5", None, "warning"),
            ("198.51.100.9", "203.0.113.5", "warning"),
        ]
        assert all(e.detail["client_id"] == client.client_id for e in seen)
