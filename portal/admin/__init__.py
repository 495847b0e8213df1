# These modules' routes join the blueprint.
from portal.admin import api_clients, invitations, members, roles, security, security_settings, sso  # noqa: F401
from portal.admin.views import blueprint

__all__ = ["blueprint"]
