"""Supplier scorecards and the compliance dashboard: the managers' and the suppliers'
pages (scoring.service, scoring.dashboard, scoring.reports)."""

from portal.scoring import dashboard, scorecards, supplier  # noqa: F401 - routes register on import
from portal.scoring.views import blueprint

__all__ = ["blueprint"]
