from kernel.errors import N_, Conflict, NotFound, ValidationFailed


class PurchaseOrderNotFound(NotFound):
    # The same for an order that does not exist and one of another tenant or supplier
    # (row-level security hides those): nothing tells them apart.
    code = "purchase-order-not-found"
    message = N_("There is no such purchase order.")


class ResponseNotFound(NotFound):
    code = "po-response-not-found"
    message = N_("There is no such answer to a purchase order.")


class PurchaseOrderChanged(Conflict):
    """Optimistic concurrency: the caller's copy (revision or version) is not current."""

    code = "purchase-order-changed"
    message = N_("This purchase order was changed by someone else since you opened it. Reload it and try again.")


class WrongStatus(Conflict):
    code = "purchase-order-status"
    message = N_("This cannot be done to a purchase order in its current status.")


class NotAwaitingConfirmation(Conflict):
    code = "purchase-order-not-awaiting-confirmation"
    message = N_("This purchase order is not waiting for confirmation.")


class AlreadyDecided(Conflict):
    code = "po-response-decided"
    message = N_("This answer has been decided already.")


class TooManyRows(ValidationFailed):
    """An export of more rows than it may hold: the caller narrows the filters."""

    code = "too-many-rows"
    message = N_("More than %(limit)s purchase orders match. Narrow the filters to export them.")
