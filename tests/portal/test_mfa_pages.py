"""Second factor in the browser: enrolment with a QR code, recovery codes shown once,
the second sign-in step, replay and guessing refused, the tenant's rule, the account
and sign-in-rule pages."""

from __future__ import annotations

import re
import time
from types import SimpleNamespace
from urllib.parse import parse_qs, urlsplit

import pyotp
import pytest
import sqlalchemy as sa
import zxingcpp

from auth import mfa
from auth.models import SecurityEvent, User
from kernel.crypto import FieldCipher
from kernel.uow import Actor
from tenants.models import Tenant
from tests.auth.support import enrolled, member, next_code
from tests.factories import PASSWORD
from tests.portal.support import csrf, login, text_of, token_in

CODES = re.compile(r"<code>([A-Z2-7]{5}-[A-Z2-7]{5})</code>")
SECRET = re.compile(r'<p class="secret"[^>]*><code>(.*?)</code>', re.S)
LOCKED = "Too many failed attempts."
WRONG_CODE = "The code is not correct, or it was already used."


@pytest.fixture
def cipher(settings):
    return FieldCipher.from_settings(settings)


def new_member(tx, world, **kw) -> User:
    with tx.uow() as uow:
        user = member(uow, world, **kw)
        uow.commit()
    return user


def new_enrolled(tx, world, cipher, **kw) -> tuple[User, pyotp.TOTP, list[str]]:
    with tx.uow() as uow:
        user = member(uow, world, **kw)
        totp, codes = enrolled(uow, user, cipher)
        uow.commit()
    return user, totp, codes


def stored_user(tx, user_id) -> SimpleNamespace:
    """The user's row as it is now (plain values: usable after the unit of work)."""
    with tx.uow() as uow:
        uow.switch_tenant(None, actor=Actor(user_id=user_id, name="test"))
        row = uow.session.get(User, user_id)
        return SimpleNamespace(**{c.key: getattr(row, c.key) for c in sa.inspect(User).column_attrs})


def events(tx, tenant_id, user_id, kind: str) -> list:
    with tx.uow(tenant_id=tenant_id) as uow:
        return list(
            uow.execute(
                sa.select(SecurityEvent.__table__)
                .where(SecurityEvent.user_id == user_id, SecurityEvent.kind == kind)
                .order_by(SecurityEvent.occurred_at)
            )
        )


def set_rule(tx, world, policy: str) -> None:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        uow.session.get(Tenant, world.tenant_id).mfa_policy = policy
        uow.commit()


def decode_svg(svg: str, scale: int = 4) -> str | None:
    """Read the QR code back from the SVG the page serves (its modules are rectangles
    of a path), with zxing-cpp's reader: what a phone's camera would get."""
    width, height = map(int, re.search(r'<svg width="(\d+)" height="(\d+)"', svg).groups())
    pixels = bytearray([255]) * (width * scale * height * scale)
    for x, y, w, h in re.findall(r"M(\d+) (\d+)h(\d+)v(\d+)h-\d+Z", svg):
        x, y, w, h = int(x), int(y), int(w), int(h)
        for row in range(y * scale, (y + h) * scale):
            start = row * width * scale
            pixels[start + x * scale : start + (x + w) * scale] = bytes(w * scale)
    image = memoryview(bytes(pixels)).cast("B", (height * scale, width * scale))
    found = zxingcpp.read_barcode(image, formats=zxingcpp.BarcodeFormat.QRCode)
    return found.text if found else None


def verify(client, code: str, *, recovery: bool = False):
    path = "/login/verify?recovery=1" if recovery else "/login/verify"
    return client.post(path, data={"code": code, "csrf_token": csrf(client, path)})


# --- enrolment -----------------------------------------------------------------------------


