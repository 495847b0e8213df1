"""Errors of production records, customer shipments and customers."""

from __future__ import annotations

from kernel.errors import N_, Conflict, NotFound


class ProductionRunNotFound(NotFound):
    code = "production-run-not-found"
    message = N_("There is no such production record.")


class ShipmentNotFound(NotFound):
    code = "customer-shipment-not-found"
    message = N_("There is no such customer shipment.")


class CustomerNotFound(NotFound):
    code = "customer-not-found"
    message = N_("There is no such customer.")


class ReferenceTaken(Conflict):
    """The same reference (work order, delivery number) sent again with other content."""

    code = "reference-conflict"
    message = N_(
        "Reference %(reference)s was recorded already with other content. Use a new reference, or send the same content again."
    )
