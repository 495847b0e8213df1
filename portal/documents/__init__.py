"""Certificate pages: what a supplier owes and uploads, the quality engineer's review,
certificate types and the requirement matrix, and the compliance dashboard."""

from portal.documents import certificates, dashboard, matrix  # noqa: F401 - routes register on import
from portal.documents.views import blueprint

__all__ = ["blueprint"]
