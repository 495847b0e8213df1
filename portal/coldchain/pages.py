"""Routes of the cold-chain blueprint."""

from portal.coldchain.views import blueprint  # noqa: F401
