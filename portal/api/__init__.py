"""The JSON API under /api/v1."""

# The modules add their routes to the blueprint of views (imported for that effect).
from portal.api import asns, coldchain, epcis, gs1, purchase_orders, scorecards, suppliers, traceability, traces
from portal.api.views import blueprint

__all__ = [
    "asns", "blueprint", "coldchain", "epcis", "gs1", "purchase_orders", "scorecards", "suppliers", "traceability", "traces",
]
