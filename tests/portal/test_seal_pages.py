"""Seal numbers through the web client: the supplier gives the seal on the ship notice
(form, file upload, API) and a bad one is refused beside its field; the warehouse records
the seal found on arrival on the receipt page: the same seal is noted as matching and
raises nothing, another raises one seal-mismatch cold-chain alert (linked from the page)
and mails quality; an empty or bad seal changes nothing; suppliers may not record."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from auth.models import User
from erp.coldchain.models import ColdChainAlert
from erp.receiving.models import Receipt
from erp.shipping import service as asns
from erp.shipping.models import Asn
from portal.jobs import dispatcher
from tests.erp.shipping import test_asn_imports as files
from tests.erp.shipping.asn_support import acknowledged_order, asn_data, save
from tests.portal.api.test_asn_api import as_json, csrf_header
from tests.portal.support import login, signed_in, text_of, token_in
from tests.portal.test_asn_pages import ASN_PAGE, error_beside, filled

RECEIPT_PAGE = re.compile(r"/receiving/([0-9a-f-]{36})$")
SEAL_FIELD = 'id="seal-number"'


def deliver(tx, settings, world) -> None:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        while dispatcher(settings).deliver_pending(uow):
            pass
        uow.commit()


def seal_of(tx, world, model, row_id):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return uow.scalar(sa.select(model.seal_number).where(model.id == row_id))


def seal_alerts(tx, world) -> list[ColdChainAlert]:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        found = list(uow.session.scalars(sa.select(ColdChainAlert).where(ColdChainAlert.kind == "seal_mismatch")))
        uow.commit()
        return found


# --- the supplier gives the seal -------------------------------------------------------


def test_the_supplier_gives_the_seal_on_the_form_and_the_ship_notice_shows_it(app, tx, world):
    shipment = acknowledged_order(tx, world)
    supplier = signed_in(app, world.users["supplier1"])
    html = text_of(supplier.get("/supplier/asns/new"))
    assert 'id="seal_number" name="seal_number"' in html and "Seal number (optional)" in html
    data = asn_data(shipment)

    refused = supplier.post("/supplier/asns/new", data=filled(html, data) | {"seal_number": "SL 0042817", "action": "save"})
    assert refused.status_code == 422
    page = text_of(refused)
    message = "A seal number has only letters, digits and dashes, such as SL-0042817: no spaces or other signs."
    assert error_beside(page, "seal_number") == message
    assert 'href="#seal_number"' in page and 'value="SL 0042817"' in page  # in the summary, kept as typed
    too_long = supplier.post("/supplier/asns/new", data=filled(html, data) | {"seal_number": "S" * 41, "action": "save"})
    assert too_long.status_code == 422 and error_beside(text_of(too_long), "seal_number") == "This is too long."
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert uow.scalar(sa.select(sa.func.count()).select_from(Asn)) == 0

    saved = supplier.post("/supplier/asns/new", data=filled(html, data) | {"seal_number": " SL-0042817 ", "action": "save"})
    assert saved.status_code == 303, text_of(saved)
    asn_id = ASN_PAGE.search(saved.headers["Location"]).group(1)
    assert seal_of(tx, world, Asn, asn_id) == "SL-0042817"
    detail = text_of(supplier.get(f"/asns/{asn_id}"))
    assert "Seal number" in detail and "SL-0042817" in detail
    edit = text_of(supplier.get(f"/asns/{asn_id}/edit"))
    assert 'id="seal_number" name="seal_number" type="text" value="SL-0042817"' in edit


def test_the_upload_form_takes_the_seal(app, tx, world):
    shipment = acknowledged_order(tx, world)
    supplier = signed_in(app, world.users["supplier1"])
    page = text_of(supplier.get("/supplier/asns/import"))
    assert 'name="seal_number"' in page
    number = files.po_number(tx, world, shipment)
    content = files.csv_file([files.HEADER, *(f"{number},10,,,,,L-1,,{files.expiry()},SN-{n}" for n in (1, 2, 3))])

    def upload(seal: str):
        form = files.header(shipment) | {"seal_number": seal, "csrf_token": token_in(page)}
        return supplier.post("/supplier/asns/import", data=form | {"file": (io.BytesIO(content), "asn.csv")})

    bad = upload("SL/1")
    assert bad.status_code == 422 and "no spaces or other signs" in text_of(bad) and 'value="SL/1"' in text_of(bad)
    made = upload("SL-1")
    assert made.status_code == 303, text_of(made)
    assert seal_of(tx, world, Asn, ASN_PAGE.search(made.headers["Location"]).group(1)) == "SL-1"


def test_the_api_takes_and_returns_the_seal(client, tx, world):
    shipment = acknowledged_order(tx, world)
    login(client, world.users["supplier1"])
    body = as_json(asn_data(shipment))
    bad = client.post("/api/v1/asns", json=body | {"seal_number": "SL 1"}, headers=csrf_header(client))
    assert bad.status_code == 422 and set(bad.json["errors"]) == {"seal_number"}
    made = client.post("/api/v1/asns", json=body | {"seal_number": "SL-1"}, headers=csrf_header(client))
    assert made.status_code == 201, made.json
    assert made.json["seal_number"] == "SL-1"
    assert client.get(f"/api/v1/asns/{made.json['id']}").json["seal_number"] == "SL-1"
    assert [a["seal_number"] for a in client.get("/api/v1/asns").json["items"]] == ["SL-1"]
    schema = client.get("/api/v1/openapi.json").json
    assert "seal_number" in schema["components"]["schemas"]["AsnIn"]["properties"]


# --- the warehouse records the seal found ----------------------------------------------


def shipped(tx, world, *, seal: str | None):
    """A submitted ship notice with this seal; (its data, its id)."""
    shipment = acknowledged_order(tx, world)
    supplier = shipment.who["supplier1"]
    data = asn_data(shipment, seal_number=seal)
    saved = save(tx, world, supplier, data)
    with tx.uow(tenant_id=world.tenant_id, actor=supplier) as uow:
        asns.submit_asn(uow, supplier, asn_id=saved.asn.id, version=saved.asn.version)
        uow.commit()
    return data, saved.asn.id


@pytest.fixture
def operator(app, world):
    return signed_in(app, world.users["warehouse"])


def started(client, code: str) -> str:
    token = token_in(client.get("/receiving").data)
    response = client.post("/receiving", data={"code": code, "csrf_token": token})
    assert response.status_code == 303, text_of(response)
    return RECEIPT_PAGE.search(response.headers["Location"]).group(1)


def record(client, receipt_id: str, seal: str, *, follow: bool = False):
    token = token_in(client.get(f"/receiving/{receipt_id}").data)
    return client.post(
        f"/receiving/{receipt_id}/seal", data={"seal_number": seal, "csrf_token": token}, follow_redirects=follow
    )


def test_the_same_seal_is_noted_as_matching_and_raises_nothing(tx, world, operator, settings, mailbox):
    data, _ = shipped(tx, world, seal="SL-0042817")
    receipt_id = started(operator, data["packages"][0]["sscc"])
    page = text_of(operator.get(f"/receiving/{receipt_id}"))
    assert SEAL_FIELD in page and "Seal number on arrival" in page
    assert "SL-0042817" not in page  # checked blind: the expected seal is not shown before

    deliver(tx, settings, world)
    mailbox.clear()
    recorded = record(operator, receipt_id, " sl-0042817 ")
    assert recorded.status_code == 303
    after = text_of(operator.get(f"/receiving/{receipt_id}"))
    assert "Seal sl-0042817 is recorded: it matches the ship notice." in after  # the notice after the post
    assert "Seal matches the ship notice." in after and "Seal on arrival" in after and "as on the ship notice" in after
    assert SEAL_FIELD not in after  # recorded once
    assert seal_of(tx, world, Receipt, receipt_id) == "sl-0042817"
    assert seal_alerts(tx, world) == []
    deliver(tx, settings, world)
    assert not [m for m in mailbox if "Cold-chain alert" in m["Subject"]]


def test_another_seal_raises_a_mismatch_alert_links_it_and_mails_quality(app, tx, world, operator, settings, mailbox):
    data, asn_id = shipped(tx, world, seal="SL-0042817")
    receipt_id = started(operator, data["packages"][0]["sscc"])
    deliver(tx, settings, world)
    mailbox.clear()

    recorded = record(operator, receipt_id, "SL-0099999", follow=True)
    assert recorded.status_code == 200
    page = text_of(recorded)
    assert "it is not the one on the ship notice. A cold-chain alert was raised." in page
    assert "Seal mismatch: the ship notice gives SL-0042817, seal SL-0099999 was found on arrival." in page
    [alert] = seal_alerts(tx, world)
    assert str(alert.receipt_id) == receipt_id and alert.asn_id == asn_id and alert.status == "open"
    assert alert.evidence["expected_seal"] == "SL-0042817" and alert.evidence["found_seal"] == "SL-0099999"
    assert f'href="/cold-chain/alerts/{alert.id}"' in page  # the warehouse holds coldchain.view
    assert operator.get(f"/cold-chain/alerts/{alert.id}").status_code == 200
    assert seal_of(tx, world, Receipt, receipt_id) == "SL-0099999"

    deliver(tx, settings, world)
    to = {m["To"]: m for m in mailbox if "Cold-chain alert" in m["Subject"]}
    assert world.users["quality"].email in to and world.users["supplier1"].email not in to
    body = to[world.users["quality"].email].get_body(("plain",)).get_content()
    assert f"/cold-chain/alerts/{alert.id}" in body and "SL-0099999" in body

    # In Chinese too; the form is gone and nothing more is raised by looking.
    with tx.uow() as uow:
        uow.execute(sa.update(User).where(User.id == world.users["warehouse"].id).values(locale="zh_Hans_CN"))
        uow.commit()
    chinese = signed_in(app, world.users["warehouse"])
    page = chinese.get(f"/receiving/{receipt_id}")
    assert page.status_code == 200 and 'lang="zh' in text_of(page) and "SL-0099999" in text_of(page)
    assert SEAL_FIELD not in text_of(page) and f'href="/cold-chain/alerts/{alert.id}"' in text_of(page)
    assert len(seal_alerts(tx, world)) == 1


def test_a_ship_notice_without_a_seal_has_nothing_to_compare(tx, world, operator):
    data, _ = shipped(tx, world, seal=None)
    receipt_id = started(operator, data["packages"][0]["sscc"])
    assert record(operator, receipt_id, "SL-5").status_code == 303
    page = text_of(operator.get(f"/receiving/{receipt_id}"))
    assert "the ship notice gives no seal number to compare it with" in page
    assert "The ship notice gives no seal number to compare with." in page
    assert seal_of(tx, world, Receipt, receipt_id) == "SL-5" and seal_alerts(tx, world) == []


@pytest.mark.parametrize(
    ("seal", "message"), [("", "This field is required."), ("   ", "This field is required."), ("S" * 41, "This is too long.")]
)
def test_an_empty_or_too_long_seal_is_refused_and_nothing_recorded(tx, world, operator, seal, message):
    data, _ = shipped(tx, world, seal="SL-1")
    receipt_id = started(operator, data["packages"][0]["sscc"])
    refused = record(operator, receipt_id, seal)
    assert refused.status_code == 422
    page = text_of(refused)
    assert re.search(rf'<p class="field-error" id="seal-number-error">{re.escape(message)}</p>', page)
    assert 'aria-invalid="true"' in page and SEAL_FIELD in page
    assert seal_of(tx, world, Receipt, receipt_id) is None and seal_alerts(tx, world) == []


def test_suppliers_and_other_tenants_record_no_seal(app, tx, world, other_world, operator):
    data, _ = shipped(tx, world, seal="SL-1")
    receipt_id = started(operator, data["packages"][0]["sscc"])
    supplier = signed_in(app, world.users["supplier1"])
    token = token_in(supplier.get("/supplier/asns/new").data)
    assert supplier.post(f"/receiving/{receipt_id}/seal", data={"seal_number": "X-1", "csrf_token": token}).status_code == 403
    stranger = signed_in(app, other_world.users["warehouse"])
    other_token = token_in(stranger.get("/receiving").data)
    answer = stranger.post(f"/receiving/{receipt_id}/seal", data={"seal_number": "X-1", "csrf_token": other_token})
    assert answer.status_code == 404
    without_token = operator.post(f"/receiving/{receipt_id}/seal", data={"seal_number": "X-1"})
    assert without_token.status_code == 400
    assert seal_of(tx, world, Receipt, receipt_id) is None and seal_alerts(tx, world) == []
