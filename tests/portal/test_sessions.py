"""Server-side sessions in the browser: rotation at sign-in, a copied cookie after
sign-out, idle and absolute limits, the sessions page, sign out everywhere, a revoked
membership, and the cookie's attributes."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import pytest
import sqlalchemy as sa

from auth.models import SecurityEvent, UserSession
from kernel.clock import utcnow
from kernel.settings import load_settings
from portal.app import create_app
from tenants.models import Membership
from tests.factories import PASSWORD
from tests.portal.support import login, text_of, token_in

COOKIE = "traceport_session"


def session_id(client) -> uuid.UUID:
    with client.session_transaction() as session:
        return uuid.UUID(session["sid"])


def row(tx, sid) -> UserSession:
    with tx.uow() as uow:
        found = uow.session.get(UserSession, sid)
        uow.session.expunge_all()
    return found


def signed_out(response) -> bool:
    return response.status_code == 302 and response.headers["Location"].startswith("/login")


def events(tx, tenant_id, kind):
    with tx.uow(tenant_id=tenant_id) as uow:
        rows = list(uow.session.scalars(sa.select(SecurityEvent).where(SecurityEvent.kind == kind).order_by(SecurityEvent.id)))
        uow.session.expunge_all()
    return rows


def test_signing_in_starts_a_server_side_session_named_by_the_cookie(client, world, tx):
    client.get("/login")
    with client.session_transaction() as session:
        session["sid"] = str(uuid.uuid4())  # planted before sign-in (session fixation)
        planted = session["sid"]
    login(client, world.users["buyer"])
    sid = session_id(client)
    assert str(sid) != planted
    started = row(tx, sid)
    assert started.user_id == world.users["buyer"].id and started.method == "password" and started.revoked_at is None
    assert str(started.ip) == "127.0.0.1" and started.user_agent
    assert started.expires_at - started.created_at == timedelta(hours=tx.settings.session_absolute_hours)


def test_every_sign_in_gets_a_new_session_and_signing_out_ends_the_old_one(client, world, tx):
    login(client, world.users["buyer"])
    first = session_id(client)
    client.post("/logout", data={"csrf_token": token_in(client.get("/buyer/").data)})
    assert row(tx, first).revoked_reason == "signed_out"
    login(client, world.users["buyer"])
    second = session_id(client)
    assert second != first and row(tx, second).revoked_at is None


def test_a_copied_cookie_is_useless_after_sign_out(app, client, world):
    login(client, world.users["buyer"])
    copied = client.get_cookie(COOKIE).value
    thief = app.test_client()
    thief.set_cookie(COOKIE, copied)
    assert thief.get("/buyer/").status_code == 200  # a copy works while the session is open ...
    client.post("/logout", data={"csrf_token": token_in(client.get("/buyer/").data)})
    replay = app.test_client()
    replay.set_cookie(COOKIE, copied)
    assert signed_out(replay.get("/buyer/"))  # ... and not after the sign-out
    assert "Your session was ended. Please sign in again." in text_of(replay.get("/login"))


def test_a_session_past_its_absolute_limit_is_signed_out_however_active(client, world, tx):
    login(client, world.users["buyer"])
    sid = session_id(client)
    with tx.uow() as uow:
        uow.execute(sa.update(UserSession).where(UserSession.id == sid).values(expires_at=utcnow() - timedelta(seconds=1)))
        uow.commit()
    assert signed_out(client.get("/buyer/"))
    hours = tx.settings.session_absolute_hours
    assert f"Your session reached its time limit of {hours} hours." in text_of(client.get("/login"))
    assert row(tx, sid).revoked_reason == "expired"
    with client.session_transaction() as session:
        assert "_user_id" not in session and "sid" not in session


def test_an_idle_session_is_ended_on_the_server_too(client, world, tx):
    login(client, world.users["buyer"])
    sid = session_id(client)
    idle = timedelta(minutes=tx.settings.session_idle_minutes, seconds=1)
    with tx.uow() as uow:
        uow.execute(sa.update(UserSession).where(UserSession.id == sid).values(last_seen_at=utcnow() - idle))
        uow.commit()
    assert signed_out(client.get("/buyer/"))
    assert row(tx, sid).revoked_reason == "idle"
    assert "minutes without activity" in text_of(client.get("/login"))


def test_activity_moves_the_idle_clock_at_most_once_a_minute(client, world, tx):
    login(client, world.users["buyer"])
    sid = session_id(client)
    earlier = utcnow() - timedelta(minutes=5)
    with tx.uow() as uow:
        uow.execute(sa.update(UserSession).where(UserSession.id == sid).values(last_seen_at=earlier))
        uow.commit()
    assert client.get("/buyer/").status_code == 200
    moved = row(tx, sid).last_seen_at
    assert moved > earlier + timedelta(minutes=4)
    client.get("/buyer/")
    assert row(tx, sid).last_seen_at == moved  # within the minute: not written again


def test_a_revoked_membership_ends_the_members_session_on_the_next_request(client, world, tx):
    login(client, world.users["viewer"])
    sid = session_id(client)
    assert client.get("/buyer/").status_code == 200
    with tx.uow(tenant_id=world.tenant_id) as uow:
        uow.execute(sa.update(Membership).where(Membership.user_id == world.users["viewer"].id).values(is_active=False))
        uow.commit()
    assert signed_out(client.get("/buyer/"))
    assert row(tx, sid).revoked_reason == "access_changed"


@pytest.fixture
def two_browsers(app, world):
    """The same buyer signed in on two browsers."""
    first, second = app.test_client(), app.test_client()
    second.environ_base["HTTP_USER_AGENT"] = "Mozilla/5.0 (iPhone) Mobile Safari"
    login(first, world.users["buyer"])
    login(second, world.users["buyer"])
    return first, second


def test_the_sessions_page_lists_where_one_is_signed_in(two_browsers, world):
    first, second = two_browsers
    page = text_of(first.get("/account/sessions"))
    assert "iPhone" in page and "This browser" in page and "Sign out everywhere" in page
    assert str(session_id(second)) in page and str(session_id(first)) in page
    assert page.count("This browser") == 1


def test_ending_another_session_signs_that_browser_out_only(two_browsers, tx):
    first, second = two_browsers
    other = session_id(second)
    token = token_in(first.get("/account/sessions").data)
    response = first.post(f"/account/sessions/{other}/revoke", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/account/sessions"
    assert row(tx, other).revoked_reason == "revoked"
    assert signed_out(second.get("/buyer/"))
    assert first.get("/buyer/").status_code == 200
    assert str(other) not in text_of(first.get("/account/sessions"))


def test_sign_out_everywhere_ends_every_browsers_session(two_browsers, world, tx):
    first, second = two_browsers
    sessions = [session_id(first), session_id(second)]
    token = token_in(first.get("/account/sessions").data)
    response = first.post("/account/sessions/revoke-all", data={"csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert "You have been signed out everywhere" in text_of(first.get("/login"))
    assert signed_out(second.get("/buyer/")) and signed_out(first.get("/buyer/"))
    assert all(row(tx, sid).revoked_reason == "signed_out_everywhere" for sid in sessions)
    [event] = [e for e in events(tx, world.tenant_id, "sessions_revoked") if e.user_id == world.users["buyer"].id]
    assert event.detail == {"sessions": 2}


def test_sign_out_everywhere_needs_the_forms_token(two_browsers, world, tx):
    first, second = two_browsers
    response = first.post("/account/sessions/revoke-all")
    assert response.status_code == 400
    assert second.get("/buyer/").status_code == 200 and first.get("/buyer/").status_code == 200
    assert row(tx, session_id(second)).revoked_at is None


def test_someone_elses_session_id_is_refused_and_recorded(app, client, world, tx):
    victim = app.test_client()
    login(victim, world.users["quality"])
    theirs = session_id(victim)
    login(client, world.users["buyer"])
    token = token_in(client.get("/account/sessions").data)
    response = client.post(f"/account/sessions/{theirs}/revoke", data={"csrf_token": token})
    assert response.status_code == 403
    assert row(tx, theirs).revoked_at is None and victim.get("/buyer/").status_code == 200
    [event] = [e for e in events(tx, world.tenant_id, "isolation_denied") if e.user_id == world.users["buyer"].id]
    assert event.detail["field"] == "session_id" and event.detail["value"] == str(theirs)


def test_the_cookie_is_http_only_same_site_and_lives_as_long_as_a_session_may(client, world, tx):
    response = login(client, world.users["buyer"])
    cookie = response.headers["Set-Cookie"]
    attributes = {part.split("=", 1)[0].strip().lower(): part.split("=", 1)[-1] for part in cookie.split(";")}
    assert "httponly" in attributes and attributes["samesite"] == "Lax" and attributes["path"] == "/"
    assert "secure" not in attributes  # development runs on http
    expires = parsedate_to_datetime(attributes["expires"])
    limit = timedelta(hours=tx.settings.session_absolute_hours)
    assert limit - timedelta(minutes=1) < expires - datetime.now(UTC) <= limit


def test_the_cookie_holds_ids_only(app, client, world):
    login(client, world.users["buyer"])
    value = client.get_cookie(COOKIE).value
    content = app.session_interface.get_signing_serializer(app).loads(value)
    assert set(content) <= {"sid", "_user_id", "tenant_id", "locale", "csrf_token", "_fresh", "_id", "_permanent"}
    assert content["sid"] and content["_user_id"] == str(world.users["buyer"].id)


def test_production_cookies_are_secure(tx, world):
    settings = load_settings(
        TRACEPORT_ENV="production", SECRET_KEY="s" * 40, AUDIT_SIGNING_KEY="k", DATABASE_URL="postgresql://app@db/t"
    )
    client = create_app(settings, runtime=tx).test_client()
    site = "https://portal.example"
    token = token_in(client.get("/login", base_url=site).data)
    response = client.post(
        "/login",
        data={"email": world.users["buyer"].email, "password": PASSWORD, "csrf_token": token},
        base_url=site,
        headers={"Referer": f"{site}/login"},  # Flask-WTF checks the referrer over https
    )
    assert response.status_code == 302
    cookie = response.headers["Set-Cookie"]
    assert "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
