from kernel.errors import N_, NotFound


class PurchaseOrderNotFound(NotFound):
    # The same for an order that does not exist and one of another tenant or supplier
    # (row-level security hides those): nothing tells them apart.
    code = "purchase-order-not-found"
    message = N_("There is no such purchase order.")
