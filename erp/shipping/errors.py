from kernel.errors import N_, Conflict, NotFound, ValidationFailed


class AsnNotFound(NotFound):
    # The same for an ASN that does not exist and one of another tenant or supplier.
    code = "asn-not-found"
    message = N_("There is no such ship notice.")


class AsnChanged(Conflict):
    code = "asn-changed"
    message = N_("This ship notice was changed by someone else since you opened it. Reload it and try again.")


class AsnWrongStatus(Conflict):
    code = "asn-status"
    message = N_("This cannot be done to a ship notice in its current status.")


class WarningsNotAcknowledged(ValidationFailed):
    """Submit refused until the supplier acknowledges the warnings (short shelf life)."""

    code = "asn-warnings"
    message = N_("Read the warnings and confirm that you want to ship anyway.")
