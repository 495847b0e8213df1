"""Single sign-on end to end, against a real OpenID Connect provider (panva/oidc-provider,
tests/oidc_support.py) started for this module on 127.0.0.1.

The browser is the Flask test client (host localhost, so the redirect URI is
http://localhost/sso/callback); the provider's login and consent pages are played by
`provider_login`, which hands back the provider's redirect to our callback unfollowed."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
import sqlalchemy as sa

from auth.models import SecurityEvent, SsoConfig, User, UserSession
from auth.sso import client_secret, configure_sso, get_sso
from kernel.crypto import FieldCipher
from kernel.models import NIL_TENANT_ID
from tenants.models import Membership
from tests.factories import actor_in
from tests.oidc_support import OidcProvider, provider_login, start_oidc_provider
from tests.portal.support import csrf, login, text_of

REDIRECT_URI = "http://localhost/sso/callback"
# Accounts beyond the harness's alice, bob, carol and dave.
ACCOUNTS = {
    # Right domain, verified, but in no group that the tenant maps.
    "erin": {"email": "erin@alpha-medtech.test", "email_verified": True, "name": "Erin Outsider", "groups": ["marketing"]},
    # A provider that claims someone else's address: alpha's tenant administrator's.
    "mallory": {"email": "tenant_admin.alpha@example.test", "email_verified": True, "name": "Mallory", "groups": ["qa"]},
}
ROLE_MAP = {"traceport-quality": "quality", "traceport-buyers": "buyer"}


@pytest.fixture(scope="module")
def provider():
    with start_oidc_provider([REDIRECT_URI], accounts=ACCOUNTS) as op:
        yield op


@pytest.fixture
def cipher(settings):
    return FieldCipher.from_settings(settings)


def configure(tx, world, provider: OidcProvider, cipher, **changes) -> SsoConfig:
    """The tenant's administrator configures single sign-on with the test provider."""
    values = {
        "discovery_url": provider.discovery_url,
        "client_id": provider.client_id,
        "client_secret": provider.client_secret,
        "allowed_domains": ["alpha-medtech.test"],
        "role_claim": "groups",
        "role_map": ROLE_MAP,
        "default_role": None,
        "is_enabled": True,
        "cipher": cipher,
        "allow_http_loopback": True,
    }
    values.update(changes)
    with tx.uow() as uow:
        admin = actor_in(uow, world, "tenant_admin")
        uow.switch_tenant(world.tenant_id, actor=admin)
        config = configure_sso(uow, admin, **values)
        uow.commit()
    return config


@pytest.fixture
def alpha_sso(tx, world, provider, cipher):
    return configure(tx, world, provider, cipher)


def start(client, provider: OidcProvider, slug: str = "alpha") -> str:
    response = client.get(f"/sso/{slug}")
    assert response.status_code == 302, text_of(response)
    location = response.headers["Location"]
    assert location.startswith(provider.issuer + "/auth?")
    query = dict(parse_qsl(urlsplit(location).query))
    assert query["redirect_uri"] == REDIRECT_URI and query["client_id"] == provider.client_id
    assert query["code_challenge_method"] == "S256" and query["nonce"] and query["state"]
    assert set(query["scope"].split()) == {"openid", "email", "profile"}
    return location


def callback_path(url: str, **replace) -> str:
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == REDIRECT_URI
    query = dict(parse_qsl(parts.query))
    query.update(replace)
    return f"{parts.path}?{urlencode(query)}"


def sign_in_with(client, provider: OidcProvider, account: str, slug: str = "alpha"):
    """The whole flow: our redirect, the provider's pages, our callback."""
    return client.get(callback_path(provider_login(start(client, provider, slug), account)))


def user_by_email(tx, email):
    with tx.uow() as uow:
        user = uow.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email.lower()))
        return (user.id, user.full_name, user.password_hash) if user else None


def membership_roles(tx, tenant_id, user_id) -> list[tuple]:
    with tx.uow(tenant_id=tenant_id) as uow:
        rows = uow.session.scalars(
            sa.select(Membership).where(Membership.tenant_id == tenant_id, Membership.user_id == user_id)
        ).all()
        return [(m.role, m.is_active) for m in rows]


def security_events(tx, tenant_id, kind):
    with tx.uow(tenant_id=tenant_id) as uow:
        rows = uow.session.scalars(sa.select(SecurityEvent).where(SecurityEvent.kind == kind).order_by(SecurityEvent.id))
        return [(e.email, e.severity, e.detail, e.user_id) for e in rows]


# --- signing in ----------------------------------------------------------------------------------


