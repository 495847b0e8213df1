"""Cold chain: data loggers and their bindings, readings, storage conditions, alerts."""

from portal.coldchain import pages  # noqa: F401 - routes register on import
from portal.coldchain.views import blueprint

__all__ = ["blueprint"]
