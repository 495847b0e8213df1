"""API routes (filled in by their work)."""

from portal.api.views import blueprint  # noqa: F401
