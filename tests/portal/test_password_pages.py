"""Password pages through the web client: forgot (no enumeration), the emailed reset
link (real SMTP, once, expiring), and changing one's password."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from auth.models import PasswordReset, SecurityEvent, User
from auth.passwords import verify_password
from kernel.clock import utcnow
from kernel.models import NIL_TENANT_ID
from portal.jobs import dispatcher
from tenants import service as tenants
from tests.factories import PASSWORD, make_user
from tests.portal.support import csrf, login, text_of, token_in

NEW_PASSWORD = "copper heron counts 41 quiet bridges"
SENT = "If an account exists for that address, we have sent a link to choose a new password."
INVALID = "This password reset link is not valid any more. Ask for a new one."
LINK = re.compile(r"https?://[^\s/]+(/password/reset/[A-Za-z0-9_-]+)")


def deliver_platform_mail(tx, settings) -> None:
    with tx.uow(tenant_id=NIL_TENANT_ID) as uow:
        dispatcher(settings).deliver_pending(uow)
        uow.commit()


def received(mailbox, to):
    return [m for m in mailbox if m["To"] == to]


def forgot(client, email):
    return client.post("/password/forgot", data={"csrf_token": csrf(client, "/password/forgot"), "email": email})


def reset_path(tx, settings, mailbox, email) -> str:
    deliver_platform_mail(tx, settings)
    [message] = received(mailbox, email)
    return LINK.search(message.get_body(("plain",)).get_content()).group(1)


def choose(client, path, password, confirm=None):
    page = client.get(path)
    return client.post(path, data={"csrf_token": token_in(page.data), "password": password, "confirm": confirm or password})


def member(tx, world, locale="en"):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        user = make_user(uow, locale=locale)
        tenants.add_membership(uow, user=user, role="viewer")
        uow.commit()
    return user


def password_of(tx, user_id) -> str:
    with tx.uow() as uow:
        return uow.session.get(User, user_id).password_hash


def test_the_sign_in_page_links_to_the_forgot_page(client):
    page = text_of(client.get("/login"))
    assert 'href="/password/forgot"' in page and "Forgot your password?" in page


def test_the_answer_is_the_same_for_known_and_unknown_addresses(app, tx, world, settings, mailbox):
    user = member(tx, world)
    known, unknown = forgot(app.test_client(), user.email), forgot(app.test_client(), "nobody-here@example.test")
    assert known.status_code == unknown.status_code == 303
    assert known.headers["Location"] == unknown.headers["Location"] == "/password/forgot/sent"
    assert known.get_data() == unknown.get_data()
    page = text_of(app.test_client().get("/password/forgot/sent"))
    assert SENT in page and "60 minutes" in page
    deliver_platform_mail(tx, settings)
    assert len(received(mailbox, user.email)) == 1
    assert received(mailbox, "nobody-here@example.test") == []
    # A malformed address is a form error, whoever asks.
    response = forgot(app.test_client(), "")
    assert response.status_code == 200 and "Enter your email address." in text_of(response)


def test_the_reset_link_changes_the_password_once_and_signs_out_everywhere(app, tx, world, settings, mailbox):
    user = member(tx, world)
    elsewhere = app.test_client()
    login(elsewhere, user)
    assert elsewhere.get("/buyer/").status_code == 200

    forgot(app.test_client(), user.email)
    deliver_platform_mail(tx, settings)
    [message] = received(mailbox, user.email)
    text = message.get_body(("plain",)).get_content()
    assert message["Subject"] == "Reset your Traceport password" and message["Content-Language"] == "en"
    assert f"Hello {user.full_name}," in text and "within 60 minutes" in text
    path = LINK.search(text).group(1)

    client = app.test_client()
    form = client.get(path)
    page = text_of(form)
    assert form.status_code == 200 and form.headers["Cache-Control"] == "no-store"
    assert user.email in page and 'autocomplete="new-password"' in page and "autofocus" in page
    weak = choose(client, path, "leavemealone")
    assert weak.status_code == 422 and "commonly used passwords" in text_of(weak)
    differ = choose(client, path, NEW_PASSWORD, NEW_PASSWORD + "!")
    assert differ.status_code == 200 and "The two passwords are not the same." in text_of(differ)
    assert verify_password(password_of(tx, user.id), PASSWORD)

    done = choose(client, path, NEW_PASSWORD)
    assert done.status_code == 303 and done.headers["Location"] == "/login"
    assert "Your password has been changed." in text_of(client.get("/login"))
    assert verify_password(password_of(tx, user.id), NEW_PASSWORD)
    # The browser signed in before the reset is signed out.
    assert elsewhere.get("/buyer/").status_code == 302
    assert login(app.test_client(), user, PASSWORD).status_code == 401
    assert login(app.test_client(), user, NEW_PASSWORD).status_code == 302

    # Used once: the same refusal as any other link, and nothing changes.
    again = app.test_client()
    for response in (again.get(path), choose(again, path, "another " + NEW_PASSWORD)):
        assert response.status_code == 404 and INVALID in text_of(response)
        assert 'href="/password/forgot"' in text_of(response)
    assert verify_password(password_of(tx, user.id), NEW_PASSWORD)
    with tx.uow(tenant_id=world.tenant_id) as uow:
        refused = list(
            uow.session.scalars(
                sa.select(SecurityEvent).where(SecurityEvent.kind == "reset_refused", SecurityEvent.user_id == user.id)
            )
        )
        assert [e.detail["reason"] for e in refused] == ["used"] * 3  # the GET, and choose()'s GET and POST


def test_an_expired_link_gets_the_same_page_as_an_unknown_one(app, tx, world, settings, mailbox):
    user = member(tx, world)
    forgot(app.test_client(), user.email)
    path = reset_path(tx, settings, mailbox, user.email)
    with tx.uow() as uow:
        uow.execute(
            sa.update(PasswordReset).where(PasswordReset.user_id == user.id).values(expires_at=utcnow() - timedelta(seconds=1))
        )
        uow.commit()
    expired, unknown = app.test_client().get(path), app.test_client().get("/password/reset/not-a-token")
    assert expired.status_code == unknown.status_code == 404
    assert INVALID in text_of(expired) and INVALID in text_of(unknown)
    assert choose(app.test_client(), path, NEW_PASSWORD).status_code == 404
    assert verify_password(password_of(tx, user.id), PASSWORD)


def test_changing_ones_password_needs_the_current_one_and_ends_other_sessions(app, tx, world):
    user = member(tx, world)
    other = app.test_client()
    login(other, user)
    client = app.test_client()
    login(client, user)
    page = client.get("/account/password")
    text = text_of(page)
    assert page.status_code == 200 and 'autocomplete="current-password"' in text and 'autocomplete="new-password"' in text
    token = token_in(page.data)

    def change(current, new, confirm=None):
        return client.post(
            "/account/password",
            data={"csrf_token": token, "current": current, "password": new, "confirm": confirm or new},
        )

    wrong = change("not my password", NEW_PASSWORD)
    assert wrong.status_code == 422 and "Your current password is not correct." in text_of(wrong)
    weak = change(PASSWORD, user.email + "2026")
    assert weak.status_code == 422 and "must not contain your email address" in text_of(weak)
    assert verify_password(password_of(tx, user.id), PASSWORD)
    with tx.uow() as uow:
        assert uow.session.get(User, user.id).failed_logins == 1  # the wrong guess counts

    done = change(PASSWORD, NEW_PASSWORD)
    assert done.status_code == 303 and done.headers["Location"] == "/buyer/"
    assert "signed out everywhere else" in text_of(client.get("/buyer/"))
    assert verify_password(password_of(tx, user.id), NEW_PASSWORD)
    assert other.get("/buyer/").status_code == 302  # the other browser is signed out
    assert client.get("/account/password").status_code == 200  # this one is not


def test_the_password_page_needs_a_sign_in(client):
    response = client.get("/account/password")
    assert response.status_code == 302 and response.headers["Location"].startswith("/login")
