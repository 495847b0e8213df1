"""The certificate gate on issuing an order: a supplier without a valid required
certificate for the order's items (erp.suppliers.compliance) is either a warning for the
buyer (the default) or a reason to refuse the issue, as the tenant chooses."""

from __future__ import annotations

import sqlalchemy as sa

from auth.permissions import require
from erp.purchasing import settings
from erp.purchasing.models import PurchaseOrder, PurchaseOrderLine, PurchasingSetting
from erp.suppliers import compliance
from erp.suppliers.errors import CertificatesMissing
from kernel.errors import N_, ValidationFailed
from tenants import service as tenants

GATES = ("warn", "block")
GATE_LABELS = {
    "warn": N_("Warn the buyer and issue the order"),
    "block": N_("Refuse to issue the order"),
}
DEFAULT_GATE = PurchasingSetting.__table__.c.certificate_gate.server_default.arg


def certificate_gate(uow) -> str:
    return uow.scalar(sa.select(PurchasingSetting.certificate_gate)) or DEFAULT_GATE


def set_certificate_gate(uow, actor, *, gate: str) -> str:
    require(actor, "po.manage")
    if gate not in GATES:
        raise ValidationFailed(errors={"certificate_gate": N_("Choose what happens when a certificate is missing.")})
    settings.save(uow, certificate_gate=gate)
    return gate


def gaps_for(uow, po: PurchaseOrder, today) -> list[compliance.Gap]:
    """The certificates the order's supplier lacks for the order's items (lines not rejected or cancelled)."""
    item_ids = uow.session.scalars(
        sa.select(PurchaseOrderLine.item_id).where(
            PurchaseOrderLine.purchase_order_id == po.id, PurchaseOrderLine.status.in_(("open", "accepted"))
        )
    ).all()
    return compliance.order_gaps(uow, supplier_id=po.supplier_id, item_ids=item_ids, today=today)


def check_issue(uow, po: PurchaseOrder, today) -> list[compliance.Gap]:
    """The gaps of the order's supplier; raises CertificatesMissing instead when the
    tenant blocks."""
    gaps = gaps_for(uow, po, today)
    if gaps and certificate_gate(uow) == "block":
        supplier = tenants.organisations_by_id(uow, ids=[po.supplier_id])[po.supplier_id]
        raise CertificatesMissing(supplier=supplier.name, certificate=gaps[0].type.name)
    return gaps