def test_alice_signs_in_with_sso_and_gets_a_membership_just_in_time(client, tx, world, provider, alpha_sso):
    assert user_by_email(tx, "alice@alpha-medtech.test") is None

    response = sign_in_with(client, provider, "alice")

    assert response.status_code == 302 and response.headers["Location"] == "/buyer/"
    page = text_of(client.get("/buyer/"))
    assert "Alice Liddell" in page and f"Tenant {world.slug}" in page
    user_id, full_name, password_hash = user_by_email(tx, "alice@alpha-medtech.test")
    assert (full_name, password_hash) == ("Alice Liddell", None)
    assert membership_roles(tx, world.tenant_id, user_id) == [("quality", True)]
    [(email, severity, detail, event_user)] = security_events(tx, world.tenant_id, "sso_login")
    assert (email, severity, event_user) == ("alice@alpha-medtech.test", "info", user_id)
    assert detail["issuer"] == provider.issuer and detail["new_user"] is True and detail["role"] == "quality"
    with tx.uow() as uow:
        session_row = uow.session.scalars(sa.select(UserSession).where(UserSession.user_id == user_id)).one()
        assert session_row.method == "sso" and session_row.revoked_at is None
    with client.session_transaction() as session:
        assert session["tenant_id"] == str(world.tenant_id) and session["sso_tenant"] == str(world.tenant_id)
        assert not [key for key in session if key.startswith("_state_")]  # nothing of the flow is left


def test_carol_becomes_a_buyer(client, tx, world, provider, alpha_sso):
    response = sign_in_with(client, provider, "carol")

    assert response.headers["Location"] == "/buyer/"
    user_id, _, _ = user_by_email(tx, "carol@alpha-medtech.test")
    assert membership_roles(tx, world.tenant_id, user_id) == [("buyer", True)]
    assert "Purchase orders" in text_of(client.get("/buyer/"))


def test_the_role_follows_the_mapping_at_the_next_sign_in(client, tx, world, provider, cipher, alpha_sso):
    sign_in_with(client, provider, "carol")
    configure(tx, world, provider, cipher, role_map={"traceport-buyers": "viewer"})
    client.post("/logout", data={"csrf_token": csrf(client, "/buyer/")})

    assert sign_in_with(client, provider, "carol").headers["Location"] == "/buyer/"

    user_id, _, _ = user_by_email(tx, "carol@alpha-medtech.test")
    assert membership_roles(tx, world.tenant_id, user_id) == [("viewer", True)]
    [(_, _, detail, _)] = security_events(tx, world.tenant_id, "role_changed")
    assert (detail["from"], detail["to"], detail["source"]) == ("buyer", "viewer", "sso")


# --- refusals: a clear page, nothing written, a security event ------------------------------------


@pytest.mark.parametrize(
    ("account", "email", "reason", "message"),
    [
        ("bob", "bob@evil.test", "domain_not_allowed", "Your email domain is not allowed"),
        ("dave", "dave@alpha-medtech.test", "email_unverified", "email address is not verified"),
        ("erin", "erin@alpha-medtech.test", "no_role", "not given a role in Traceport"),
    ],
)
def test_identities_the_tenant_does_not_accept_are_refused(
    client, tx, world, provider, alpha_sso, account, email, reason, message
):
    response = sign_in_with(client, provider, account)

    assert response.status_code == 403
    assert message in text_of(response)
    assert user_by_email(tx, email) is None
    [(event_email, severity, detail, _)] = security_events(tx, world.tenant_id, "sso_refused")
    assert (event_email, severity, detail["reason"], detail["issuer"]) == (email, "warning", reason, provider.issuer)
    assert security_events(tx, world.tenant_id, "sso_login") == []
    assert client.get("/buyer/").status_code == 302  # not signed in


def test_a_default_role_lets_unmapped_staff_in(client, tx, world, provider, cipher):
    configure(tx, world, provider, cipher, default_role="viewer")

    assert sign_in_with(client, provider, "erin").headers["Location"] == "/buyer/"

    user_id, _, _ = user_by_email(tx, "erin@alpha-medtech.test")
    assert membership_roles(tx, world.tenant_id, user_id) == [("viewer", True)]


def test_a_disabled_configuration_is_refused_at_the_start_and_at_the_callback(client, tx, world, provider, cipher, alpha_sso):
    authorize_url = start(client, provider)
    configure(tx, world, provider, cipher, is_enabled=False)

    response = client.get(callback_path(provider_login(authorize_url, "alice")))

    assert response.status_code == 403 and "not available for this organisation" in text_of(response)
    assert user_by_email(tx, "alice@alpha-medtech.test") is None
    [(_, _, detail, _)] = security_events(tx, world.tenant_id, "sso_refused")
    assert detail["reason"] == "not_configured"

    response = client.get("/sso/alpha")
    assert response.status_code == 404 and "not available for this organisation" in text_of(response)


