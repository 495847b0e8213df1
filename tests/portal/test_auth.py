"""Signing in and out, the session's life, CSRF on forms."""

from __future__ import annotations

import uuid
from datetime import timedelta

import sqlalchemy as sa

from auth.models import UserSession
from kernel.clock import utcnow
from tenants.models import Membership
from tests.factories import PASSWORD
from tests.portal.support import csrf, login, text_of, token_in

WRONG = "The email or password is not correct."


def test_a_buyer_signs_in_and_lands_on_the_buyer_home(client, world):
    response = login(client, world.users["buyer"])
    assert response.status_code == 302 and response.headers["Location"] == "/buyer/"
    page = text_of(client.get("/buyer/"))
    assert world.users["buyer"].full_name in page and f"Tenant {world.slug}" in page


def test_a_supplier_signs_in_and_lands_on_the_supplier_home(client, world):
    response = login(client, world.users["supplier1"])
    assert response.headers["Location"] == "/supplier/"
    assert client.get("/").headers["Location"] == "/supplier/"


def test_unknown_email_and_wrong_password_get_the_same_answer(client, world):
    unknown = login(client, "nobody@example.test")
    wrong = login(client, world.users["buyer"], password="not-the-password")
    assert unknown.status_code == wrong.status_code == 401
    assert WRONG in text_of(unknown) and WRONG in text_of(wrong)
    assert client.get("/buyer/").status_code == 302  # still signed out


def test_empty_fields_are_named_without_trying_a_password(client):
    response = client.post("/login", data={"email": "", "password": "", "csrf_token": csrf(client)})
    page = text_of(response)
    assert response.status_code == 200
    assert "Enter your email address." in page and "Enter your password." in page and 'aria-invalid="true"' in page


def test_signing_in_starts_a_new_session(client, world):
    client.get("/login")
    with client.session_transaction() as session:
        session["planted"] = "by someone else"
        before = session["csrf_token"]
    login(client, world.users["buyer"])
    with client.session_transaction() as session:
        assert "planted" not in session
        assert session.get("csrf_token") != before
        assert session["tenant_id"] == str(world.tenant_id)


def test_sign_out_ends_the_session(client, world):
    login(client, world.users["buyer"])
    token = token_in(client.get("/buyer/").data)
    response = client.post("/logout", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert "You have signed out." in text_of(client.get("/login"))
    assert client.get("/buyer/").headers["Location"].startswith("/login")


def test_forms_without_a_csrf_token_are_refused(client, world):
    response = client.post("/login", data={"email": world.users["buyer"].email, "password": PASSWORD})
    assert response.status_code == 400
    assert "This form has expired" in text_of(response)
    login(client, world.users["buyer"])
    assert client.post("/logout").status_code == 400
    assert client.get("/buyer/").status_code == 200  # still signed in


def test_pages_need_a_signed_in_user_and_come_back_after_sign_in(client, world):
    response = client.get("/buyer/purchase-orders")
    assert response.status_code == 302 and response.headers["Location"] == "/login?next=/buyer/purchase-orders"
    response = login(client, world.users["buyer"], next_url="/buyer/purchase-orders")
    assert response.headers["Location"] == "/buyer/purchase-orders"


def test_a_next_address_off_the_site_is_ignored(client, world):
    response = login(client, world.users["buyer"], next_url="//evil.example/")
    assert response.headers["Location"] == "/buyer/"


def test_an_idle_session_is_signed_out(client, world, tx):
    login(client, world.users["buyer"])
    with client.session_transaction() as session:
        session_id = uuid.UUID(session["sid"])
    idle = timedelta(minutes=tx.settings.session_idle_minutes, seconds=5)
    with tx.uow() as uow:  # the idle clock lives in the server-side session row
        uow.execute(sa.update(UserSession).where(UserSession.id == session_id).values(last_seen_at=utcnow() - idle))
        uow.commit()
    response = client.get("/buyer/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert "minutes without activity" in text_of(client.get("/login"))


def test_a_revoked_membership_signs_out_on_the_next_request(client, world, tx):
    login(client, world.users["viewer"])
    assert client.get("/buyer/").status_code == 200
    with tx.uow(tenant_id=world.tenant_id) as uow:
        uow.execute(sa.update(Membership).where(Membership.user_id == world.users["viewer"].id).values(is_active=False))
        uow.commit()
    response = client.get("/buyer/")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
    assert "Your access has changed" in text_of(client.get("/login"))
    with client.session_transaction() as session:
        assert "_user_id" not in session


def test_session_cookie_is_http_only_and_same_site(client, world):
    response = login(client, world.users["buyer"])
    cookie = response.headers["Set-Cookie"]
    assert "traceport_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # not in production: the development server is http
