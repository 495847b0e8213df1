"""Headers on every response, cookies, request ids."""

from __future__ import annotations

import pytest

from kernel.settings import load_settings
from portal.app import create_app
from portal.shell.security import CSP
from tests.portal.support import login

EXPECTED = {
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
}


def test_the_policy_is_the_one_asked_for():
    assert CSP == (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; frame-ancestors 'none';"
        " base-uri 'self'; form-action 'self'; object-src 'none'"
    )


@pytest.mark.parametrize("path", ["/login", "/healthz", "/api/v1/me", "/no-such-page", "/static/css/app.css"])
def test_every_response_carries_the_security_headers(client, path):
    response = client.get(path)
    for name, value in EXPECTED.items():
        assert response.headers[name] == value, (path, name)
    assert "Strict-Transport-Security" not in response.headers


def test_pages_have_no_inline_script_or_style(client, world):
    login(client, world.users["buyer"])
    page = client.get("/buyer/").get_data(as_text=True)
    assert "<style" not in page and " style=" not in page
    assert all('src="/static/' in tag for tag in page.split("<script")[1:])


def test_production_adds_hsts_and_secure_cookies(tx):
    settings = load_settings(
        TRACEPORT_ENV="production", SECRET_KEY="s" * 40, AUDIT_SIGNING_KEY="k", DATABASE_URL="postgresql://app@db/t"
    )
    client = create_app(settings, runtime=tx).test_client()
    response = client.get("/login", base_url="https://portal.example")
    assert response.headers["Strict-Transport-Security"].startswith("max-age=31536000")
    assert "Secure" in response.headers["Set-Cookie"]


def test_a_request_id_is_echoed_or_made(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["X-Request-ID"] == "abc-123"
    made = client.get("/healthz").headers["X-Request-ID"]
    assert len(made) == 32
    # Anything else would end up in logs and the audit trail as given: replaced.
    assert client.get("/healthz", headers={"X-Request-ID": "x\u2028<script>"}).headers["X-Request-ID"] != "x\u2028<script>"
