"""Single sign-on rules: the configuration (auth.sso), who may come in and as what, and the
just-in-time membership (tenants.sso). The OpenID Connect exchange itself is tested end to end
against a real provider in tests/portal/test_sso.py."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from audit.models import Event
from auth.errors import SsoConfigInvalid, SsoRefused
from auth.models import SecurityEvent, SsoConfig, User
from auth.sso import check_identity, claim_values, client_secret, configure_sso, get_sso, map_role, normalise_domain, view_sso
from kernel.crypto import FieldCipher
from kernel.errors import Forbidden
from kernel.uow import Actor
from tenants.models import Membership
from tenants.service import add_membership, revoke_membership
from tenants.sso import refusal_event, sso_sign_in
from tests.factories import actor_in, make_user, unique

SECRET = "s3cret-from-the-provider"
DISCOVERY = "https://login.alpha-medtech.test/.well-known/openid-configuration"


@pytest.fixture
def cipher(settings):
    return FieldCipher.from_settings(settings)


def configure(uow, actor, cipher, **changes):
    values = {
        "discovery_url": DISCOVERY,
        "client_id": "traceport",
        "client_secret": SECRET,
        "allowed_domains": ["alpha-medtech.test"],
        "role_claim": "groups",
        "role_map": {"traceport-quality": "quality", "traceport-buyers": "buyer"},
        "default_role": None,
        "is_enabled": True,
        "cipher": cipher,
    }
    values.update(changes)
    return configure_sso(uow, actor, **values)


@pytest.fixture
def as_admin(tx, world):
    """A unit of work in the world's tenant, acting as its tenant administrator."""
    with tx.uow() as uow:
        actor = actor_in(uow, world, "tenant_admin")
        uow.switch_tenant(world.tenant_id, actor=actor)
        yield uow, actor


def claims_for(email="alice@alpha-medtech.test", *, verified=True, groups=("traceport-quality",), **more):
    claims = {"iss": "https://login.alpha-medtech.test", "sub": email.split("@")[0], "email": email, "name": "Alice Liddell"}
    if verified is not None:
        claims["email_verified"] = verified
    if groups is not None:
        claims["groups"] = list(groups)
    claims.update(more)
    return claims


def events(uow, kind):
    return list(uow.session.scalars(sa.select(SecurityEvent).where(SecurityEvent.kind == kind).order_by(SecurityEvent.id)))


# --- configuration ---------------------------------------------------------------------------


def test_the_secret_is_stored_encrypted_and_the_trail_redacts_it(as_admin, world, cipher):
    uow, admin = as_admin
    config = configure(uow, admin, cipher)
    row = uow.execute(sa.text("select client_secret from sso_config where id = :id"), {"id": config.id}).scalar_one()
    assert SECRET.encode() not in bytes(row)
    assert client_secret(get_sso(uow), cipher) == SECRET
    [event] = uow.session.execute(
        sa.select(Event.__table__).where(Event.table_name == "sso_config", Event.row_id == str(config.id))
    ).all()
    assert event.new_values["client_secret"].startswith("redacted:")
    assert SECRET not in str(event.new_values)
    [configured] = events(uow, "sso_configured")
    assert configured.user_id == admin.user_id and SECRET not in str(configured.detail)
    assert configured.detail["role_map"] == [["traceport-quality", "quality"], ["traceport-buyers", "buyer"]]
    assert configured.detail["secret_changed"] is True


def test_an_empty_secret_keeps_the_current_one_and_a_change_is_audited(as_admin, world, cipher):
    uow, admin = as_admin
    configure(uow, admin, cipher)
    config = configure(uow, admin, cipher, client_secret=None, client_id="traceport-2", allowed_domains=["ALPHA-medtech.test."])
    assert client_secret(config, cipher) == SECRET
    assert config.client_id == "traceport-2" and config.allowed_domains == ["alpha-medtech.test"]
    assert events(uow, "sso_configured")[-1].detail["secret_changed"] is False
    assert uow.scalar(sa.select(sa.func.count()).select_from(SsoConfig)) == 1


