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


class NonconformanceNotFound(NotFound):
    # The same for one that does not exist and one of another tenant.
    code = "nonconformance-not-found"
    message = N_("There is no such nonconformance.")


class AlreadyDisposed(Conflict):
    """A nonconformance has one disposition: the material review board decided already."""

    code = "nonconformance-disposed"
    message = N_("Nonconformance %(number)s was disposed of already; it is closed.")


class NoLotToDispose(Conflict):
    """A nonconformance of several lots (a cold-chain excursion) names none: each lot is
    decided on its own page."""

    code = "nonconformance-no-lot"
    message = N_(
        "Nonconformance %(number)s names no lot, so there is no stock to act on. "
        "Decide on each lot it concerns on the lot's page."
    )


class NothingToDispose(Conflict):
    """None of the lot's stock of the item is rejected or on hold (any more)."""

    code = "nonconformance-no-stock"
    message = N_("No stock of lot %(lot)s is rejected or on hold: nonconformance %(number)s has nothing left to dispose of.")
