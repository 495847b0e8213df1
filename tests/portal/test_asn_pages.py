"""Ship notice pages through the web client: a supplier fills the form by typing or by
scanning, saves a draft and submits it; bad rows keep the form and say what is wrong
beside the field; the buyer sees incoming shipments; labels print and scan back;
another supplier and the wrong side get nothing."""

from __future__ import annotations

import io
import re
import uuid
from datetime import timedelta
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
import zxingcpp
from PIL import Image

from auth.models import SecurityEvent
from erp.shipping import service as asns
from erp.shipping import settings
from erp.shipping.models import Asn, AsnLine, AsnPackage, AsnSerial
from kernel.clock import utcnow
from tests.erp.shipping.asn_support import acknowledged_order, asn_data, save, sscc
from tests.factories import gtin
from tests.portal.support import signed_in, text_of, token_in

ASN_PAGE = re.compile(r"/asns/([0-9a-f-]{36})$")


class Fields(HTMLParser):
    """The values a browser would post for the form with id `form_id`: inputs (checked
    boxes only, no buttons), selected options, textareas."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id, self.inside, self.values = form_id, False, {}
        self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside:
            return
        if tag == "input" and a.get("name") and a.get("type") not in ("submit", "button"):
            if a.get("type") != "checkbox" or "checked" in a:
                self.values[a["name"]] = a.get("value") or ""
        elif tag == "select":
            self._select = a["name"]
            self.values[self._select] = ""
        elif tag == "option" and self._select and "selected" in a:
            self.values[self._select] = a.get("value") or ""
        elif tag == "textarea":
            self._textarea = a["name"]
            self.values[self._textarea] = ""

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None

    def handle_data(self, data):
        if self._textarea:
            self.values[self._textarea] += data


def form_of(html: str) -> dict:
    parser = Fields("asn-form")
    parser.feed(html)
    return parser.values


def filled(html: str, data: dict) -> dict:
    """The page's form with an ASN typed in (service input shape)."""
    values = form_of(html)
    for name in ("ship_to_site_id", "carrier", "tracking_number", "ship_date", "expected_arrival"):
        values[name] = str(data.get(name) or "")
    values["package_rows"] = str(max(int(values["package_rows"]), len(data["packages"])))
    values["line_rows"] = str(max(int(values["line_rows"]), len(data["lines"])))
    for n, p in enumerate(data["packages"]):
        values.update({f"pkg-{n}-sscc": p["sscc"], f"pkg-{n}-level": p["level"], f"pkg-{n}-parent": p.get("parent") or ""})
    for n, line in enumerate(data["lines"]):
        values.update(
            {
                f"line-{n}-po_line": str(line["purchase_order_line_id"]),
                f"line-{n}-package": line.get("package") or "",
                f"line-{n}-quantity": str(line["quantity"]),
                f"line-{n}-lot": line.get("lot") or "",
                f"line-{n}-expiry_date": str(line.get("expiry_date") or ""),
                f"line-{n}-serials": "\n".join(line.get("serials") or []),
            }
        )
    return values


