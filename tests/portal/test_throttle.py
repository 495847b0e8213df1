"""Per-address throttling of sign-in and token endpoints: 429 with Retry-After, a
translated page or problem details, and a security event."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from auth.models import SecurityEvent
from kernel.models import NIL_TENANT_ID
from portal.app import create_app
from portal.shell.throttle import throttled_endpoints
from tests.factories import PASSWORD
from tests.portal.support import csrf, text_of

LIMIT = 3


@pytest.fixture
def app(tx, settings):
    """The app with a small limit (a settings override; each app has its own counters)."""
    return create_app(settings.model_copy(update={"login_rate_limit": f"{LIMIT}/minute"}), runtime=tx)


def from_address(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def wrong_login(client, email="brute@example.test"):
    return client.post("/login", data={"email": email, "password": "guess", "csrf_token": csrf(client)})


def rate_events(tx, address):
    with tx.uow(tenant_id=NIL_TENANT_ID) as uow:
        rows = list(
            uow.session.scalars(
                sa.select(SecurityEvent).where(
                    SecurityEvent.kind == "rate_limited", sa.cast(SecurityEvent.ip, sa.String).like(f"{address}%")
                )
            )
        )
        uow.session.expunge_all()
    return rows


def test_the_sign_in_and_token_endpoints_are_throttled(app):
    assert {"auth.login", "api.token"} <= throttled_endpoints(app)
    assert {"auth.login_verify", "auth.forgot_password", "auth.invitation"} <= throttled_endpoints(app)


def test_an_address_past_the_limit_gets_429_with_retry_after_and_an_event(app, tx):
    client = from_address(app, "203.0.113.10")
    for _ in range(LIMIT):
        assert wrong_login(client).status_code == 401
    response = wrong_login(client)
    assert response.status_code == 429
    # Rounded up to whole seconds by Flask-Limiter: up to the window and one.
    assert 1 <= int(response.headers["Retry-After"]) <= 61
    page = text_of(response)
    assert "Too many attempts" in page and "Wait" in page
    [event] = rate_events(tx, "203.0.113.10")
    assert event.severity == "warning" and event.email == "brute@example.test"
    assert event.detail["endpoint"] == "auth.login"


def test_the_limit_holds_even_for_the_right_password(app, world):
    client = from_address(app, "203.0.113.11")
    for _ in range(LIMIT):
        wrong_login(client, world.users["buyer"].email)
    response = client.post("/login", data={"email": world.users["buyer"].email, "password": PASSWORD, "csrf_token": csrf(client)})
    assert response.status_code == 429
    assert client.get("/buyer/").status_code == 302  # not signed in


def test_other_addresses_and_reading_the_page_are_not_limited(app):
    first = from_address(app, "203.0.113.12")
    for _ in range(LIMIT + 1):
        wrong_login(first)
    assert wrong_login(first).status_code == 429
    assert first.get("/login").status_code == 200  # GET is not counted
    assert wrong_login(from_address(app, "203.0.113.13")).status_code == 401


def test_every_app_starts_with_fresh_counters(app, tx, settings):
    client = from_address(app, "203.0.113.14")
    for _ in range(LIMIT + 1):
        wrong_login(client)
    fresh = create_app(settings.model_copy(update={"login_rate_limit": f"{LIMIT}/minute"}), runtime=tx)
    assert wrong_login(from_address(fresh, "203.0.113.14")).status_code == 401


def test_the_token_endpoint_answers_problem_details(app):
    client = from_address(app, "203.0.113.15")
    for _ in range(LIMIT):
        assert client.post("/api/v1/oauth/token", data={"grant_type": "client_credentials"}).status_code in (400, 401)
    response = client.post("/api/v1/oauth/token", data={"grant_type": "client_credentials"})
    assert response.status_code == 429 and response.mimetype == "application/problem+json"
    assert response.json["status"] == 429 and "Too many attempts" in response.json["detail"]
    assert int(response.headers["Retry-After"]) >= 1


def test_a_flood_leaves_a_few_events_not_one_per_request(app, tx):
    client = from_address(app, "203.0.113.16")
    for _ in range(LIMIT + 12):
        wrong_login(client)
    assert 1 <= len(rate_events(tx, "203.0.113.16")) <= 5
