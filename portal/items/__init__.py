from portal.items.views import blueprint

__all__ = ["blueprint"]
