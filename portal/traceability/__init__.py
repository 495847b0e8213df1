"""Traceability and recall: production and customer shipments (genealogy), traces from any
code, recall cases and mock recalls."""

from portal.traceability import production, recalls, trace  # noqa: F401 - routes register on import
from portal.traceability.views import blueprint

__all__ = ["blueprint"]
