from portal.purchasing.views import blueprint

__all__ = ["blueprint"]
