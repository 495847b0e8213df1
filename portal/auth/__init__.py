# These modules' routes join the blueprint.
from portal.auth import invitations, passwords, second_factor, sso  # noqa: F401
from portal.auth.views import blueprint

__all__ = ["blueprint"]
