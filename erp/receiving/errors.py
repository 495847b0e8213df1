from kernel.errors import N_, Conflict, NotFound, ValidationFailed


class ReceiptNotFound(NotFound):
    # The same for a receipt that does not exist and one of another tenant.
    code = "receipt-not-found"
    message = N_("There is no such receipt.")


class ReceiptClosed(Conflict):
    code = "receipt-closed"
    message = N_("This receipt is closed: nothing more can be received on it.")


class AsnNotReceivable(Conflict):
    code = "asn-not-receivable"
    message = N_("Ship notice %(number)s cannot be received: it is not submitted or on its way.")


class NothingToReceive(ValidationFailed):
    """The code on the Receiving page names no ship notice of the tenant."""

    code = "receipt-no-asn"
    message = N_("No ship notice has this package or number. Scan a pallet or case label, or type the ship notice number.")
