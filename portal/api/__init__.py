"""The JSON API under /api/v1."""

# purchase_orders adds its routes to the blueprint of views (imported for that effect).
from portal.api import purchase_orders
from portal.api.views import blueprint

__all__ = ["blueprint", "purchase_orders"]
