from portal.admin.views import blueprint

__all__ = ["blueprint"]
