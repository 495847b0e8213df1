"""A supplier certificate from upload to approval, as the people would do it in the
browser: the supplier sees the ISO 13485 its customer requires is missing, uploads the
PDF and sees it pending review; the quality engineer opens it from the review queue
beside its file and approves it with an electronic signature; the supplier now holds a
valid certificate for the requirement."""

from __future__ import annotations

from datetime import timedelta

import pytest

from erp.suppliers import compliance
from kernel.clock import utcnow
from tests.documents.certificate_support import make_type, pdf_bytes
from tests.e2e.test_pages import Browsing
from tests.factories import PASSWORD, actor_in, make_tenant_world

pytestmark = pytest.mark.e2e


def tenant_requiring_iso(runtime):
    """A tenant of its own whose every supplier must hold ISO 13485."""
    with runtime.uow() as uow:
        world = make_tenant_world(uow)
        uow.commit()
    with runtime.uow() as lookup:
        quality, buyer = actor_in(lookup, world, "quality"), actor_in(lookup, world, "buyer")
    with runtime.uow(tenant_id=world.tenant_id, actor=quality) as uow:
        kind = make_type(uow, quality, name="ISO 13485", name_zh="ISO 13485 证书")
        compliance.add_requirement(uow, buyer, certificate_type_id=kind.id, scope="all")
        uow.commit()
    return world


def requirement_row(b: Browsing):
    return b.page.locator("table.data tbody tr", has=b.page.get_by_role("rowheader", name="ISO 13485"))


def test_a_supplier_uploads_iso_13485_and_the_quality_engineer_approves_it(browser, base_url, runtime, tmp_path):
    world = tenant_requiring_iso(runtime)
    pdf = tmp_path / "ISO 13485 certificate.pdf"
    pdf.write_bytes(pdf_bytes())
    valid_from = utcnow().date() - timedelta(days=20)
    expires_on = utcnow().date() + timedelta(days=3 * 365)

    supplier = Browsing(browser.new_context(locale="en-US", viewport={"width": 1280, "height": 800}), base_url)
    supplier.sign_in(world.users["supplier1"])
    supplier.page.get_by_role("navigation", name="Main").get_by_role("link", name="Certificates").click()
    supplier.page.wait_for_load_state()
    assert supplier.page.get_by_role("heading", level=1).inner_text() == "Certificates"
    assert "Missing" in requirement_row(supplier).inner_text()
    assert "Not compliant" in supplier.page.get_by_role("heading", name="Site 1").inner_text()
    supplier.check("certificates-supplier-missing-en")

    requirement_row(supplier).get_by_role("link", name="Upload").click()
    supplier.page.wait_for_load_state()
    assert supplier.page.get_by_label("Type of certificate").input_value() != ""  # prefilled from the requirement
    assert supplier.page.get_by_label("Site 1").is_checked()
    supplier.page.get_by_label("Certificate number").fill("Q5 18 04 95841 003")
    supplier.page.get_by_label("Issuing body").fill("TÜV SÜD")
    supplier.page.get_by_label("Valid from").fill(valid_from.isoformat())
    supplier.page.get_by_label("Expires on").fill(expires_on.isoformat())
    supplier.page.get_by_label("Scope as stated on the certificate").fill("Design and manufacture of sterile catheters")
    supplier.page.get_by_label("File (PDF, PNG or JPEG)").set_input_files(str(pdf))
    supplier.check("certificates-upload-form-en")
    supplier.page.get_by_role("button", name="Upload", exact=True).click()
    supplier.page.wait_for_load_state()
    assert "Certificate Q5 18 04 95841 003 is uploaded and waits for review." in supplier.page.get_by_role("status").inner_text()
    assert "Pending review" in supplier.page.get_by_role("heading", level=1).inner_text()
    supplier.go("/supplier/certificates")
    assert "Pending review" in requirement_row(supplier).inner_text()

    quality = Browsing(browser.new_context(locale="en-US", viewport={"width": 1280, "height": 900}), base_url)
    quality.sign_in(world.users["quality"])
    quality.page.get_by_role("navigation", name="Main").get_by_role("link", name="Certificates").click()
    quality.page.wait_for_load_state()
    quality.check("certificates-review-queue-en")
    quality.page.get_by_role("link", name="Q5 18 04 95841 003").click()
    quality.page.wait_for_load_state()
    preview = quality.page.locator(".preview iframe")
    assert preview.is_visible() and preview.bounding_box()["height"] > 400
    # The file loads in the frame (not refused by frame-ancestors / X-Frame-Options).
    assert preview.element_handle().content_frame().url.endswith("/file")
    quality.check("certificates-review-en")

    review = quality.page.get_by_role("region", name="Review")
    review.get_by_label("Approve").check()
    review.get_by_label("Your password, to sign").fill(PASSWORD)
    review.get_by_role("button", name="Sign and save the decision").click()
    quality.page.wait_for_load_state()
    assert "Certificate Q5 18 04 95841 003 is approved and signed." in quality.page.get_by_role("status").inner_text()
    assert "Nothing waits for review." in quality.page.locator("main").inner_text()

    quality.page.get_by_role("link", name="Valid", exact=True).click()
    quality.page.wait_for_load_state()
    quality.page.get_by_role("link", name="Q5 18 04 95841 003").click()
    quality.page.wait_for_load_state()
    signatures = quality.page.get_by_role("region", name="Electronic signatures").inner_text()
    assert "Approved" in signatures and "Signed content unchanged" in signatures
    assert world.users["quality"].email in signatures
    quality.check("certificates-approved-en")

    supplier.go("/supplier/certificates")
    assert requirement_row(supplier).locator(".badge").inner_text() in ("Valid", "Expiring")
    assert "Compliant" in supplier.page.get_by_role("heading", name="Site 1").inner_text()
    supplier.check("certificates-supplier-valid-en")