def test_a_tampered_state_is_refused(client, tx, world, provider, alpha_sso):
    callback = provider_login(start(client, provider), "alice")

    response = client.get(callback_path(callback, state="forged-" + dict(parse_qsl(urlsplit(callback).query))["state"]))

    assert response.status_code == 403 and "could not be completed" in text_of(response)
    assert user_by_email(tx, "alice@alpha-medtech.test") is None
    [(_, severity, detail, _)] = security_events(tx, world.tenant_id, "sso_refused")
    assert (severity, detail["reason"]) == ("warning", "state_mismatch")
    assert client.get("/buyer/").status_code == 302


def test_an_id_token_for_another_nonce_is_refused(client, tx, world, provider, alpha_sso):
    callback = provider_login(start(client, provider), "alice")
    with client.session_transaction() as session:
        [key] = [key for key in session if key.startswith("_state_sso-")]
        flow = session[key]
        flow["data"]["nonce"] = "not-the-nonce-we-sent"
        session[key] = flow

    response = client.get(callback_path(callback))

    assert response.status_code == 403
    assert user_by_email(tx, "alice@alpha-medtech.test") is None
    [(_, _, detail, _)] = security_events(tx, world.tenant_id, "sso_refused")
    assert (detail["reason"], detail["error"], detail["issuer"]) == ("id_token_invalid", "invalid_claim", provider.issuer)


def test_a_callback_without_a_flow_of_this_browser_is_refused_in_the_platform_log(client, tx, provider, alpha_sso):
    other_browser = client.application.test_client()
    callback = provider_login(start(other_browser, provider), "alice")

    response = client.get(callback_path(callback))  # someone else's code and state

    assert response.status_code == 403
    assert user_by_email(tx, "alice@alpha-medtech.test") is None
    assert [d["reason"] for _, _, d, _ in security_events(tx, NIL_TENANT_ID, "sso_refused")][-1] == "state_mismatch"


def test_a_code_is_good_once(client, tx, world, provider, alpha_sso):
    callback = callback_path(provider_login(start(client, provider), "carol"))
    assert client.get(callback).headers["Location"] == "/buyer/"
    client.post("/logout", data={"csrf_token": csrf(client, "/buyer/")})

    response = client.get(callback)

    assert response.status_code == 403
    assert client.get("/buyer/").status_code == 302


def test_the_provider_cancelled_sign_in_is_refused(client, tx, world, provider, alpha_sso):
    authorize_url = start(client, provider)
    query = dict(parse_qsl(urlsplit(authorize_url).query))

    response = client.get(f"/sso/callback?error=access_denied&state={query['state']}&iss={provider.issuer}")

    assert response.status_code == 403
    [(_, _, detail, _)] = security_events(tx, world.tenant_id, "sso_refused")
    assert (detail["reason"], detail["error"]) == ("provider_error", "access_denied")


# --- tenant isolation ---------------------------------------------------------------------------------


def test_another_tenants_provider_cannot_take_over_an_existing_login(client, tx, world, other_world, provider, cipher):
    # Beta (the other tenant) declares alpha's domain and example.test as its own, and its
    # provider vouches for alpha's administrator's address.
    configure(
        tx, other_world, provider, cipher, allowed_domains=["alpha-medtech.test", "example.test"], role_map={"qa": "quality"}
    )

    response = sign_in_with(client, provider, "mallory", slug=other_world.slug)

    assert response.status_code == 403
    assert "has a Traceport login already" in text_of(response)
    admin = world.users["tenant_admin"]
    # No membership in beta, alpha's untouched, and nobody is signed in.
    assert membership_roles(tx, other_world.tenant_id, admin.id) == []
    assert membership_roles(tx, world.tenant_id, admin.id) == [("tenant_admin", True)]
    assert client.get("/buyer/").status_code in (302, 401)
    [(_, _, detail, _)] = security_events(tx, other_world.tenant_id, "sso_refused")
    assert detail["reason"] == "existing_login"
    assert security_events(tx, world.tenant_id, "sso_login") == []


def test_a_flow_started_for_one_tenant_cannot_end_in_another(client, tx, world, other_world, provider, cipher, alpha_sso):
    configure(tx, other_world, provider, cipher)
    callback = provider_login(start(client, provider, other_world.slug), "alice")

    assert client.get(callback_path(callback)).headers["Location"] == "/buyer/"

    user_id, _, _ = user_by_email(tx, "alice@alpha-medtech.test")
    assert membership_roles(tx, other_world.tenant_id, user_id) == [("quality", True)]
    assert membership_roles(tx, world.tenant_id, user_id) == []


# --- the entry points -------------------------------------------------------------------------------