def test_configuring_needs_sso_manage(tx, world, cipher):
    with tx.uow() as uow:
        buyer = actor_in(uow, world, "buyer")
        uow.switch_tenant(world.tenant_id, actor=buyer)
        with pytest.raises(Forbidden):
            configure(uow, buyer, cipher)
        with pytest.raises(Forbidden):
            view_sso(uow, buyer)
        assert get_sso(uow) is None


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"discovery_url": "http://login.alpha-medtech.test/.well-known/openid-configuration"}, "discovery_url"),
        ({"discovery_url": "http://127.0.0.1:9/.well-known/openid-configuration"}, "discovery_url"),  # loopback not allowed here
        ({"discovery_url": "https://user:pw@login.alpha-medtech.test/x"}, "discovery_url"),
        ({"discovery_url": "ftp://login.alpha-medtech.test/x"}, "discovery_url"),
        ({"discovery_url": ""}, "discovery_url"),
        ({"client_id": "  "}, "client_id"),
        ({"allowed_domains": ["alpha-medtech"]}, "allowed_domains"),
        ({"allowed_domains": ["-alpha.test"]}, "allowed_domains"),
        ({"allowed_domains": ["alpha..test"]}, "allowed_domains"),
        ({"allowed_domains": ["*.alpha.test"]}, "allowed_domains"),
        ({"allowed_domains": []}, "allowed_domains"),
        ({"role_map": {"traceport-suppliers": "supplier_admin"}}, "role_map"),
        ({"role_map": {"traceport-x": "no_such_role"}}, "role_map"),
        ({"role_map": [("", "quality")]}, "role_map"),
        ({"role_map": {"traceport-quality": "quality"}, "role_claim": None}, "role_claim"),
        ({"role_map": {}, "default_role": "supplier_user"}, "default_role"),
        ({"role_map": {}, "default_role": None}, "role_map"),
    ],
)
def test_bad_settings_are_refused_with_a_message_per_field_and_nothing_is_saved(as_admin, world, cipher, changes, field):
    uow, admin = as_admin
    with pytest.raises(SsoConfigInvalid) as refused:
        configure(uow, admin, cipher, **changes)
    assert field in refused.value.errors
    assert get_sso(uow) is None
    assert events(uow, "sso_configured") == []


def test_a_new_configuration_needs_a_secret(as_admin, world, cipher):
    uow, admin = as_admin
    with pytest.raises(SsoConfigInvalid) as refused:
        configure(uow, admin, cipher, client_secret=None)
    assert "client_secret" in refused.value.errors


def test_http_is_accepted_for_a_provider_on_this_machine_when_allowed(as_admin, world, cipher):
    uow, admin = as_admin
    url = "http://127.0.0.1:8080/.well-known/openid-configuration"
    assert configure(uow, admin, cipher, discovery_url=url, allow_http_loopback=True).discovery_url == url


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("alpha-medtech.test", "alpha-medtech.test"),
        ("@Alpha-MedTech.test.", "alpha-medtech.test"),
        ("bücher.example", "xn--bcher-kva.example"),
        ("localhost", None),
        ("alpha_medtech.test", None),
        ("alpha.123", None),
        ("a" * 64 + ".test", None),
    ],
)
def test_domains_are_normalised_or_refused(value, expected):
    assert normalise_domain(value) == expected


# --- who may come in ----------------------------------------------------------------------------


def config_of(**values) -> SsoConfig:
    base = {
        "allowed_domains": ["alpha-medtech.test"],
        "role_claim": "groups",
        "role_map": [["traceport-admins", "tenant_admin"], ["traceport-quality", "quality"], ["traceport-buyers", "buyer"]],
        "default_role": None,
        "is_enabled": True,
    }
    base.update(values)
    return SsoConfig(**base)


def test_a_verified_email_of_an_allowed_domain_is_accepted():
    assert check_identity(config_of(), claims_for()) == "alice@alpha-medtech.test"
    assert check_identity(config_of(), claims_for("Carol@ALPHA-MEDTECH.TEST")) == "Carol@ALPHA-MEDTECH.TEST"
    assert check_identity(config_of(), claims_for(verified="true")) == "alice@alpha-medtech.test"


