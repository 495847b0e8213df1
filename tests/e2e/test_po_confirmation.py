"""A purchase order confirmed line by line, as the people would do it in the browser: the
buyer issues a draft; the supplier opens it from its home page, accepts two lines,
proposes a later date on one and rejects one with a reason; the buyer accepts the
proposal; both see the same final order with its history, in English and Chinese."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from erp.purchasing import confirmation
from tests.e2e.test_pages import Browsing
from tests.erp.po_support import soon
from tests.factories import actor_in, make_tenant_world

pytestmark = pytest.mark.e2e

CATALOG = Path(__file__).resolve().parents[2] / "portal" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"


def chinese(msgid: str) -> str:
    """The catalog's Chinese for a message (the English until it is translated)."""
    with CATALOG.open("rb") as f:
        message = read_po(f).get(msgid)
    return message.string if message is not None and message.string else msgid


def draft_order(runtime):
    """A tenant of its own, with a draft of four lines for its first supplier."""
    with runtime.uow() as uow:
        world = make_tenant_world(uow)
        uow.commit()
    with runtime.uow() as lookup:
        buyer = actor_in(lookup, world, "buyer")
    with runtime.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        lines = [
            {"item_id": world.items[0].id, "quantity": "100", "unit_price": "2.50", "requested_date": soon(30 + 7 * n)}
            for n in range(4)
        ]
        po = confirmation.create_purchase_order(uow, buyer, supplier_id=world.suppliers[0].id, currency="EUR", lines=lines)
        uow.commit()
        return world, po.id, po.number


def answer_group(b: Browsing, line_no: int):
    return b.page.get_by_role("group", name=f"Your answer to line {line_no}")


def line(b: Browsing, line_no: int):
    return b.page.locator("fieldset.answer-line", has=answer_group(b, line_no))


def test_a_supplier_confirms_line_by_line_and_the_buyer_accepts_the_proposal(browser, base_url, runtime):
    world, po_id, number = draft_order(runtime)
    later = soon(60)

    buyer = Browsing(browser.new_context(locale="en-US"), base_url)
    buyer.sign_in(world.users["buyer"])
    buyer.go("/buyer/purchase-orders")
    buyer.page.get_by_role("link", name=number).click()
    buyer.page.wait_for_load_state()
    assert buyer.page.get_by_role("heading", level=1).inner_text() == f"Purchase order {number}"
    buyer.check("po-1-buyer-draft")
    buyer.page.get_by_role("button", name="Issue to the supplier").click()
    buyer.page.wait_for_load_state()
    assert "The purchase order was issued to the supplier." in buyer.page.get_by_role("status").inner_text()

    supplier = Browsing(browser.new_context(locale="en-US"), base_url)
    supplier.sign_in(world.users["supplier1"])
    supplier.page.get_by_role("link", name=number).click()
    supplier.page.wait_for_load_state()
    assert supplier.page.url.endswith(f"/purchase-orders/{po_id}")
    supplier.check("po-2-supplier-issued")

    # A proposal that changes nothing is refused next to its line; what was typed stays.
    answer_group(supplier, 30).get_by_label("Propose a change").check()
    line(supplier, 30).get_by_label("Comment (optional)").fill("Resin shortage: four weeks later")
    supplier.page.get_by_role("button", name="Send the answers").click()
    supplier.page.wait_for_load_state()
    assert "Nothing was sent" in supplier.page.get_by_role("alert").inner_text()
    assert "A proposal must change the quantity" in line(supplier, 30).inner_text()
    assert line(supplier, 30).get_by_label("Comment (optional)").input_value() == "Resin shortage: four weeks later"
    supplier.check("po-3-supplier-refused")

    answer_group(supplier, 10).get_by_label("Accept").check()
    answer_group(supplier, 20).get_by_label("Accept").check()
    line(supplier, 30).get_by_label("Promised date").fill(later.isoformat())
    answer_group(supplier, 40).get_by_label("Reject").check()
    line(supplier, 40).get_by_label("Reason for the rejection").select_option(label="Insufficient capacity")
    supplier.check("po-4-supplier-answering")
    supplier.page.get_by_role("button", name="Send the answers").click()
    supplier.page.wait_for_load_state()
    assert "Your answers were sent: 4 line(s)." in supplier.page.get_by_role("status").inner_text()
    assert supplier.page.get_by_role("heading", name="Your answer").count() == 0
    supplier.check("po-5-supplier-answered")

    buyer.page.reload()
    assert "On the order" in buyer.page.inner_text("body")
    buyer.check("po-6-buyer-proposal")
    buyer.page.get_by_role("button", name="Accept the answer to line 30").click()
    buyer.page.wait_for_load_state()
    assert "the order is updated" in buyer.page.get_by_role("status").inner_text()
    buyer.check("po-7-buyer-accepted")

    # Both see the same final order.
    supplier.page.reload()
    for b in (buyer, supplier):
        lines = b.page.get_by_role("region", name="Order lines").inner_text()
        assert lines.count("Accepted") == 3 and "Open" in lines
        assert later.strftime("%Y") in lines
        assert "Partially acknowledged" in b.page.locator(".po-facts").inner_text()
        history = b.page.locator("ol.history").inner_text()
        assert "Accepted by the buyer" in history and "Issued to the supplier" in history
    assert (
        buyer.page.get_by_role("region", name="Order lines").inner_text()
        == supplier.page.get_by_role("region", name="Order lines").inner_text()
    )

    # In Chinese.
    supplier.choose_language("中文（简体）")
    assert supplier.page.locator("html").get_attribute("lang") == "zh-Hans-CN"
    assert supplier.page.get_by_role("heading", level=1).inner_text() == chinese("Purchase order %(number)s").replace(
        "%(number)s", number
    )
    assert "部分确认" in supplier.page.locator(".po-facts").inner_text()
    supplier.check("po-8-supplier-zh")
    supplier.choose_language("English")

    # Who may read the audit trail sees every change of the order there.
    quality = Browsing(browser.new_context(locale="en-US"), base_url)
    quality.sign_in(world.users["quality"])
    quality.go(f"/purchase-orders/{po_id}")
    trail = quality.page.get_by_role("region", name="Audit trail", exact=True).inner_text()
    assert later.isoformat() in trail and "Supplier's answer" in trail
    quality.check("po-9-quality-trail")

    # On a phone the lines become cards and the page stays usable.
    phone = Browsing(
        browser.new_context(viewport={"width": 375, "height": 740}, device_scale_factor=2, is_mobile=True, locale="en-US"),
        base_url,
    )
    phone.sign_in(world.users["supplier1"])
    phone.go(f"/purchase-orders/{po_id}")
    assert "Partially acknowledged" in phone.page.locator(".po-facts").inner_text()
    phone.check("po-10-supplier-phone")
