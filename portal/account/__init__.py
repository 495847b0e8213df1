from portal.account import sessions  # noqa: F401 - its routes join the blueprint
from portal.account.views import blueprint

__all__ = ["blueprint"]