def test_the_sign_in_page_offers_the_company_account_form(client, alpha_sso):
    page = text_of(client.get("/login"))
    assert "Sign in with your company account" in page and 'name="organisation"' in page

    response = client.get("/sso?organisation=%20Alpha%20")
    assert response.status_code == 302 and response.headers["Location"] == "/sso/alpha"

    response = client.get("/sso?organisation=")
    assert response.status_code == 200 and "Enter your organisation" in text_of(response)


def test_an_unknown_organisation_gets_the_same_answer_as_one_without_sso(client, tx, other_world):
    unknown = client.get("/sso/no-such-tenant")
    without = client.get(f"/sso/{other_world.slug}")
    assert unknown.status_code == without.status_code == 404
    assert "not available for this organisation" in text_of(unknown)
    assert text_of(unknown).replace("no-such-tenant", "X") == text_of(without).replace(other_world.slug, "X")


def test_an_unreachable_provider_is_a_clear_error(client, tx, world, provider, cipher):
    configure(tx, world, provider, cipher, discovery_url="http://127.0.0.1:9/.well-known/openid-configuration")

    response = client.get("/sso/alpha")

    assert response.status_code == 502 and "could not be reached" in text_of(response)


# --- the administration screen ---------------------------------------------------------------------------


def admin_form(**changes) -> dict:
    form = {
        "discovery_url": "",
        "client_id": "traceport-test",
        "client_secret": "",
        "allowed_domains": "alpha-medtech.test\nAlpha-Labs.test",
        "role_claim": "groups",
        "role_map": "traceport-quality = quality\ncn=buyers,ou=groups = buyer",
        "default_role": "",
        "is_enabled": "y",
        "action": "save",
    }
    form.update(changes)
    return form


def test_an_administrator_configures_sso_on_the_screen(client, tx, world, provider, cipher):
    login(client, world.users["tenant_admin"])
    page = text_of(client.get("/admin/sso"))
    assert REDIRECT_URI in page and 'name="client_secret"' in page and 'autocomplete="new-password"' in page

    data = admin_form(discovery_url=provider.discovery_url, client_secret=provider.client_secret)
    response = client.post("/admin/sso", data={**data, "csrf_token": csrf(client, "/admin/sso")})

    assert response.status_code == 303 and response.headers["Location"] == "/admin/sso"
    with tx.uow(tenant_id=world.tenant_id) as uow:
        config = get_sso(uow)
        assert client_secret(config, cipher) == provider.client_secret
        assert config.allowed_domains == ["alpha-medtech.test", "alpha-labs.test"]
        assert config.role_map == [["traceport-quality", "quality"], ["cn=buyers,ou=groups", "buyer"]]
        assert config.is_enabled is True and config.default_role is None
    page = text_of(client.get("/admin/sso"))
    assert "Single sign-on was saved." in page and provider.client_secret not in page
    assert "cn=buyers,ou=groups = buyer" in page

    # An empty secret keeps the stored one.
    data = admin_form(discovery_url=provider.discovery_url, client_id="changed")
    assert client.post("/admin/sso", data={**data, "csrf_token": csrf(client, "/admin/sso")}).status_code == 303
    with tx.uow(tenant_id=world.tenant_id) as uow:
        config = get_sso(uow)
        assert config.client_id == "changed" and client_secret(config, cipher) == provider.client_secret


def test_a_supplier_role_in_the_mapping_is_refused_on_the_screen(client, tx, world, provider):
    login(client, world.users["tenant_admin"])
    data = admin_form(discovery_url=provider.discovery_url, client_secret="x", role_map="vendors = supplier_admin")

    response = client.post("/admin/sso", data={**data, "csrf_token": csrf(client, "/admin/sso")})

    assert response.status_code == 422
    page = text_of(response)
    assert "not to supplier roles" in page and 'aria-invalid="true"' in page
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert get_sso(uow) is None


def test_test_discovery_shows_the_issuer_or_the_problem(client, tx, world, provider):
    login(client, world.users["tenant_admin"])

    data = admin_form(discovery_url=provider.discovery_url, action="test")
    page = text_of(client.post("/admin/sso", data={**data, "csrf_token": csrf(client, "/admin/sso")}))
    assert f"Issuer: {provider.issuer}" in page

    data = admin_form(discovery_url=provider.issuer + "/jwks", action="test")
    page = text_of(client.post("/admin/sso", data={**data, "csrf_token": csrf(client, "/admin/sso")}))
    assert "could not be read" in page and "names no issuer" in page

    data = admin_form(discovery_url="http://intranet.example/.well-known/openid-configuration", action="test")
    page = text_of(client.post("/admin/sso", data={**data, "csrf_token": csrf(client, "/admin/sso")}))
    assert "must start with https://" in page
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert get_sso(uow) is None  # testing saves nothing


def test_only_sso_managers_see_the_screen(client, world):
    login(client, world.users["buyer"])
    assert client.get("/admin/sso").status_code == 403