def counts(tx, world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return [uow.scalar(sa.select(sa.func.count()).select_from(t)) for t in (Asn, AsnPackage, AsnLine, AsnSerial)]


def status_of(tx, world, asn_id):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return uow.scalar(sa.select(Asn.status).where(Asn.id == asn_id))


def error_beside(html: str, name: str) -> str:
    match = re.search(rf'<p class="field-error" id="{re.escape(name)}-error">([^<]*)</p>', html)
    assert match, f"no error beside {name}"
    return match.group(1)


def version_on(html: str) -> str:
    return re.search(r'name="version" value="(\d+)"', html).group(1)


@pytest.fixture
def shipment(tx, world):
    return acknowledged_order(tx, world)


@pytest.fixture
def supplier(app, world):
    return signed_in(app, world.users["supplier1"])


def scan(client, html: str, text: str, **extra):
    values = form_of(html) | {"scan": text, "action": "scan"} | extra
    return client.post("/supplier/asns/new", data=values)


# --- the form --------------------------------------------------------------------------


def test_a_supplier_creates_a_draft_through_the_form_and_submits_it(tx, world, shipment, supplier, app):
    page = supplier.get("/supplier/asns/new")
    assert page.status_code == 200
    html = text_of(page)
    assert 'autocomplete="off"' in html and "autofocus" in html
    data = asn_data(shipment)
    saved = supplier.post("/supplier/asns/new", data=filled(html, data) | {"action": "save"})
    assert saved.status_code == 303, text_of(saved)
    asn_id = ASN_PAGE.search(saved.headers["Location"]).group(1)
    assert status_of(tx, world, asn_id) == "draft"

    detail = supplier.get(f"/asns/{asn_id}")
    html = text_of(detail)
    assert detail.status_code == 200 and "SN-1, SN-2, SN-3" in html and data["packages"][0]["sscc"] in html
    assert shipment.device.udi_di in html
    listed = text_of(supplier.get("/supplier/asns"))
    assert re.search(r"ASN-\d{4}-\d+", listed) and "3 / 53" in listed

    submitted = supplier.post(f"/asns/{asn_id}/submit", data={"csrf_token": token_in(html), "version": version_on(html)})
    assert submitted.status_code == 303
    assert status_of(tx, world, asn_id) == "submitted"

    buyer = signed_in(app, world.users["buyer"])
    incoming = text_of(buyer.get("/asns"))
    assert world.suppliers[0].name in incoming and "DC Shanghai" in incoming
    assert world.suppliers[0].name in text_of(buyer.get("/asns?status=submitted"))
    assert world.suppliers[0].name not in text_of(buyer.get("/asns?status=received"))
    assert buyer.get(f"/asns/{asn_id}").status_code == 200


def test_a_bad_row_is_shown_beside_its_field_and_nothing_is_saved(tx, world, shipment, supplier):
    html = text_of(supplier.get("/supplier/asns/new"))
    data = asn_data(shipment)
    good = data["packages"][1]["sscc"]
    data["packages"][1]["sscc"] = bad = good[:-1] + str((int(good[-1]) + 1) % 10)
    data["lines"][1]["quantity"] = "51"
    before = counts(tx, world)
    refused = supplier.post("/supplier/asns/new", data=filled(html, data) | {"action": "save"})
    assert refused.status_code == 422
    page = text_of(refused)
    assert error_beside(page, "pkg-1-sscc") == f"The check digit of this SSCC is wrong: it should end in {good[-1]}."
    assert "has 50 open" in error_beside(page, "line-1-quantity")
    assert f'value="{bad}"' in page and "SN-1\nSN-2\nSN-3" in page  # kept as typed
    assert 'href="#pkg-1-sscc"' in page  # the summary links to the field
    assert counts(tx, world) == before


def test_a_serial_twice_is_named_beside_the_serials(tx, world, shipment, supplier):
    html = text_of(supplier.get("/supplier/asns/new"))
    data = asn_data(shipment, serials=("SN-1", "SN-1", "SN-3"))
    refused = supplier.post("/supplier/asns/new", data=filled(html, data) | {"action": "save"})
    assert refused.status_code == 422
    assert error_beside(text_of(refused), "line-0-serials") == "Serial 2: Serial SN-1 is on this ship notice twice."


def test_more_rows_keeps_what_was_typed(supplier, shipment):
    html = text_of(supplier.get("/supplier/asns/new"))
    values = form_of(html) | {"carrier": "SF Express", "pkg-0-sscc": "123", "action": "add_lines"}
    page = text_of(supplier.post("/supplier/asns/new", data=values))
    assert 'name="line-7-quantity"' in page and 'value="SF Express"' in page and 'value="123"' in page


def test_scanning_packages_and_units_fills_the_form(world, shipment, supplier):
    html = text_of(supplier.get("/supplier/asns/new"))
    pallet, case = sscc(), sscc()
    page = scan(supplier, html, f"(00){pallet}", next_pallet="1")
    assert page.status_code == 200
    page = scan(supplier, text_of(page), f"]C100{case}")  # as a scanner sends it
    expiry = utcnow().date() + timedelta(days=400)
    element = f"(01){shipment.device.udi_di}(17){expiry:%y%m%d}(10)L1(21)S1"
    page = scan(supplier, text_of(page), element)
    page = scan(supplier, text_of(page), f"01{shipment.device.udi_di}17{expiry:%y%m%d}10L1\x1d21S2")
    assert page.status_code == 200, text_of(page)
    values = form_of(text_of(page))
    assert (values["pkg-0-sscc"], values["pkg-0-level"], values["pkg-0-parent"]) == (pallet, "pallet", "")
    assert (values["pkg-1-sscc"], values["pkg-1-level"], values["pkg-1-parent"]) == (case, "case", pallet)
    assert values["line-0-po_line"] == str(shipment.line_ids[0])
    assert values["line-0-package"] == case and values["line-0-lot"] == "L1"
    assert values["line-0-expiry_date"] == expiry.isoformat()
    assert values["line-0-serials"].split() == ["S1", "S2"] and values["line-0-quantity"] == "2"
    assert values["ship_to_site_id"] == str(shipment.site_id)
    assert values["scan"] == ""

    again = scan(supplier, text_of(page), element)
    assert again.status_code == 422 and error_beside(text_of(again), "scan") == "Serial S1 is on the form already."


def test_a_code_of_another_item_or_a_bad_code_is_refused_beside_the_scan_field(shipment, supplier):
    html = text_of(supplier.get("/supplier/asns/new"))
    typed = form_of(html) | {"carrier": "DHL"}
    other = supplier.post("/supplier/asns/new", data=typed | {"scan": f"(01){gtin()}(10)X", "action": "scan"})
    assert other.status_code == 422
    page = text_of(other)
    assert error_beside(page, "scan") == "This code is for no item on your open order lines."
    assert 'value="DHL"' in page

    broken = supplier.post("/supplier/asns/new", data=typed | {"scan": "(01)12345", "action": "scan"})
    assert broken.status_code == 422
    page = text_of(broken)
    assert "(01)" in error_beside(page, "scan") and 'value="DHL"' in page and 'value="(01)12345"' in page


def test_a_bad_code_is_explained_in_the_pages_language(shipment, supplier):
    supplier.post("/language", data={"csrf_token": token_in(text_of(supplier.get("/supplier/asns"))), "locale": "zh_Hans_CN"})
    html = text_of(supplier.get("/supplier/asns/new"))
    broken = supplier.post("/supplier/asns/new", data=form_of(html) | {"scan": "(01)12345", "action": "scan"})
    assert "必须正好是 14 个字符" in error_beside(text_of(broken), "scan")


def test_ship_everything_open_prefills_the_lines(shipment, supplier):
    values = form_of(text_of(supplier.get(f"/supplier/asns/new?po={shipment.po_id}")))
    assert values["line-0-po_line"] == str(shipment.line_ids[0]) and values["line-0-quantity"] == "3"
    assert values["line-1-quantity"] == "50" and values["ship_to_site_id"] == str(shipment.site_id)
    assert f"po={shipment.po_id}" in text_of(supplier.get(f"/purchase-orders/{shipment.po_id}"))


# --- one ship notice -------------------------------------------------------------------


def test_a_change_after_submit_needs_a_reason_and_a_stale_copy_is_refused(tx, world, shipment, supplier):
    seller = shipment.who["supplier1"]
    saved = save(tx, world, seller, asn_data(shipment))
    asn_id = saved.asn.id
    stale = text_of(supplier.get(f"/asns/{asn_id}"))
    supplier.post(f"/asns/{asn_id}/submit", data={"csrf_token": token_in(stale), "version": version_on(stale)})
    again = supplier.post(f"/asns/{asn_id}/submit", data={"csrf_token": token_in(stale), "version": version_on(stale)})
    assert again.status_code == 409 and "changed by someone else" in text_of(again)

    edit = text_of(supplier.get(f"/asns/{asn_id}/edit"))
    values = form_of(edit) | {"carrier": "EMS", "action": "save"}
    refused = supplier.post(f"/asns/{asn_id}/edit", data=values)
    assert refused.status_code == 422 and "Say why" in error_beside(text_of(refused), "reason")
    done = supplier.post(f"/asns/{asn_id}/edit", data=values | {"reason": "Carrier changed"})
    assert done.status_code == 303
    page = text_of(supplier.get(f"/asns/{asn_id}"))
    assert "EMS" in page and "Carrier changed" in page


def test_warnings_must_be_acknowledged_to_submit(tx, world, shipment, supplier):
    buyer, seller = shipment.who["buyer"], shipment.who["supplier1"]
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow:
        settings.save_rules(uow, buyer, over_delivery_pct="0", min_shelf_life_days=180)
        uow.commit()
    saved = save(tx, world, seller, asn_data(shipment, expiry_days=90))
    html = text_of(supplier.get(f"/asns/{saved.asn.id}"))
    assert "Line 1: Lot L-2026-01 expires on" in html and 'name="acknowledge"' in html
    form = {"csrf_token": token_in(html), "version": version_on(html)}
    refused = supplier.post(f"/asns/{saved.asn.id}/submit", data=form)
    assert refused.status_code == 422 and "ship anyway" in text_of(refused)
    assert status_of(tx, world, saved.asn.id) == "draft"
    assert supplier.post(f"/asns/{saved.asn.id}/submit", data=form | {"acknowledge": "1"}).status_code == 303
    assert status_of(tx, world, saved.asn.id) == "submitted"


def test_cancel_needs_a_reason(tx, world, shipment, supplier):
    saved = save(tx, world, shipment.who["supplier1"], asn_data(shipment))
    html = text_of(supplier.get(f"/asns/{saved.asn.id}"))
    form = {"csrf_token": token_in(html), "version": version_on(html)}
    refused = supplier.post(f"/asns/{saved.asn.id}/cancel", data=form | {"reason": " "})
    assert refused.status_code == 422 and error_beside(text_of(refused), "cancel-reason") == "This field is required."
    assert supplier.post(f"/asns/{saved.asn.id}/cancel", data=form | {"reason": "Order moved"}).status_code == 303
    assert status_of(tx, world, saved.asn.id) == "cancelled"


def test_another_supplier_and_the_buyer_before_submit_get_not_found(app, tx, world, shipment):
    saved = save(tx, world, shipment.who["supplier1"], asn_data(shipment))
    other = signed_in(app, world.users["supplier2"])
    for path in ("", "/labels.pdf", "/symbols/1.png", "/edit"):
        assert other.get(f"/asns/{saved.asn.id}{path}").status_code == 404, path
    assert saved.asn.number not in text_of(other.get("/supplier/asns"))
    buyer = signed_in(app, world.users["buyer"])
    assert buyer.get(f"/asns/{saved.asn.id}").status_code == 404  # a draft is the supplier's own
    assert saved.asn.number not in text_of(buyer.get("/asns"))


def test_labels_print_as_pdf_and_each_symbol_scans_back(tx, world, shipment, supplier):
    saved = save(tx, world, shipment.who["supplier1"], asn_data(shipment))
    pdf = supplier.get(f"/asns/{saved.asn.id}/labels.pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf" and pdf.data.startswith(b"%PDF")
    html = text_of(supplier.get(f"/asns/{saved.asn.id}"))
    unit = rf"\(01\) {shipment.device.udi_di} [^<]*\(21\) SN-2<"
    link = re.search(rf'href="(/asns/{saved.asn.id}/symbols/\d+\.png)"[^>]*>{unit}', html)
    assert link, "no barcode image listed for serial SN-2"
    png = supplier.get(link.group(1))
    assert png.status_code == 200 and png.mimetype == "image/png"
    (barcode,) = zxingcpp.read_barcodes(Image.open(io.BytesIO(png.data)))
    with tx.uow(tenant_id=world.tenant_id, actor=shipment.who["supplier1"]) as uow:
        expiry = asns.get_asn(uow, shipment.who["supplier1"], asn_id=saved.asn.id).lines[0].expiry_date
    assert barcode.bytes.decode("ascii") == f"01{shipment.device.udi_di}17{expiry:%y%m%d}10L-2026-01\x1d21SN-2"
    assert supplier.get(f"/asns/{saved.asn.id}/symbols/999.png").status_code == 404
    assert supplier.get(f"/asns/{saved.asn.id}/symbols/x.png").status_code == 404


def test_a_viewer_reads_but_cannot_post(app, tx, world, shipment):
    saved = save(tx, world, shipment.who["supplier1"], asn_data(shipment))
    viewer = signed_in(app, world.users["viewer"])
    assert viewer.get("/asns").status_code == 200
    token = token_in(text_of(viewer.get("/asns")))
    before = counts(tx, world)
    for path in ("/supplier/asns/new", *(f"/asns/{saved.asn.id}/{action}" for action in ("submit", "cancel", "edit"))):
        assert viewer.post(path, data={"csrf_token": token, "version": "1", "reason": "x", "action": "save"}).status_code == 403
    assert viewer.get("/supplier/asns/new").status_code == 403
    assert counts(tx, world) == before and status_of(tx, world, saved.asn.id) == "draft"


def test_the_lists_are_empty_before_any_ship_notice(app, world, supplier):
    assert "No ship notices yet" in text_of(supplier.get("/supplier/asns"))
    assert "Ship notices" in text_of(supplier.get("/supplier/asns"))
    buyer = signed_in(app, world.users["buyer"])
    page = text_of(buyer.get("/asns?status=in_transit"))
    assert "Incoming shipments" in page and "No shipments on the way." in page


def test_the_buyer_closes_a_received_ship_notice_from_its_page(tx, world, shipment, app):
    saved = save(tx, world, shipment.who["supplier1"], asn_data(shipment))
    with tx.uow(tenant_id=world.tenant_id) as uow:
        uow.execute(sa.text("update asn set status = 'received' where id = :a"), {"a": saved.asn.id})
        uow.commit()
    buyer = signed_in(app, world.users["buyer"])
    page = buyer.get(f"/asns/{saved.asn.id}")
    assert "Close the ship notice" in text_of(page)
    form = {"csrf_token": token_in(page.data), "version": version_on(text_of(page))}
    closed = buyer.post(f"/asns/{saved.asn.id}/close", data=form)
    assert closed.status_code == 303
    assert status_of(tx, world, saved.asn.id) == "closed"
    viewer = signed_in(app, world.users["viewer"])
    assert "Close the ship notice" not in text_of(viewer.get(f"/asns/{saved.asn.id}"))


def test_another_supplier_probing_an_asn_is_noted_and_an_unknown_id_is_not(tx, world, shipment, app):
    saved = save(tx, world, shipment.who["supplier1"], asn_data(shipment))
    other = signed_in(app, world.users["supplier2"])
    assert other.get(f"/asns/{saved.asn.id}").status_code == 404
    assert other.get(f"/api/v1/asns/{saved.asn.id}").status_code == 404
    assert other.get(f"/asns/{uuid.uuid4()}").status_code == 404

    def probes():
        with tx.uow(tenant_id=world.tenant_id) as uow:
            return uow.session.scalars(
                sa.select(SecurityEvent.detail).where(
                    SecurityEvent.user_id == world.users["supplier2"].id, SecurityEvent.kind == "isolation_denied"
                )
            ).all()

    assert [d.get("value") for d in probes()] == [str(saved.asn.id), str(saved.asn.id)]
