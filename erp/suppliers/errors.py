from kernel.errors import N_, Conflict, NotFound, ValidationFailed


class SupplierNotFound(NotFound):
    # The same for a supplier that does not exist, one of another tenant (row-level
    # security hides those) and the tenant's own company.
    code = "supplier-not-found"
    message = N_("There is no such supplier.")


class ApprovalChanged(Conflict):
    """Two people created the same entry of the approved supplier list at once."""

    code = "approval-changed"
    message = N_("Someone else changed this entry of the approved supplier list at the same time. Reload it and try again.")


class SupplierDisqualified(ValidationFailed):
    """A purchase order for an item its supplier is disqualified for (the field errors
    mark the lines; the message names the first)."""

    code = "supplier-disqualified"
    message = N_("%(supplier)s is disqualified for %(part_number)s since %(since)s: %(reason)s")


class RequirementNotFound(NotFound):
    code = "requirement-not-found"
    message = N_("There is no such certificate requirement.")


class CertificatesMissing(ValidationFailed):
    """Issuing an order to a supplier without a valid required certificate, when the
    tenant blocks rather than warns (erp.suppliers.compliance)."""

    code = "certificates-missing"
    message = N_("%(supplier)s lacks a valid %(certificate)s. Orders to this supplier are not issued until it has one.")


class GradeBlocksOrders(ValidationFailed):
    """Issuing an order to a supplier whose scorecard grade blocks new orders."""

    code = "supplier-grade-blocks"
    message = N_("%(supplier)s has grade %(grade)s (score %(score)s): the tenant blocks new orders to suppliers with this grade.")


class GradeNeedsApproval(ValidationFailed):
    """Issuing an order to a supplier whose grade requires approval, by someone who may
    not approve it."""

    code = "supplier-grade-approval"
    message = N_(
        "%(supplier)s has grade %(grade)s (score %(score)s): orders to this supplier need approval. Ask someone who may"
        " approve orders to low-graded suppliers to issue it."
    )
