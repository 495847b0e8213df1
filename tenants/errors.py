from kernel.errors import N_, Conflict, Forbidden, NotFound, ValidationFailed


class TenantNotFound(NotFound):
    code = "tenant-not-found"
    message = N_("No such organisation.")


class SlugTaken(Conflict):
    code = "slug-taken"
    message = N_("The short name %(slug)s is already in use.")


class MembershipNotFound(NotFound):
    code = "membership-not-found"
    message = N_("There is no such member in this organisation.")


class OwnMembership(Forbidden):
    code = "own-membership"
    message = N_("You cannot change or revoke your own membership. Ask another administrator.")


class RoleNotGrantable(Forbidden):
    code = "role-not-grantable"
    message = N_("You cannot give the role %(role)s: it holds permissions you do not have.")


class BuyerRoleForSupplier(RoleNotGrantable):
    code = "buyer-role-for-supplier"
    message = N_("Supplier administrators can give only supplier roles, not %(role)s.")


class MemberOutranks(Forbidden):
    code = "member-outranks"
    message = N_("This member's role holds permissions you do not have, so you cannot change their access.")


class RoleDoesNotFit(ValidationFailed):
    code = "role-does-not-fit"
    message = N_("The role %(role)s is for the other side of the portal: it does not fit this member's organisation.")


class MembershipRevoked(Conflict):
    code = "membership-revoked"
    message = N_("This membership has been revoked; its role cannot be changed.")


# --- invitations ---------------------------------------------------------------------------


class InvitationInvalid(NotFound):
    code = "invitation-invalid"
    # One message for an unknown, expired, revoked or used link: no enumeration.
    message = N_("This invitation link is not valid any more. Ask the person who invited you for a new one.")


class InvitationNotFound(NotFound):
    code = "invitation-not-found"
    message = N_("There is no such invitation in this organisation.")


class InvitationClosed(Conflict):
    code = "invitation-closed"
    message = N_("This invitation has been accepted or revoked already.")


class AlreadyMember(Conflict):
    code = "already-member"
    message = N_("%(email)s is already a member of this organisation.")


class InvitationForAnotherEmail(Forbidden):
    code = "invitation-for-another-email"
    message = N_("This invitation is for another email address. Sign out, then open the link again.")


class OrganisationNotInvitable(Forbidden):
    code = "organisation-not-invitable"
    message = N_("You can invite people only into an organisation you manage.")


class SupplierCodeTaken(Conflict):
    code = "supplier-code-taken"
    message = N_("There is already a supplier with the code %(code)s.")
