"""A ship notice as the supplier makes it in the browser: it opens the new ASN from its
acknowledged order ("ship everything open"), scans a pallet, a case and each unit's
label (the codes read off the PNGs our label generator makes, as a scanner reads them,
with ]d2 and GS separators), saves, sees the packages, labels and barcode images, and
submits; the buyer sees it in the incoming shipments."""

from __future__ import annotations

import io
from datetime import date

import pytest
import zxingcpp
from PIL import Image

from erp.shipping.labels import GS1_DATAMATRIX, element_string, symbol_png
from tests.e2e.test_pages import Browsing
from tests.erp.shipping.asn_support import acknowledged_order, sscc
from tests.factories import make_tenant_world

pytestmark = pytest.mark.e2e


def scanned(element: str) -> str:
    """What a scanner sends for a GS1 DataMatrix holding `element`: read off the PNG."""
    [result] = zxingcpp.read_barcodes(Image.open(io.BytesIO(symbol_png(element, GS1_DATAMATRIX))))
    return result.symbology_identifier + result.text


def test_a_supplier_scans_its_labels_into_a_ship_notice_and_submits_it(browser, base_url, runtime):
    with runtime.uow() as uow:
        world = make_tenant_world(uow)
        uow.commit()
    shipment = acknowledged_order(runtime, world)
    gtin = shipment.device.udi_di
    units = [scanned(element_string([("01", gtin), ("17", "280630"), ("10", "L-77"), ("21", f"SN-{n}")])) for n in (1, 2, 3)]
    assert all(code.startswith("]d2") for code in units)

    supplier = Browsing(browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900}), base_url)
    supplier.sign_in(world.users["supplier1"])
    supplier.go(f"/supplier/asns/new?po={shipment.po_id}")
    page = supplier.page
    page.get_by_label("The next SSCC scanned is a pallet").check()
    pallet, case = sscc(), sscc()
    for code in (f"]C100{pallet}", f"]C100{case}", *units):
        page.get_by_label("Scanned code").fill(code)
        page.get_by_label("Scanned code").press("Enter")
        page.wait_for_load_state()
        assert page.locator("#scan-error").count() == 0, page.locator("#scan-error").inner_text()
    assert "SN-1\nSN-2\nSN-3" in page.content() or page.get_by_text("SN-3").count() > 0
    supplier.check("asn-form-scanned-en")
    page.locator("#line-1-lot").fill("T-77")  # the tubing: typed, it has no GS1 label
    page.locator("#line-1-package").fill(case)
    page.get_by_label("Expected arrival").fill(date.today().replace(year=date.today().year + 1).isoformat())
    page.get_by_role("button", name="Save the draft").click()
    page.wait_for_load_state()
    heading = page.get_by_role("heading", level=1).inner_text()
    assert heading.startswith("Ship notice ASN-"), page.locator(".error-summary, .alert").all_inner_texts()
    assert "Serials: 3" in page.content() and "Expires Jun 30, 2028" in page.content()
    supplier.check("asn-detail-en")
    labels = page.get_by_role("link", name="Print the labels (PDF)")
    response = page.request.get(base_url + labels.get_attribute("href"))
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"
    page.get_by_role("button", name="Submit the ship notice").click()
    page.wait_for_load_state()
    assert "was submitted to the customer" in page.get_by_role("status").inner_text()

    buyer = Browsing(browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900}), base_url)
    buyer.sign_in(world.users["buyer"])
    buyer.page.get_by_role("navigation", name="Main").get_by_role("link", name="Incoming shipments").click()
    buyer.page.wait_for_load_state()
    assert heading.removeprefix("Ship notice ") in buyer.page.content()
    buyer.check("asn-incoming-en")
