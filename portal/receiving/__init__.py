from portal.receiving import receipts  # noqa: F401  (its routes are on the blueprint)
from portal.receiving.views import blueprint

__all__ = ["blueprint"]
