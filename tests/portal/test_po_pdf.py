"""The purchase order printed as a PDF (weasyprint): what it says, in English and in
Chinese (with a Chinese font embedded, so no boxes), page numbers on a long order, and
who may print which order."""

from __future__ import annotations

import io

import pytest
from babel.dates import format_date
from pypdf import PdfReader

from auth import roles as role_service
from erp.purchasing import confirmation as po
from kernel.uow import Actor
from tenants import service as tenants
from tests.erp.po_support import actors, soon
from tests.factories import make_item, make_user
from tests.portal.support import signed_in, text_of, token_in

ITEM_NAME, ITEM_NAME_ZH = "Sterile syringe 5 ml", "无菌注射器 5 毫升"


@pytest.fixture
def who(tx, world):
    return actors(tx, world)


@pytest.fixture
def item(tx, world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        found = make_item(uow, part_number="SYR-5ML-PDF", name=ITEM_NAME, name_zh=ITEM_NAME_ZH, uom="EA")
        uow.commit()
        return found


def an_order(tx, world, who, item, *, count: int = 2, supplier: int = 0, issue: bool = True):
    """An order of `count` lines of `item` (the first split into two deliveries);
    returns (id, number, revision)."""
    lines = [
        {"item_id": item.id, "quantity": str(120 + n), "unit_price": "2.50", "requested_date": soon(30 + n)} for n in range(count)
    ]
    lines[0]["schedule"] = [{"quantity": "70", "date": soon(20)}, {"quantity": "50", "date": soon(30)}]
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        order = po.create_purchase_order(uow, who["buyer"], supplier_id=world.suppliers[supplier].id, currency="EUR", lines=lines)
        if issue:
            po.issue_purchase_order(uow, who["buyer"], po_id=order.id, version=order.version)
        uow.commit()
        return order.id, order.number, order.revision


def in_chinese(client, po_id):
    token = token_in(client.get(f"/purchase-orders/{po_id}").data)
    client.post("/language", data={"locale": "zh_Hans_CN", "next": "/", "csrf_token": token})


def pdf_of(client, po_id) -> PdfReader:
    response = client.get(f"/purchase-orders/{po_id}.pdf")
    assert response.status_code == 200, text_of(response)
    assert response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    return PdfReader(io.BytesIO(response.data))


def text(reader: PdfReader) -> str:
    return "\n".join(page.extract_text() for page in reader.pages)


def fonts(reader: PdfReader) -> set[str]:
    found = set()
    for page in reader.pages:
        for font in page["/Resources"].get_object().get("/Font", {}).values():
            found.add(str(font.get_object()["/BaseFont"]))
    return found


def test_the_buyer_prints_the_order(app, tx, world, who, item):
    po_id, number, revision = an_order(tx, world, who, item)
    buyer = signed_in(app, world.users["buyer"])
    response = buyer.get(f"/purchase-orders/{po_id}.pdf")
    assert response.headers["Content-Disposition"] == f'inline; filename="{number}-r{revision}.pdf"'
    reader = pdf_of(buyer, po_id)
    assert len(reader.pages) == 1
    content = text(reader)
    for expected in (
        number,
        "Revision 1",
        f"Tenant {world.slug}",
        world.suppliers[0].name,
        "EUR",
        "SYR-5ML-PDF",
        ITEM_NAME,
        "120 EA",
        "121 EA",
        "70 EA",  # the first line's deliveries
        "50 EA",
        "€300.00",  # 120 × 2.50
        "€602.50",  # the total
        "Page 1 of 1",
        "Printed",
    ):
        assert expected in content, expected
    assert ITEM_NAME_ZH not in content
    assert any("CJK" in name for name in fonts(reader)), fonts(reader)


def test_answers_show_promises_statuses_and_a_total_without_cancelled_lines(app, tx, world, who, item):
    po_id, _, _ = an_order(tx, world, who, item, count=3)
    promised = soon(45)
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier1"]) as uow:
        detail = po.get_purchase_order_detail(uow, po_id=po_id)
        first, second, third = (d.line.id for d in detail.lines)
        answers = [
            {"line_id": first, "action": "accept"},
            {"line_id": second, "action": "propose", "promised_date": promised.isoformat()},
            {"line_id": third, "action": "reject", "reason_code": "capacity"},
        ]
        made = po.respond_to_purchase_order(
            uow, who["supplier1"], po_id=po_id, revision=detail.order.revision, version=detail.order.version, responses=answers
        )
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=who["buyer"]) as uow:
        for response in made[1:]:
            version = po.get_purchase_order_detail(uow, po_id=po_id).order.version
            po.decide_on_response(uow, who["buyer"], response_id=response.id, accept=True, version=version)
        uow.commit()
    buyer = signed_in(app, world.users["buyer"])
    content = text(pdf_of(buyer, po_id))
    # The order is acknowledged (lines 1 and 2 accepted, line 3 cancelled): the label and the status.
    assert content.count("Acknowledged") == 2 and "Not yet" not in content
    assert content.count("Accepted") == 2 and "Cancelled" in content
    assert format_date(promised, "medium", locale="en") in content  # line 2's promised date
    assert "Total €602.50" in content  # 120 × 2.50 + 121 × 2.50: the cancelled line's €305.00 is left out
    assert "€907.50" not in content


