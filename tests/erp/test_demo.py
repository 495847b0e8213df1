"""The demo data `make demo` seeds (rolled back with the test): it loads, and the walk in
the README can start from it."""

from __future__ import annotations

import sqlalchemy as sa

from erp import demo
from erp.purchasing.models import PurchaseOrder
from erp.shipping import service as asns
from kernel.uow import Actor
from tenants import service as tenants


def test_the_demo_seeds_once_with_a_draft_to_issue_and_an_api_client(tx):
    assert demo.seed(tx) is True
    assert demo.seed(tx) is False  # a second run reuses the data
    with tx.uow() as uow:
        tenant_id = tenants.tenant_id_by_slug(uow, slug="demo")
    with tx.uow(tenant_id=tenant_id) as uow:
        statuses = sorted(uow.session.scalars(sa.select(PurchaseOrder.status)))
    # The traced devices' order was shipped and received (erp.traceability.demo).
    assert statuses == ["acknowledged", "draft", "in_delivery", "issued", "issued", "issued"]
    client_id, secret = demo.api_client(tx)
    again_id, again_secret = demo.api_client(tx)
    assert client_id == again_id and secret != again_secret  # rotated at every start


def test_the_demos_disqualified_item_is_refused_on_a_new_order(tx):
    import datetime

    import pytest

    from erp.items.models import Item
    from erp.purchasing import confirmation
    from kernel.errors import DomainError
    from kernel.uow import Actor
    from tenants.models import Organisation

    demo.seed(tx)
    with tx.uow() as uow:
        tenant_id = tenants.tenant_id_by_slug(uow, slug="demo")
    with tx.uow(tenant_id=tenant_id) as uow:
        acme = uow.session.scalar(sa.select(Organisation).where(Organisation.code == "ACME"))
        pouch = uow.session.scalar(sa.select(Item).where(Item.part_number == "SB-3300"))
        soon = datetime.date.today() + datetime.timedelta(days=9)
        line = {"item_id": pouch.id, "quantity": "10", "unit_price": "1", "requested_date": soon}
        with pytest.raises(DomainError) as refused:
            confirmation.create_purchase_order(uow, Actor.system("test"), supplier_id=acme.id, currency="EUR", lines=[line])
        assert "disqualified" in str(refused.value)


def test_the_demo_has_signed_certificates_expiring_in_30_and_7_days_and_an_expired_one(tx):
    from datetime import date

    from auth.models import Signature
    from documents import certificates
    from documents.models import Certificate
    from erp.suppliers import compliance
    from kernel.uow import Actor
    from tenants.models import Organisation

    demo.seed(tx)
    with tx.uow() as uow:
        tenant_id = tenants.tenant_id_by_slug(uow, slug="demo")
    with tx.uow(tenant_id=tenant_id) as uow:
        found = uow.session.scalars(sa.select(Certificate).order_by(Certificate.expires_on.desc())).all()
        assert [(c.expires_on - date.today()).days for c in found] == [30, 7, -10]
        assert {c.status for c in found} == {"approved"}
        assert [certificates.state(c, date.today()) for c in found] == ["expiring", "expiring", "expired"]
        signed = uow.scalar(sa.select(sa.func.count()).select_from(Signature).where(Signature.record_type == "certificate"))
        assert signed == 3
        # The sterile-barrier supplier owes a sterilisation validation that has expired.
        sterile = uow.session.scalar(sa.select(Organisation).where(Organisation.code == "SZST"))
        [site] = compliance.obligations(uow, Actor.system("test"), supplier_id=sterile.id)
        assert not site.compliant
        assert {o.type.code: o.state for o in site.obligations} == {"iso13485": "expiring", "sterilisation": "expired"}


def test_the_demos_acknowledged_order_is_ready_for_a_ship_notice(tx):
    demo.seed(tx)
    with tx.uow() as uow:
        tenant_id = tenants.tenant_id_by_slug(uow, slug="demo")
    with tx.uow(tenant_id=tenant_id) as uow:
        order = uow.session.scalar(sa.select(PurchaseOrder).where(PurchaseOrder.status == "acknowledged"))
        offered = asns.ship_everything_open(uow, Actor.system("test"), po_ids=[order.id], supplier_id=order.supplier_id)
    assert [line["quantity"] for line in offered["lines"]] == ["10", "500"] and offered["ship_to_site_id"] is not None


def test_the_demo_pumps_udi_traces_back_to_the_suppliers_ship_notice_and_forward_to_the_hospital(tx):
    from erp.traceability import demo as traced_demo
    from erp.traceability import trace

    demo.seed(tx)
    with tx.uow() as uow:
        tenant_id = tenants.tenant_id_by_slug(uow, slug="demo")
    with tx.uow(tenant_id=tenant_id) as uow:
        system = Actor.system("test")
        expiry = uow.scalar(sa.text("select expiry_date from lot where number = :n"), {"n": traced_demo.PUMP_LOT})
        udi = f"(01){traced_demo.PUMP_GTIN}(17){expiry:%y%m%d}(10){traced_demo.PUMP_LOT}(21)IP-0001"
        snapshot = trace.run_trace(uow, system, code=udi, reason="demo walk")
        kinds = {(n["kind"], n["label"]) for n in snapshot.result["nodes"]}
    labels = " ".join(label for _, label in kinds)
    assert any(kind == "asn" for kind, _ in kinds) and any(kind == "purchase_order" for kind, _ in kinds)
    assert "SZC-0001" in labels and "Riverside General Hospital" in labels
    assert "华东医疗器械分销有限公司" not in labels  # IP-0001 went to the hospital only


def test_the_demo_loggers_export_puts_the_pouches_lot_on_hold(tx):
    from erp.coldchain import demo as coldchain_demo
    from erp.coldchain import readings
    from erp.inventory.models import Lot, Stock
    from erp.traceability import demo as traced_demo

    demo.seed(tx)
    with tx.uow() as uow:
        tenant_id = tenants.tenant_id_by_slug(uow, slug="demo")
    with tx.uow(tenant_id=tenant_id, actor=Actor.system("test")) as uow:
        content = coldchain_demo.excursion_csv(after=coldchain_demo.last_reading_at(uow))
        got = readings.ingest_csv(uow, Actor.system("test"), logger_code=coldchain_demo.LOGGER_CODE, content=content)
        lot = uow.session.scalar(sa.select(Lot).where(Lot.number == traced_demo.POUCH_LOT))
        on_hand = sa.select(Stock.status).where(Stock.lot_id == lot.id, Stock.quantity > 0, Stock.status != "consumed")
        statuses = set(uow.session.scalars(on_hand))
    assert [a.kind for a in got.alerts] == ["temperature_high"]
    assert statuses == {"on_hold"}


def test_the_epcis_export_of_the_demo_pump_lot_validates(tx):
    from erp.traceability import demo as traced_demo
    from erp.traceability.epcis import export, schema

    demo.seed(tx)
    with tx.uow() as uow:
        tenant_id = tenants.tenant_id_by_slug(uow, slug="demo")
    with tx.uow(tenant_id=tenant_id, actor=Actor.system("test")) as uow:
        document = export.export_document(uow, Actor.system("test"), lot=traced_demo.PUMP_LOT)
    events = document["epcisBody"]["eventList"]
    assert schema.problems(document) == {}
    assert {e["type"] for e in events} >= {"TransformationEvent", "ObjectEvent"}
    assert sum(e.get("bizStep") in ("shipping", "urn:epcglobal:cbv:bizstep:shipping") for e in events) == 2  # two customers
