"""The JSON API under /api/v1."""

# asns, gs1, purchase_orders and suppliers add their routes to the blueprint of views (imported for that effect).
from portal.api import asns, gs1, purchase_orders, suppliers
from portal.api.views import blueprint

__all__ = ["asns", "blueprint", "gs1", "purchase_orders", "suppliers"]
