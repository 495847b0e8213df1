"""Routes of the traceability blueprint (filled in by its work)."""

from portal.traceability.views import blueprint  # noqa: F401