def test_enrolment_shows_a_scannable_qr_code_and_the_key_then_the_recovery_codes_once(client, tx, world, cipher):
    user = new_member(tx, world)
    login(client, user)
    page = client.get("/account/mfa")
    html = text_of(page)
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    assert 'src="/account/mfa/qr.svg"' in html and 'autocomplete="one-time-code"' in html and 'inputmode="numeric"' in html
    shown_secret = re.sub(r"<[^>]+>|\s", "", SECRET.search(html).group(1))
    secret = cipher.decrypt(stored_user(tx, user.id).totp_secret)
    assert shown_secret == secret and stored_user(tx, user.id).totp_enabled_at is None

    qr = client.get("/account/mfa/qr.svg")
    assert qr.status_code == 200 and qr.mimetype == "image/svg+xml" and qr.headers["Cache-Control"] == "no-store"
    uri = decode_svg(qr.get_data(as_text=True))
    assert uri.startswith("otpauth://totp/Traceport:") and parse_qs(urlsplit(uri).query)["secret"] == [secret]
    assert client.get("/account/mfa").status_code == 200
    assert cipher.decrypt(stored_user(tx, user.id).totp_secret) == secret  # a reload keeps the key being scanned

    confirmed = client.post("/account/mfa", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token_in(html)})
    codes = CODES.findall(text_of(confirmed))
    assert confirmed.status_code == 200 and len(set(codes)) == 10 and confirmed.headers["Cache-Control"] == "no-store"
    assert "shown only this once" in text_of(confirmed) and "js/print.js" in text_of(confirmed)
    assert stored_user(tx, user.id).totp_enabled_at is not None
    assert len(events(tx, world.tenant_id, user.id, "mfa_enabled")) == 1

    after = text_of(client.get("/account/mfa"))
    assert "10 of your recovery codes are left" in after and not CODES.findall(after) and codes[0] not in after
    assert client.get("/account/mfa/qr.svg").status_code == 404  # the key in force is never shown again
    assert "Authenticator app, since" in text_of(client.get("/account"))


def test_a_wrong_first_code_changes_nothing_and_is_noted(client, tx, world, cipher):
    user = new_member(tx, world)
    login(client, user)
    html = text_of(client.get("/account/mfa"))
    secret = cipher.decrypt(stored_user(tx, user.id).totp_secret)
    wrong = str((int(pyotp.TOTP(secret).now()) + 500_000) % 1_000_000).zfill(6)
    response = client.post("/account/mfa", data={"code": wrong, "csrf_token": token_in(html)})
    assert response.status_code == 422 and WRONG_CODE in text_of(response)
    stored = stored_user(tx, user.id)
    assert stored.totp_enabled_at is None and cipher.decrypt(stored.totp_secret) == secret and stored.failed_logins == 0
    [event] = events(tx, world.tenant_id, user.id, "otp_failed")
    assert event.detail["reason"] == "enrolment"


# --- the second step of signing in -------------------------------------------------------------


def test_signing_in_with_a_second_factor_asks_for_the_code(client, tx, world, cipher):
    user, totp, _ = new_enrolled(tx, world, cipher)
    response = login(client, user, next_url="/buyer/purchase-orders")
    assert response.status_code == 302 and response.headers["Location"] == "/login/verify"
    assert client.get("/buyer/").headers["Location"].startswith("/login")  # not signed in yet
    page = text_of(client.get("/login/verify"))
    assert 'autocomplete="one-time-code"' in page and 'inputmode="numeric"' in page and "autofocus" in page
    assert "/login/verify?recovery=1" in page
    response = verify(client, next_code(totp))
    assert response.status_code == 302 and response.headers["Location"] == "/buyer/purchase-orders"
    assert client.get("/buyer/").status_code == 200
    assert stored_user(tx, user.id).failed_logins == 0


def test_the_same_code_cannot_sign_in_twice(client, tx, world, cipher, app):
    user, totp, _ = new_enrolled(tx, world, cipher)
    code = next_code(totp)
    login(client, user)
    assert verify(client, code).headers["Location"] == "/buyer/"
    client.post("/logout", data={"csrf_token": token_in(client.get("/buyer/").data)})

    login(client, user)
    replayed = verify(client, code)
    assert replayed.status_code == 401 and WRONG_CODE in text_of(replayed)
    assert client.get("/buyer/").status_code == 302
    assert stored_user(tx, user.id).failed_logins == 1
    assert len(events(tx, world.tenant_id, user.id, "otp_failed")) == 1


def test_a_recovery_code_signs_in_once(client, tx, world, cipher):
    user, _, codes = new_enrolled(tx, world, cipher)
    login(client, user)
    page = text_of(client.get("/login/verify?recovery=1"))
    assert 'autocomplete="off"' in page and "Recovery code" in page
    response = verify(client, codes[0].lower().replace("-", " "), recovery=True)
    assert response.status_code == 302 and response.headers["Location"] == "/buyer/"
    assert "9 recovery codes are left" in text_of(client.get("/buyer/"))
    assert len(events(tx, world.tenant_id, user.id, "recovery_code_used")) == 1
    client.post("/logout", data={"csrf_token": token_in(client.get("/buyer/").data)})

    login(client, user)
    again = verify(client, codes[0], recovery=True)
    assert again.status_code == 401 and client.get("/buyer/").status_code == 302