@pytest.mark.parametrize(
    ("claims", "reason"),
    [
        (claims_for(verified=False), "email_unverified"),
        (claims_for(verified=None), "email_unverified"),
        (claims_for(verified="false"), "email_unverified"),
        ({"sub": "x", "email_verified": True}, "email_missing"),
        (claims_for(email=""), "email_missing"),
        (claims_for("bob@evil.test"), "domain_not_allowed"),
        (claims_for("eve@alpha-medtech.test.evil.com"), "domain_not_allowed"),
        (claims_for("eve@evil-alpha-medtech.test"), "domain_not_allowed"),
        (claims_for("eve@sub.alpha-medtech.test"), "domain_not_allowed"),
        (claims_for("eve@evil.test@alpha-medtech.test"), "email_missing"),
        (claims_for("eve@\u0430lpha-medtech.test"), "domain_not_allowed"),  # a Cyrillic "a"
    ],
)
def test_identities_the_tenant_does_not_vouch_for_are_refused(claims, reason):
    with pytest.raises(SsoRefused) as refused:
        check_identity(config_of(), claims)
    assert refused.value.reason == reason
    assert refused.value.status == 403 and refused.value.message == SsoRefused.MESSAGES[reason]


def test_the_first_mapping_in_the_administrators_order_wins():
    config = config_of()
    assert map_role(config, claims_for(groups=["traceport-buyers", "traceport-quality"])) == "quality"
    assert map_role(config, claims_for(groups=["traceport-buyers", "traceport-admins"])) == "tenant_admin"
    assert map_role(config, {"groups": "traceport-buyers"}) == "buyer"  # a string claim is one value
    assert map_role(config, claims_for(groups=["other"])) is None
    assert map_role(config, claims_for(groups=None)) is None
    assert map_role(config_of(default_role="viewer"), claims_for(groups=["other"])) == "viewer"
    nested = config_of(role_claim="realm_access.roles", role_map=[["qa", "quality"]])
    assert map_role(nested, {"realm_access": {"roles": ["x", "qa"]}}) == "quality"
    assert claim_values({"groups": [1, "a", None]}, "groups") == ["a"]


# --- just-in-time membership ------------------------------------------------------------------------


def sign_in_uow(as_admin, cipher, **changes):
    """The tenant configured by its administrator; the unit of work then in the state the
    callback meets it (no tenant, no user)."""
    uow, admin = as_admin
    config = configure(uow, admin, cipher, **changes)
    uow.switch_tenant(None, actor=Actor.system("single sign-on"))
    return uow, config


def membership_of(uow, tenant_id, user_id):
    return uow.session.scalar(sa.select(Membership).where(Membership.tenant_id == tenant_id, Membership.user_id == user_id))


def test_a_first_sign_in_creates_the_user_and_a_membership_with_the_mapped_role(as_admin, world, cipher):
    uow, config = sign_in_uow(as_admin, cipher)
    email = f"{unique('alice')}@alpha-medtech.test"
    user = sso_sign_in(uow, tenant_id=world.tenant_id, claims=claims_for(email), config=config)
    assert (user.email, user.full_name, user.password_hash, user.locale) == (email, "Alice Liddell", None, "en")
    assert user.last_login_at is not None
    membership = membership_of(uow, world.tenant_id, user.id)
    assert (membership.role, membership.is_active, membership.supplier_id) == ("quality", True, None)
    [login] = [e for e in events(uow, "sso_login") if e.user_id == user.id]
    assert login.detail["new_user"] is True and login.detail["new_membership"] is True
    assert login.detail["issuer"] == "https://login.alpha-medtech.test" and login.detail["role"] == "quality"
    created = uow.session.execute(
        sa.select(Event.__table__).where(Event.table_name == "membership", Event.row_id == str(membership.id))
    ).one()
    assert created.actor_id == user.id and created.reason == "single sign-on"


def test_an_existing_login_without_a_membership_is_not_linked_on_the_providers_word(as_admin, world, cipher):
    uow, config = sign_in_uow(as_admin, cipher)
    existing = make_user(uow, email=f"{unique('carol')}@alpha-medtech.test")
    with pytest.raises(SsoRefused) as refused:
        sso_sign_in(uow, tenant_id=world.tenant_id, claims=claims_for(existing.email), config=config)
    assert refused.value.reason == "existing_login"
    uow.switch_tenant(world.tenant_id)
    assert membership_of(uow, world.tenant_id, existing.id) is None


