"""Supplier onboarding as the people would do it, in the browser: a buyer adds a new
supplier company and invites its contact; the invitation arrives over SMTP; the
contact accepts, sets up the authenticator app, signs in again with the code and
sees only its own company's data."""

from __future__ import annotations

import re
import time

import pyotp
import pytest

from portal.jobs import dispatcher
from tests.e2e.conftest import ARTIFACTS
from tests.e2e.test_pages import Browsing
from tests.factories import make_tenant_world, unique

pytestmark = pytest.mark.e2e

NEW_PASSWORD = "copper heron waits by 7 quiet mills"
LINK = re.compile(r"https?://[^\s/]+(/invitations/[A-Za-z0-9_-]+)")


def deliver_mail(runtime, tenant_id) -> None:
    """What the worker's delivery job does."""
    with runtime.uow(tenant_id=tenant_id) as uow:
        dispatcher(runtime.settings).deliver_pending(uow)
        uow.commit()


def test_a_buyer_invites_a_supplier_who_enrols_totp_and_sees_only_its_own_data(browser, base_url, runtime, mailbox):
    # A tenant of its own: the new supplier company stays out of the shared tenants'
    # counts that other tests check.
    with runtime.uow() as uow:
        world = make_tenant_world(uow)
        uow.commit()
    code = unique("NEW")[-12:].upper()
    email = f"{unique('contact')}@new-supplier.example"

    buyer = Browsing(browser.new_context(locale="en-US"), base_url)
    buyer.sign_in(world.users["buyer"])
    buyer.go("/admin/invitations")
    form = buyer.page.locator("section", has=buyer.page.get_by_role("heading", name="Invite a new supplier"))
    form.get_by_label("Supplier code").fill(code)
    form.get_by_label("Company name", exact=True).fill("Nordic Sterile Films AB")
    form.get_by_label("Email", exact=True).fill(email)
    form.get_by_label("Name (optional)").fill("Freja Lund")
    form.get_by_role("button", name="Add the supplier and invite").click()
    buyer.page.wait_for_load_state()
    assert f"Invitation sent to {email}." in buyer.page.inner_text("body")
    buyer.page.screenshot(path=str(ARTIFACTS / "onboarding-1-invited.png"), full_page=True)

    deliver_mail(runtime, world.tenant_id)
    [message] = [m for m in mailbox if m["To"] == email]
    text = message.get_body(("plain",)).get_content()
    link = LINK.search(text).group(1)

    supplier = Browsing(browser.new_context(locale="en-US"), base_url)
    supplier.go(link)
    supplier.page.get_by_label("Full name").fill("Freja Lund")
    supplier.page.get_by_label("Password", exact=True).fill(NEW_PASSWORD)
    supplier.page.get_by_label("Password again").fill(NEW_PASSWORD)
    supplier.page.get_by_role("button", name="Accept the invitation").click()
    supplier.page.wait_for_load_state()
    supplier.check("onboarding-2-supplier-home")
    assert "Nordic Sterile Films AB" in supplier.page.inner_text("body"), supplier.page.inner_text("body")

    # The link worked once.
    again = Browsing(browser.new_context(locale="en-US"), base_url)
    again.go(link)
    assert "not valid any more" in again.page.inner_text("body")

    supplier.go("/account/mfa")
    key = "".join(supplier.page.locator(".secret code").inner_text().split())
    supplier.check("onboarding-3-enrol")
    totp = pyotp.TOTP(key)
    supplier.page.get_by_label("Code").fill(totp.now())
    supplier.page.get_by_role("button", name="Turn on the second factor").click()
    supplier.page.wait_for_load_state()
    assert "recovery" in supplier.page.inner_text("body").lower()
    supplier.check("onboarding-4-recovery-codes")

    supplier.page.get_by_role("button", name="Sign out").click()
    supplier.page.wait_for_load_state()
    supplier.go("/login")
    supplier.page.get_by_label("Email").fill(email)
    supplier.page.get_by_label("Password").fill(NEW_PASSWORD)
    supplier.page.get_by_role("button", name="Sign in").click()
    supplier.page.wait_for_load_state()
    assert supplier.page.get_by_role("heading", level=1).inner_text() == "Second step of sign-in"
    # The enrolment used this time step's code; a code is good once, so sign in with the next one.
    supplier.page.get_by_label("Authentication code").fill(totp.at(time.time() + totp.interval))
    supplier.page.get_by_role("button", name="Verify and sign in").click()
    supplier.page.wait_for_load_state()
    assert supplier.page.url.endswith("/supplier/")
    body = supplier.page.inner_text("body")
    assert "No purchase orders yet" in body
    for po in world.purchase_orders:  # other suppliers' orders in the same tenant
        assert po.number not in body
    supplier.check("onboarding-5-signed-in")

    other_po = world.purchase_orders[0]
    response = supplier.page.request.get(f"{base_url}/api/v1/purchase-orders/{other_po.id}")
    assert response.status == 404
