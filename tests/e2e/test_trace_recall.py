"""Trace and recall in the browser (issue 8's demo walk): the quality engineer scans the
UDI of a finished pump, sees its component lot back to the supplier and forward to the
hospital, traces that lot forward to every pump made with it, opens a recall from that
trace, holds the stock in our warehouse, notifies the
supplier and emails the customer; the supplier reads the notice in its portal."""

from __future__ import annotations

import pytest

from tests.e2e.test_onboarding import deliver_mail
from tests.e2e.test_pages import Browsing
from tests.erp.traceability.support import customer, finished_lot, people, released_component_lot, shipped_to_customer
from tests.factories import gtin, make_item, make_tenant_world

pytestmark = pytest.mark.e2e


def test_the_quality_engineer_traces_a_udi_and_runs_the_recall(browser, base_url, runtime, mailbox):
    with runtime.uow() as uow:
        world = make_tenant_world(uow)
        uow.commit()
    who = people(runtime, world)
    with runtime.uow(tenant_id=world.tenant_id, actor=who["warehouse"]) as uow:
        warehouse = who["warehouse"]
        valves = released_component_lot(uow, world, warehouse, quantity="50", lot_number="VALVE-26")
        pump_item = make_item(
            uow, category="finished_device", issuing_agency="GS1", udi_di=gtin(), name="Infusion pump",
            label_lot=True, label_serial=True,
        )  # fmt: skip
        pumps = finished_lot(
            uow, warehouse, item_id=pump_item.id, components=[(valves, "3")], quantity="3", serials=["P-1", "P-2", "P-3"],
            lot_number="PUMP-A",
        )  # fmt: skip
        hospital = customer(uow, warehouse, name="Riverside General Hospital", email="buyer@riverside.example")
        shipped_to_customer(uow, warehouse, pumps, serials=["P-1"], to=hospital)
        uow.commit()
        udi = f"(01){pump_item.udi_di}(10)PUMP-A(21)P-1"

    quality = Browsing(browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900}), base_url)
    quality.sign_in(world.users["quality"])
    quality.page.get_by_role("navigation", name="Main").get_by_role("link", name="Trace").click()
    quality.page.wait_for_load_state()
    quality.check("trace-index-en")
    quality.page.get_by_label("Code to trace").fill(udi)
    quality.page.get_by_label("Why (kept with the trace)").fill("Complaint: pump P-1 alarms on start")
    quality.page.get_by_role("button", name="Trace", exact=True).click()
    quality.page.wait_for_load_state()
    backward = quality.page.locator("section[aria-labelledby=backward-title]").inner_text()
    forward = quality.page.locator("section[aria-labelledby=forward-title]").inner_text()
    assert "VALVE-26" in backward and world.suppliers[0].name in backward
    assert "Riverside General Hospital" in forward
    quality.check("trace-result-en")

    # The complaint points at the valve lot: trace it, forward to every pump made with it.
    quality.page.locator("section[aria-labelledby=backward-title]").get_by_role("link", name="Trace this lot").first.click()
    quality.page.wait_for_load_state()
    assert "VALVE-26" in quality.page.get_by_label("Code to trace").input_value()
    quality.page.get_by_label("Why (kept with the trace)").fill("Suspect valve lot: every pump made with it")
    quality.page.get_by_role("button", name="Trace", exact=True).click()
    quality.page.wait_for_load_state()
    forward = quality.page.locator("section[aria-labelledby=forward-title]").inner_text()
    assert "PUMP-A" in forward and "Riverside General Hospital" in forward

    quality.page.get_by_role("link", name="Open a recall from this trace").click()
    quality.page.wait_for_load_state()
    quality.page.get_by_label("Subject").fill("Valve lot VALVE-26: pumps alarm on start")
    quality.page.get_by_label("Reason for the recall").fill("Valve lot out of specification; field complaints.")
    quality.page.locator("input[name=classification]").first.check()
    mock = quality.page.locator("input[name=mock]")
    if mock.is_checked():
        mock.uncheck()
    quality.page.get_by_role("button", name="Open the recall").click()
    quality.page.wait_for_load_state()
    assert quality.page.get_by_role("heading", level=1).inner_text().startswith("RC-")
    quality.check("recall-open-en")

    quality.page.get_by_role("button", name="Hold all stock in scope now").click()
    quality.page.wait_for_load_state()
    quality.page.get_by_role("button", name="Notify the suppliers in their portal").click()
    quality.page.wait_for_load_state()
    quality.page.get_by_role("button", name="Email the customers").click()
    quality.page.wait_for_load_state()
    scope = quality.page.locator("section[aria-labelledby=scope-title]").inner_text()
    assert "Held" in scope or "held" in scope
    timeline = quality.page.locator("section[aria-labelledby=timeline-title]").inner_text()
    assert "Riverside General Hospital" in timeline
    quality.check("recall-actions-en")
    deliver_mail(runtime, world.tenant_id)
    assert any("buyer@riverside.example" in str(m["To"]) for m in mailbox)

    supplier = Browsing(browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900}), base_url)
    supplier.sign_in(world.users["supplier1"])
    supplier.page.get_by_role("navigation", name="Main").get_by_role("link", name="Recall notices").click()
    supplier.page.wait_for_load_state()
    assert "VALVE-26" in supplier.page.content() or "RC-" in supplier.page.content()
    supplier.check("recall-notices-supplier-en")
