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
