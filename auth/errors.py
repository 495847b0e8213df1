from kernel.errors import N_, DomainError


class InvalidCredentials(DomainError):
    status = 401
    code = "invalid-credentials"
    # Same words whether the email is unknown or the password wrong: no enumeration.
    message = N_("The email or password is not correct.")


class NoMembership(DomainError):
    status = 403
    code = "no-membership"
    message = N_("You have no access to this organisation.")
