from portal.purchasing import change_orders, create, lists, orders, pdf, reasons, settings  # noqa: F401  (their routes are on the blueprint)
from portal.purchasing.views import blueprint

__all__ = ["blueprint"]