def test_the_detail_page_links_to_the_pdf(app, tx, world, who, item):
    po_id, _, _ = an_order(tx, world, who, item, count=1)
    for user in ("buyer", "viewer", "supplier1"):
        page = text_of(signed_in(app, world.users[user]).get(f"/purchase-orders/{po_id}"))
        assert f'href="/purchase-orders/{po_id}.pdf"' in page, user


def test_in_chinese_the_names_and_labels_are_chinese_glyphs(app, tx, world, who, item):
    po_id, number, _ = an_order(tx, world, who, item)
    supplier = signed_in(app, world.users["supplier1"])
    in_chinese(supplier, po_id)
    reader = pdf_of(supplier, po_id)
    content = text(reader)
    assert number in content and "SYR-5ML-PDF" in content
    assert ITEM_NAME_ZH in content and ITEM_NAME not in content
    assert f"租户 {world.slug}" in content  # the tenant's Chinese name
    for label in ("供应商", "订单日期", "数量", "单价"):
        assert label in content, label
    assert any("CJK" in name for name in fonts(reader)), fonts(reader)


def test_a_long_order_numbers_its_pages_and_repeats_the_header(app, tx, world, who, item):
    po_id, _, _ = an_order(tx, world, who, item, count=60)
    reader = pdf_of(signed_in(app, world.users["buyer"]), po_id)
    pages = len(reader.pages)
    assert pages >= 2
    last = reader.pages[-1].extract_text()
    assert f"Page {pages} of {pages}" in last and "Page 2 of" in text(reader)
    assert "Requested date" in reader.pages[1].extract_text()  # the table's header again
    assert "€" in last and "179 EA" in text(reader)  # line 60: 120 + 59


def test_the_supplier_prints_its_own_order_not_anothers(app, tx, world, who, item):
    po_id, number, _ = an_order(tx, world, who, item, count=1)
    assert number in text(pdf_of(signed_in(app, world.users["supplier1"]), po_id))
    assert signed_in(app, world.users["supplier2"]).get(f"/purchase-orders/{po_id}.pdf").status_code == 404
    # A draft is not the supplier's to see, nor to print.
    draft, _, _ = an_order(tx, world, who, item, count=1, issue=False)
    assert signed_in(app, world.users["supplier1"]).get(f"/purchase-orders/{draft}.pdf").status_code == 404
    content = text(pdf_of(signed_in(app, world.users["buyer"]), draft))
    assert "Draft" in content and "Not yet" in content  # the buyer prints it, unissued


def test_another_tenant_finds_nothing(app, tx, world, other_world, who, item):
    po_id, _, _ = an_order(tx, world, who, item, count=1)
    assert signed_in(app, other_world.users["buyer"]).get(f"/purchase-orders/{po_id}.pdf").status_code == 404
    assert signed_in(app, other_world.users["supplier1"]).get(f"/purchase-orders/{po_id}.pdf").status_code == 404


def test_a_member_without_po_view_may_not_print(app, tx, world, who, item):
    po_id, _, _ = an_order(tx, world, who, item, count=1)
    with tx.uow(tenant_id=world.tenant_id) as uow:
        role_service.create_role(
            uow, Actor.system(), key="auditor", name="Auditor", name_zh="审核员", side="buyer", permissions=["audit.view"]
        )
        user = make_user(uow)
        tenants.add_membership(uow, user=user, role="auditor")
        uow.commit()
    assert signed_in(app, user).get(f"/purchase-orders/{po_id}.pdf").status_code == 403


def test_signed_out_one_is_sent_to_sign_in(client, tx, world, who, item):
    po_id, _, _ = an_order(tx, world, who, item, count=1)
    response = client.get(f"/purchase-orders/{po_id}.pdf")
    assert response.status_code in (302, 303) and "/login" in response.headers["Location"]
