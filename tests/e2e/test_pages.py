"""Signing in and reading the home pages in English and Chinese, as a person would,
with axe checking every page."""

from __future__ import annotations

import pytest
from axe_playwright_python.sync_playwright import Axe

from tenants import service as tenants
from tests.e2e.conftest import ARTIFACTS
from tests.factories import PASSWORD, make_user, unique

pytestmark = pytest.mark.e2e

SERIOUS = ("serious", "critical")


class Browsing:
    """One page in the browser, watching for anything the CSP refuses."""

    def __init__(self, context, base_url: str) -> None:
        self.page = context.new_page()
        self.base_url = base_url
        self.console_errors: list[str] = []
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.console_errors.append(str(error)))

    def _console(self, message) -> None:
        # A 401 or 404 page is reported as a failed load: expected where the test asks for one.
        if message.type == "error" and "the server responded with a status of" not in message.text:
            self.console_errors.append(message.text)

    def go(self, path: str) -> None:
        self.page.goto(self.base_url + path)

    def sign_in(self, user) -> None:
        self.go("/login")
        self.page.get_by_label("Email").fill(user.email)
        self.page.get_by_label("Password").fill(PASSWORD)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.wait_for_load_state()

    def choose_language(self, name: str) -> None:
        self.page.get_by_role("button", name=name).click()
        self.page.wait_for_load_state()

    def check(self, name: str) -> None:
        """axe finds no serious or critical problem; the page is saved for a person to look at."""
        self.page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
        violations = [v for v in Axe().run(self.page).response["violations"] if v["impact"] in SERIOUS]
        report = [f"{v['id']} ({v['impact']}): {v['help']} -> {[n['target'] for n in v['nodes']]}" for v in violations]
        assert not report, f"{name}: " + "\n".join(report)
        assert not self.console_errors, f"{name}: {self.console_errors}"


def test_login_page_in_both_languages(context, base_url):
    b = Browsing(context, base_url)
    b.go("/login")
    assert b.page.get_by_role("heading", level=1).inner_text() == "Sign in"
    b.check("login-en")
    b.choose_language("中文（简体）")
    assert b.page.locator("html").get_attribute("lang") == "zh-Hans-CN"
    assert b.page.get_by_role("heading", level=1).inner_text() == "登录"
    b.check("login-zh")


def test_a_wrong_password_is_reported_accessibly(context, base_url, people):
    b = Browsing(context, base_url)
    b.go("/login")
    b.page.get_by_label("Email").fill(people.buyer.email)
    b.page.get_by_label("Password").fill("wrong")
    b.page.get_by_role("button", name="Sign in").click()
    assert b.page.get_by_role("alert").inner_text() == "The email or password is not correct."
    b.check("login-failed-en")


def test_a_supplier_reads_its_orders_in_english_and_chinese(context, base_url, people, worlds):
    world = worlds[0]
    b = Browsing(context, base_url)
    b.sign_in(people.supplier)
    assert b.page.url.endswith("/supplier/")
    assert b.page.get_by_role("heading", level=1).inner_text() == f"Purchase orders from Tenant {world.slug}"
    table = b.page.get_by_role("table")
    assert world.purchase_orders[0].number in table.inner_text()
    assert world.purchase_orders[1].number not in b.page.content()  # the other supplier's order
    b.check("supplier-home-en")

    b.choose_language("中文（简体）")
    assert b.page.url.endswith("/supplier/")
    assert b.page.get_by_role("heading", level=1).inner_text() == f"来自租户 {world.slug}的采购订单"
    assert "已下达" in b.page.get_by_role("table").inner_text()
    b.check("supplier-home-zh")
    b.choose_language("English")


def test_a_buyer_reads_the_overview_and_the_list_in_both_languages(context, base_url, people, worlds):
    world = worlds[0]
    b = Browsing(context, base_url)
    b.sign_in(people.buyer)
    assert b.page.url.endswith("/buyer/")
    assert b.page.get_by_role("heading", level=1).inner_text() == "Overview"
    assert "Open purchase orders" in b.page.get_by_role("list", name="Key figures").inner_text()
    b.check("buyer-home-en")

    b.page.get_by_role("navigation", name="Main").get_by_role("link", name="Purchase orders").click()
    b.page.wait_for_load_state()
    numbers = b.page.get_by_role("table").inner_text()
    assert all(po.number in numbers for po in world.purchase_orders)
    b.check("buyer-orders-en")

    b.choose_language("中文（简体）")
    assert b.page.get_by_role("heading", level=1).inner_text() == "采购订单"
    assert f"租户 {world.slug}" in b.page.get_by_role("banner").inner_text()
    b.check("buyer-orders-zh")
    b.page.get_by_role("navigation", name="主导航").get_by_role("link", name="首页").click()
    b.page.wait_for_load_state()
    assert b.page.get_by_role("heading", level=1).inner_text() == "概览"
    b.check("buyer-home-zh")
    b.choose_language("English")


def test_administration_and_sign_out(context, base_url, people):
    b = Browsing(context, base_url)
    b.sign_in(people.admin)
    b.page.get_by_role("link", name="Administration").click()
    b.page.wait_for_load_state()
    assert people.buyer.email in b.page.get_by_role("table").inner_text()
    b.check("admin-members-en")
    b.page.get_by_role("button", name="Sign out").click()
    b.page.wait_for_load_state()
    assert b.page.url.endswith("/login")
    assert b.page.get_by_role("status").inner_text() == "You have signed out."
    b.check("signed-out-en")


def test_phone_width(phone, base_url, people):
    b = Browsing(phone, base_url)
    b.sign_in(people.buyer)
    b.check("phone-buyer-home-en")
    b.go("/buyer/purchase-orders")
    b.check("phone-buyer-orders-en")
    # Nothing may stick out sideways but the table, which scrolls in its own region.
    assert b.page.evaluate("document.documentElement.scrollWidth") <= 375
    b.go("/no-such-page")
    b.check("phone-not-found-en")


def test_skip_link_moves_to_the_main_content(context, base_url):
    b = Browsing(context, base_url)
    b.go("/login")
    b.page.keyboard.press("Tab")
    skip = b.page.get_by_role("link", name="Skip to main content")
    assert skip.evaluate("el => el === document.activeElement")
    b.page.keyboard.press("Enter")
    assert b.page.evaluate("document.activeElement.id") == "main"


def test_a_person_in_two_tenants_picks_one_and_switches(context, base_url, runtime, worlds):
    alpha, beta = worlds
    with runtime.uow(tenant_id=alpha.tenant_id) as uow:
        user = make_user(uow, email=f"{unique('e2e-both')}@example.test")
        tenants.add_membership(uow, user=user, role="viewer")
        uow.switch_tenant(beta.tenant_id)
        tenants.add_membership(uow, user=user, role="supplier_admin", organisation=beta.suppliers[1])
        uow.commit()
    b = Browsing(context, base_url)
    b.sign_in(user)
    assert b.page.url.endswith("/tenants")
    b.check("tenant-picker-en")
    b.page.get_by_role("button", name=f"Tenant {beta.slug}").click()
    b.page.wait_for_load_state()
    assert b.page.url.endswith("/supplier/")
    assert beta.purchase_orders[1].number in b.page.get_by_role("table").inner_text()
    b.page.get_by_text("Switch organisation").click()
    b.check("tenant-switch-menu-en")
    b.page.get_by_role("button", name=f"Tenant {alpha.slug}").click()
    b.page.wait_for_load_state()
    assert b.page.url.endswith("/buyer/")
    assert b.page.locator(".tenant-name").inner_text() == f"Tenant {alpha.slug}"
