from portal.auth.views import blueprint

__all__ = ["blueprint"]