def test_an_invited_member_signs_in_and_the_role_follows_the_mapping(as_admin, world, cipher):
    uow, config = sign_in_uow(as_admin, cipher)
    uow.switch_tenant(world.tenant_id)
    existing = make_user(uow, email=f"{unique('carol')}@alpha-medtech.test")
    add_membership(uow, user=existing, role="viewer")  # joined by invitation, with a password
    claims = claims_for(existing.email, groups=["traceport-buyers"])
    user = sso_sign_in(uow, tenant_id=world.tenant_id, claims=claims, config=config)
    assert user.id == existing.id and user.password_hash is not None
    assert membership_of(uow, world.tenant_id, user.id).role == "buyer"

    sso_sign_in(uow, tenant_id=world.tenant_id, claims=claims_for(existing.email, groups=["traceport-quality"]), config=config)
    assert membership_of(uow, world.tenant_id, user.id).role == "quality"
    changes = [e for e in events(uow, "role_changed") if e.detail.get("member_user_id") == str(user.id)]
    assert [(e.detail["from"], e.detail["to"], e.detail["source"]) for e in changes] == [
        ("viewer", "buyer", "sso"),
        ("buyer", "quality", "sso"),
    ]
    assert len(uow.session.scalars(sa.select(User).where(sa.func.lower(User.email) == existing.email.lower())).all()) == 1


def test_a_revoked_membership_stays_refused(as_admin, world, cipher):
    uow, config = sign_in_uow(as_admin, cipher)
    email = f"{unique('leaver')}@alpha-medtech.test"
    user = sso_sign_in(uow, tenant_id=world.tenant_id, claims=claims_for(email), config=config)
    admin = actor_in(uow, world, "tenant_admin")
    uow.switch_tenant(world.tenant_id, actor=admin)
    revoke_membership(uow, admin, membership_id=membership_of(uow, world.tenant_id, user.id).id)
    uow.switch_tenant(None, actor=Actor.system("single sign-on"))
    with pytest.raises(SsoRefused) as refused:
        sso_sign_in(uow, tenant_id=world.tenant_id, claims=claims_for(email), config=config)
    assert refused.value.reason == "membership_revoked"
    assert membership_of(uow, world.tenant_id, user.id).is_active is False


def test_a_supplier_member_is_not_turned_into_staff(as_admin, world, cipher):
    uow, config = sign_in_uow(as_admin, cipher)
    uow.switch_tenant(world.tenant_id)
    contact = make_user(uow, email=f"{unique('contact')}@alpha-medtech.test")
    add_membership(uow, user=contact, role="supplier_user", organisation=world.suppliers[0])
    with pytest.raises(SsoRefused) as refused:
        sso_sign_in(uow, tenant_id=world.tenant_id, claims=claims_for(contact.email), config=config)
    assert refused.value.reason == "supplier_member"
    assert membership_of(uow, world.tenant_id, contact.id).role == "supplier_user"


@pytest.mark.parametrize(
    ("changes", "claims", "reason"),
    [
        ({}, claims_for(groups=["unknown-group"]), "no_role"),
        ({"is_enabled": False}, claims_for(), "not_configured"),
        ({}, claims_for("bob@evil.test"), "domain_not_allowed"),
        ({}, claims_for(verified=False), "email_unverified"),
    ],
)
def test_refusals_create_nothing(as_admin, world, cipher, changes, claims, reason):
    uow, config = sign_in_uow(as_admin, cipher, **changes)
    claims = {**claims, "email": claims["email"].replace("alice", unique("nobody"))}
    with pytest.raises(SsoRefused) as refused:
        sso_sign_in(uow, tenant_id=world.tenant_id, claims=claims, config=config)
    assert refused.value.reason == reason
    assert uow.session.scalar(sa.select(User).where(User.email == claims["email"])) is None
    event = refusal_event(refused.value, claims=claims)
    assert event["kind"] == "sso_refused" and event["severity"] == "warning"
    assert event["email"] == claims["email"] and event["detail"]["reason"] == reason
    assert event["detail"]["issuer"] == claims["iss"]


def test_a_tenants_configuration_signs_into_that_tenant_only(as_admin, world, other_world, cipher):
    uow, alpha_config = sign_in_uow(as_admin, cipher)
    email = f"{unique('alice')}@alpha-medtech.test"
    # Alpha's configuration cannot open beta (nor beta's alpha): a config signs into its own tenant.
    with pytest.raises(SsoRefused) as refused:
        sso_sign_in(uow, tenant_id=other_world.tenant_id, claims=claims_for(email), config=alpha_config)
    assert refused.value.reason == "not_configured"
    user = sso_sign_in(uow, tenant_id=world.tenant_id, claims=claims_for(email), config=alpha_config)
    uow.switch_tenant(None, actor=Actor(user_id=user.id, name=user.email))
    tenants = set(uow.session.scalars(sa.select(Membership.tenant_id).where(Membership.user_id == user.id)))
    assert tenants == {world.tenant_id}