def test_guessing_the_code_locks_the_account_even_for_the_right_code(client, tx, world, cipher, settings):
    user, totp, codes = new_enrolled(tx, world, cipher)
    login(client, user)
    wrong = str((int(next_code(totp)) + 500_000) % 1_000_000).zfill(6)
    for attempt in range(1, settings.login_max_failures + 1):
        response = verify(client, wrong)
        assert response.status_code == 401
        expected = LOCKED if attempt == settings.login_max_failures else WRONG_CODE
        assert expected in text_of(response), attempt
    for good in (next_code(totp), codes[0]):
        response = verify(client, good)
        assert response.status_code == 401 and LOCKED in text_of(response)
    assert client.get("/buyer/").status_code == 302  # never signed in
    # A fresh start with the right password is refused too, with the same message.
    again = login(client, user)
    assert again.status_code == 401 and LOCKED in text_of(again)

    stored = stored_user(tx, user.id)
    assert stored.locked_until is not None and stored.failed_logins == settings.login_max_failures
    failed = events(tx, world.tenant_id, user.id, "otp_failed")
    assert len(failed) == settings.login_max_failures and all(e.ip for e in failed)
    assert [e.severity for e in events(tx, world.tenant_id, user.id, "account_locked")] == ["critical"]
    assert len(events(tx, world.tenant_id, user.id, "login_refused_locked")) == 3
    with tx.uow() as uow:
        uow.switch_tenant(None, actor=Actor(user_id=user.id, name="test"))
        assert mfa.recovery_codes_left(uow, user_id=user.id) == 10


def test_the_second_step_needs_a_recent_password(client, tx, world, cipher):
    user, totp, _ = new_enrolled(tx, world, cipher)
    response = client.get("/login/verify")
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    login(client, user)
    last_step = stored_user(tx, user.id).totp_last_step
    token = csrf(client, "/login/verify")
    with client.session_transaction() as session:
        session["mfa_pending"] = {**session["mfa_pending"], "at": int(time.time()) - 6 * 60}
    response = client.post("/login/verify", data={"code": next_code(totp), "csrf_token": token})
    assert response.status_code == 302 and response.headers["Location"] == "/login"
    assert "took too long" in text_of(client.get("/login"))
    assert client.get("/buyer/").status_code == 302
    assert stored_user(tx, user.id).totp_last_step == last_step  # the code was not even checked
    assert not events(tx, world.tenant_id, user.id, "otp_failed")


# --- the tenant's rule -------------------------------------------------------------------------


def test_rule_suppliers_sends_a_supplier_to_enrolment_but_not_a_buyer(client, app, tx, world, cipher):
    set_rule(tx, world, "suppliers")
    supplier = new_member(tx, world, role="supplier_user", supplier=0)
    buyer = new_member(tx, world)

    login(client, supplier)
    response = client.get("/supplier/")
    assert response.status_code == 302 and response.headers["Location"] == "/account/mfa"
    page = text_of(client.get("/account/mfa"))
    assert f"Tenant {world.slug} requires a second factor" in page and "This organisation requires a second factor." in page
    assert client.get("/account").headers["Location"] == "/account/mfa"
    assert client.get("/account/mfa/qr.svg").status_code == 200
    # Signing out and the language still work.
    token = token_in(page)
    assert client.post("/language", data={"locale": "en", "csrf_token": token}).status_code == 303
    secret = cipher.decrypt(stored_user(tx, supplier.id).totp_secret)
    confirmed = client.post("/account/mfa", data={"code": pyotp.TOTP(secret).now(), "csrf_token": token})
    assert len(CODES.findall(text_of(confirmed))) == 10
    assert client.get("/supplier/").status_code == 200
    client.post("/logout", data={"csrf_token": token_in(client.get("/supplier/").data)})

    other = app.test_client()
    login(other, buyer)
    assert other.get("/buyer/").status_code == 200


def test_rule_all_sends_everyone_to_enrolment(client, tx, world):
    set_rule(tx, world, "all")
    buyer = new_member(tx, world)
    login(client, buyer)
    assert client.get("/buyer/").headers["Location"] == "/account/mfa"
    assert client.get("/buyer/purchase-orders").headers["Location"] == "/account/mfa"
    problem = client.get("/api/v1/purchase-orders")
    assert problem.status_code == 403 and problem.json["type"].endswith("second-factor-needed")


