"""The gates on issuing an order.

Certificates: a supplier without a valid required certificate for the order's items
(erp.suppliers.compliance) is either a warning for the buyer (the default) or a reason
to refuse the issue, as the tenant chooses.

Scorecard grade: scoring writes each supplier's grade and the tenant's action for it
onto the supplier (erp.suppliers.service.set_grade). "warn": the order is issued and the
buyer warned (`grade_warning`); "approval": the order is issued only by someone holding
po.approve (by default the tenant admin) - the issue by that person is the approval,
and the audit trail records who issued it; anyone else is refused with the grade and
score named; "block": no new orders are issued to the supplier. A supplier with no grade
yet (no scorecard computed) is not gated.
"""

from __future__ import annotations

import sqlalchemy as sa

from auth.permissions import require
from erp.purchasing import settings
from erp.purchasing.models import PurchaseOrder, PurchaseOrderLine, PurchasingSetting
from erp.suppliers import compliance
from erp.suppliers import service as suppliers
from erp.suppliers.errors import CertificatesMissing, GradeBlocksOrders, GradeNeedsApproval
from erp.suppliers.models import SupplierGrade
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


def grade_warning(uow, po: PurchaseOrder) -> SupplierGrade | None:
    """The supplier's grade when it calls for a warning on new orders (else None)."""
    grade = suppliers.grade_of(uow, supplier_id=po.supplier_id)
    return grade if grade is not None and grade.action == "warn" else None


def check_grade(uow, po: PurchaseOrder, actor=None) -> None:
    """Refuse the issue when the supplier's grade blocks new orders, or requires approval
    and the actor may not approve (see the module docstring)."""
    grade = suppliers.grade_of(uow, supplier_id=po.supplier_id)
    if grade is None or grade.action in ("none", "warn"):
        return
    may_approve = actor is not None and (actor.kind == "system" or "po.approve" in actor.permissions)
    if grade.action == "approval" and may_approve:
        return
    supplier = tenants.organisations_by_id(uow, ids=[po.supplier_id])[po.supplier_id]
    score = f"{grade.score:.1f}" if grade.score is not None else "-"
    shown = {"supplier": supplier.name, "grade": grade.grade or "-", "score": score}
    if grade.action == "block":
        raise GradeBlocksOrders(**shown)
    raise GradeNeedsApproval(**shown)


def check_issue(uow, po: PurchaseOrder, today, actor=None) -> list[compliance.Gap]:
    """The gaps of the order's supplier; raises CertificatesMissing instead when the
    tenant blocks, and the grade errors of `check_grade`."""
    check_grade(uow, po, actor)
    gaps = gaps_for(uow, po, today)
    if gaps and certificate_gate(uow) == "block":
        supplier = tenants.organisations_by_id(uow, ids=[po.supplier_id])[po.supplier_id]
        raise CertificatesMissing(supplier=supplier.name, certificate=gaps[0].type.name)
    return gaps
