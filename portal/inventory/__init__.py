"""Incoming inspection, lots (where they are, their signed release) and inventory: the
quality engineer's and the warehouse's pages."""

from portal.inventory import inspections, lots, stock  # noqa: F401 - routes register on import
from portal.inventory.views import blueprint

__all__ = ["blueprint"]
