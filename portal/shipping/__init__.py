from portal.shipping import asns, imports, labels, lot_documents  # noqa: F401  (their routes are on the blueprint)
from portal.shipping.views import blueprint

__all__ = ["blueprint"]
