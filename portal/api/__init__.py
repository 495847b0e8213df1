"""The JSON API under /api/v1."""

from portal.api.views import blueprint

__all__ = ["blueprint"]
