"""The requirement matrix applied to the approved supplier list: which site owes which
certificate, its state, and the gate on issuing orders (warn or block)."""

from __future__ import annotations

import uuid

import pytest

from documents import certificates
from erp.purchasing import confirmation as po
from erp.purchasing import gate
from erp.suppliers import compliance
from erp.suppliers import service as suppliers
from erp.suppliers.errors import CertificatesMissing, RequirementNotFound
from kernel.errors import Forbidden, ValidationFailed
from tests.documents.certificate_support import approve, days, make_type, upload
from tests.documents.certificate_support import who as who  # its people, not tests/erp's
from tests.erp.po_support import order_lines
from tests.factories import site_of


def standing(uow, actor, supplier):
    [only] = compliance.obligations(uow, actor, supplier_id=supplier.id)
    return only


def test_a_category_rule_applies_to_sites_approved_for_that_category(tx, world, who, vault, settings):
    item = world.items[0]
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        kind = make_type(uow, who["quality"])
        compliance.add_requirement(uow, who["buyer"], certificate_type_id=kind.id, scope="category", category=item.category)
        # Supplier 1 is approved for the item, supplier 2 for nothing: only 1 owes it.
        suppliers.set_approval(
            uow, who["buyer"], supplier_id=world.suppliers[0].id, item_id=item.id, status="approved", reason="Audit"
        )
        first = standing(uow, who["buyer"], world.suppliers[0])
        assert [(o.type.code, o.state) for o in first.obligations] == [("iso13485", "missing")]
        assert not first.compliant and first.site.id == site_of(uow, world.suppliers[0])
        assert standing(uow, who["buyer"], world.suppliers[1]).obligations == []

        uow.switch_tenant(world.tenant_id, who["supplier1"])
        cert = upload(uow, who["supplier1"], vault, kind)
        assert standing(uow, who["supplier1"], world.suppliers[0]).obligations[0].state == "pending_review"
        uow.switch_tenant(world.tenant_id, who["quality"])
        approve(uow, who["quality"], cert, settings)
        now = standing(uow, who["quality"], world.suppliers[0])
        assert now.compliant and now.obligations[0].certificate.certificate.id == cert.id


