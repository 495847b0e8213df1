from portal.home.views import blueprint

__all__ = ["blueprint"]