def test_a_required_second_factor_cannot_be_removed(client, tx, world, cipher):
    set_rule(tx, world, "all")
    user, totp, _ = new_enrolled(tx, world, cipher)
    login(client, user)
    verify(client, next_code(totp))
    page = text_of(client.get("/account/mfa"))
    assert "You cannot remove it" in page
    response = client.post("/account/mfa/disable", data={"disable-password": PASSWORD, "csrf_token": token_in(page)})
    assert response.status_code == 403 and "requires a second factor" in text_of(response)
    assert stored_user(tx, user.id).totp_enabled_at is not None
    assert len(events(tx, world.tenant_id, user.id, "mfa_disable_refused")) == 1


# --- managing the second factor ------------------------------------------------------------------


def signed_in_with_code(client, tx, world, cipher):
    user, totp, codes = new_enrolled(tx, world, cipher)
    login(client, user)
    verify(client, next_code(totp))
    return user, codes


def test_new_recovery_codes_need_the_password(client, tx, world, cipher):
    user, old = signed_in_with_code(client, tx, world, cipher)
    token = token_in(client.get("/account/mfa").data)
    wrong = client.post("/account/mfa/recovery-codes", data={"regenerate-password": "nope", "csrf_token": token})
    assert wrong.status_code == 422 and "Your current password is not correct." in text_of(wrong)
    assert stored_user(tx, user.id).failed_logins == 1
    response = client.post("/account/mfa/recovery-codes", data={"regenerate-password": PASSWORD, "csrf_token": token})
    new = CODES.findall(text_of(response))
    assert response.status_code == 200 and len(new) == 10 and not set(new) & set(old)


def test_removing_the_second_factor_needs_the_password(client, tx, world, cipher):
    user, _ = signed_in_with_code(client, tx, world, cipher)
    token = token_in(client.get("/account/mfa").data)
    wrong = client.post("/account/mfa/disable", data={"disable-password": "nope", "csrf_token": token})
    assert wrong.status_code == 422 and stored_user(tx, user.id).totp_enabled_at is not None
    assert events(tx, world.tenant_id, user.id, "login_failed")[-1].detail["reason"] == "mfa_disable"
    response = client.post("/account/mfa/disable", data={"disable-password": PASSWORD, "csrf_token": token})
    assert response.status_code == 303 and response.headers["Location"] == "/account"
    assert stored_user(tx, user.id).totp_secret is None
    assert "Your second factor is removed." in text_of(client.get("/account"))
    client.post("/logout", data={"csrf_token": token_in(client.get("/account").data)})
    assert login(client, user).headers["Location"] == "/buyer/"  # the password alone again


# --- account and sign-in rule pages ----------------------------------------------------------


def test_the_profile_saves_name_language_and_time_zone(client, tx, world):
    user = new_member(tx, world)
    login(client, user)
    page = client.get("/account")
    assert page.status_code == 200 and 'autocomplete="name"' in text_of(page)
    token = token_in(page.data)
    bad = client.post("/account", data={"full_name": " ", "locale": "en", "timezone": "Mars/Olympus", "csrf_token": token})
    assert bad.status_code == 422 and stored_user(tx, user.id).full_name == user.full_name
    response = client.post(
        "/account", data={"full_name": "Li Wei", "locale": "zh_Hans_CN", "timezone": "Asia/Shanghai", "csrf_token": token}
    )
    assert response.status_code == 303
    stored = stored_user(tx, user.id)
    assert (stored.full_name, stored.locale, stored.timezone) == ("Li Wei", "zh_Hans_CN", "Asia/Shanghai")
    assert 'lang="zh-Hans-CN"' in text_of(client.get("/account"))


def test_the_tenant_admin_sets_the_rule_and_others_cannot(client, app, tx, world):
    login(client, world.users["tenant_admin"])
    page = client.get("/admin/security-settings")
    assert page.status_code == 200 and 'value="suppliers"' in text_of(page)
    response = client.post("/admin/security-settings", data={"policy": "suppliers", "csrf_token": token_in(page.data)})
    assert response.status_code == 303
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert uow.session.get(Tenant, world.tenant_id).mfa_policy == "suppliers"
    bad = client.post("/admin/security-settings", data={"policy": "sometimes", "csrf_token": token_in(page.data)})
    assert bad.status_code == 422 and "Choose one of the rules offered." in text_of(bad)

    buyer = app.test_client()
    login(buyer, world.users["buyer"])
    assert buyer.get("/admin/security-settings").status_code == 403
    refused = buyer.post("/admin/security-settings", data={"policy": "none", "csrf_token": csrf(buyer, "/buyer/")})
    assert refused.status_code == 403
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert uow.session.get(Tenant, world.tenant_id).mfa_policy == "suppliers"