def test_a_certificate_limited_to_another_site_does_not_cover_this_one(tx, world, who, vault, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        kind = make_type(uow, who["quality"], review_required=False)
        compliance.add_requirement(uow, who["buyer"], certificate_type_id=kind.id, scope="all")
        supplier = world.suppliers[0]
        from tenants import service as tenants

        second = tenants.create_site(uow, organisation=supplier, name="Second plant", kind="manufacturing")
        uow.switch_tenant(world.tenant_id, who["supplier1"])
        upload(uow, who["supplier1"], vault, kind, site_ids=[second.id])
        states = {s.site.name: s.compliant for s in compliance.obligations(uow, who["supplier1"], supplier_id=supplier.id)}
        assert states == {"Second plant": True, "Site 1": False}


def test_an_item_rule_needs_a_certificate_covering_the_item(tx, world, who, vault):
    item = world.items[0]
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        kind = make_type(uow, who["quality"], review_required=False)
        compliance.add_requirement(uow, who["buyer"], certificate_type_id=kind.id, scope="item", item_id=item.id)
        suppliers.set_approval(
            uow, who["buyer"], supplier_id=world.suppliers[0].id, item_id=item.id, status="approved", reason="Audit"
        )
        uow.switch_tenant(world.tenant_id, who["supplier1"])
        upload(uow, who["supplier1"], vault, kind, item_ids=[world.items[1].id])
        assert standing(uow, who["supplier1"], world.suppliers[0]).obligations[0].state == "missing"
        upload(uow, who["supplier1"], vault, kind, item_ids=[item.id], number="Q5 2")
        assert standing(uow, who["supplier1"], world.suppliers[0]).compliant


def test_a_requirement_of_an_inactive_type_is_owed_by_no_one(tx, world, who, vault):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        kind = make_type(uow, who["quality"])
        retired = make_type(uow, who["quality"], code="ce-mdr", name="CE certificate (MDR)")
        for required in (kind, retired):
            compliance.add_requirement(uow, who["buyer"], certificate_type_id=required.id, scope="all")
        owed = standing(uow, who["buyer"], world.suppliers[0]).obligations
        assert sorted(o.type.code for o in owed) == ["ce-mdr", "iso13485"]
        certificates.save_type(uow, who["quality"], type_id=retired.id, code=retired.code, name=retired.name, active=False)
        assert [o.type.code for o in standing(uow, who["buyer"], world.suppliers[0]).obligations] == ["iso13485"]
        uow.switch_tenant(world.tenant_id, who["supplier1"])
        assert [o.type.code for o in standing(uow, who["supplier1"], world.suppliers[0]).obligations] == ["iso13485"]


def test_requirements_are_checked_and_unique(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        kind = make_type(uow, who["quality"])
        bad = [
            ({"scope": "category", "category": "nonsense"}, "category"),
            ({"scope": "site", "site_id": uuid.uuid4()}, "site_id"),
            ({"scope": "item", "item_id": uuid.uuid4()}, "item_id"),
            ({"scope": "everything"}, "scope"),
        ]
        for values, field in bad:
            with pytest.raises(ValidationFailed) as failed:
                compliance.add_requirement(uow, who["buyer"], certificate_type_id=kind.id, **values)
            assert field in failed.value.errors
        with pytest.raises(ValidationFailed) as failed:
            compliance.add_requirement(uow, who["buyer"], certificate_type_id=uuid.uuid4(), scope="all")
        assert "certificate_type_id" in failed.value.errors
        site = site_of(uow, world.suppliers[0])
        row = compliance.add_requirement(uow, who["buyer"], certificate_type_id=kind.id, scope="site", site_id=site)
        assert row.supplier_id == world.suppliers[0].id
        with pytest.raises(ValidationFailed) as failed:
            compliance.add_requirement(uow, who["buyer"], certificate_type_id=kind.id, scope="site", site_id=site)
        assert "scope" in failed.value.errors
        with pytest.raises(Forbidden):
            compliance.add_requirement(uow, who["quality"], certificate_type_id=kind.id, scope="all")
        # A supplier sees the general rules and its own sites', not another supplier's.
        uow.switch_tenant(world.tenant_id, who["supplier2"])
        assert compliance.list_requirements(uow, who["supplier2"]) == []
        uow.switch_tenant(world.tenant_id, who["supplier1"])
        assert [r.id for r in compliance.list_requirements(uow, who["supplier1"])] == [row.id]
        uow.switch_tenant(world.tenant_id, who["buyer"])
        compliance.remove_requirement(uow, who["buyer"], requirement_id=row.id)
        with pytest.raises(RequirementNotFound):
            compliance.remove_requirement(uow, who["buyer"], requirement_id=row.id)


def test_issuing_warns_by_default_and_blocks_when_the_tenant_says_so(tx, world, who, vault):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        kind = make_type(uow, who["quality"], review_required=False)
        compliance.add_requirement(uow, who["buyer"], certificate_type_id=kind.id, scope="all")
        uow.switch_tenant(world.tenant_id, who["buyer"])
        lines = order_lines(world, 1)
        draft = po.create_purchase_order(uow, who["buyer"], supplier_id=world.suppliers[0].id, currency="EUR", lines=lines)
        assert [(g.type.code, g.state) for g in gate.gaps_for(uow, draft, days(0))] == [("iso13485", "missing")]

        gate.set_certificate_gate(uow, who["buyer"], gate="block")
        with pytest.raises(CertificatesMissing) as refused:
            po.issue_purchase_order(uow, who["buyer"], po_id=draft.id, version=draft.version)
        assert world.suppliers[0].name in str(refused.value) and "ISO 13485" in str(refused.value)
        assert draft.status == "draft"

        uow.switch_tenant(world.tenant_id, who["supplier1"])
        upload(uow, who["supplier1"], vault, kind)
        uow.switch_tenant(world.tenant_id, who["buyer"])
        assert gate.gaps_for(uow, draft, days(0)) == []
        po.issue_purchase_order(uow, who["buyer"], po_id=draft.id, version=draft.version)
        assert draft.status == "issued"


def test_warn_issues_the_order(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        kind = make_type(uow, who["quality"])
        compliance.add_requirement(uow, who["buyer"], certificate_type_id=kind.id, scope="all")
        uow.switch_tenant(world.tenant_id, who["buyer"])
        assert gate.certificate_gate(uow) == "warn"
        draft = po.create_purchase_order(
            uow, who["buyer"], supplier_id=world.suppliers[0].id, currency="EUR", lines=order_lines(world, 1)
        )
        po.issue_purchase_order(uow, who["buyer"], po_id=draft.id, version=draft.version)
        assert draft.status == "issued"
        with pytest.raises(ValidationFailed):
            gate.set_certificate_gate(uow, who["buyer"], gate="maybe")
        with pytest.raises(Forbidden):
            gate.set_certificate_gate(uow, who["quality"], gate="block")
