"""Incoming inspection, lots (where they are, their signed release), nonconformances (their
signed disposition) and inventory: the quality engineer's and the warehouse's pages."""

from portal.inventory import inspections, lots, nonconformances, stock  # noqa: F401 - routes register on import
from portal.inventory.views import blueprint

__all__ = ["blueprint"]
