"""Supplier pages on the buyer side: the suppliers, a supplier with its sites and
contacts, and its entries of the approved supplier list with their history."""

from portal.suppliers.views import blueprint

__all__ = ["blueprint"]
