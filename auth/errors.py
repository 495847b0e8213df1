from kernel.errors import N_, Conflict, DomainError, Forbidden, NotFound, ValidationFailed


class InvalidCredentials(DomainError):
    status = 401
    code = "invalid-credentials"
    # Same words whether the email is unknown or the password wrong: no enumeration.
    message = N_("The email or password is not correct.")


class AccountLocked(DomainError):
    """Too many failed attempts (auth.lockout). Shown whatever the password: it tells that
    the account exists, but only after settings.login_max_failures failures on it."""

    status = 401
    code = "account-locked"
    message = N_("Too many failed attempts. Try again in %(minutes)d minutes or reset your password.")


class NoMembership(DomainError):
    status = 403
    code = "no-membership"
    message = N_("You have no access to this organisation.")


# --- roles -------------------------------------------------------------------------------


class RoleNotFound(NotFound):
    code = "role-not-found"
    message = N_("There is no such role in this organisation.")


class RoleInvalid(ValidationFailed):
    code = "role-invalid"
    message = N_("The role was not saved. Check the marked fields.")


class UnknownPermission(ValidationFailed):
    code = "unknown-permission"
    message = N_("There is no permission called %(permission)s.")


class PermissionNotForSide(ValidationFailed):
    code = "permission-not-for-side"
    message = N_("A supplier role cannot hold permissions of the buyer side, and a buyer role none of the supplier side.")


class RoleKeyTaken(ValidationFailed):
    status = 409
    code = "role-key-taken"
    message = N_("There is already a role with the key %(key)s.")


class BuiltinRoleProtected(Conflict):
    code = "builtin-role"
    message = N_("Built-in roles cannot be deleted, and their names cannot be changed; their permissions can.")


class RoleInUse(Conflict):
    code = "role-in-use"
    message = N_(
        "The role is still given to %(members)d member(s) or named in %(invitations)d invitation(s) (revoked and past"
        " ones included, which keep their role for the record). It cannot be deleted."
    )


class OwnRoleLockout(Conflict):
    code = "own-role-lockout"
    message = N_("You cannot take the permission to edit roles away from your own role: nobody could give it back.")


# --- second factor and electronic signatures ------------------------------------------


class InvalidCode(DomainError):
    status = 401
    code = "invalid-code"
    message = N_("The code is not correct, or it was already used. Enter the current code from your authenticator app.")


class SecondFactorAlreadyEnabled(Conflict):
    code = "second-factor-enabled"
    message = N_("A second factor is already set up for your account. Remove it first to set up a new one.")


class SecondFactorNotStarted(Conflict):
    code = "second-factor-not-started"
    message = N_("Start the set-up again: no authenticator key is waiting for confirmation.")


class SecondFactorNotEnabled(Conflict):
    code = "second-factor-not-enabled"
    message = N_("No second factor is set up for your account.")


class SecondFactorRequired(DomainError):
    status = 403
    code = "second-factor-required"
    message = N_("An organisation you belong to requires a second factor, so it cannot be removed.")


class SignatureRefused(DomainError):
    # 403, not 401: the signer is signed in; only this signature is refused.
    status = 403
    code = "signature-refused"
    message = N_("The signature was not recorded: the password or code is not correct.")


class UnknownMeaning(ValidationFailed):
    code = "unknown-meaning"
    message = N_("Choose what your signature means.")


# --- passwords and reset links -------------------------------------------------------------


class WeakPassword(DomainError):
    """A new password breaks a rule (auth.passwords.check_password); the message names it."""

    status = 422
    code = "weak-password"
    REASONS = {
        "too_short": N_("The password must have at least %(min_length)d characters."),
        "too_long": N_("The password must have at most %(max_length)d characters."),
        "contains_email": N_("The password must not contain your email address or the name before the @."),
        "common": N_("This password is on a list of commonly used passwords. Choose another one."),
        "guessable": N_(
            "This password is too easy to guess. Use a longer phrase of several unrelated words; avoid names, dates"
            " and patterns on the keyboard."
        ),
    }
    message = REASONS["guessable"]

    def __init__(self, *, reason: str, **params) -> None:
        self.reason = reason
        super().__init__(self.REASONS[reason], **params)


class WrongCurrentPassword(DomainError):
    status = 422
    code = "wrong-current-password"
    message = N_("Your current password is not correct.")


class ResetLinkInvalid(DomainError):
    status = 404
    code = "reset-link-invalid"
    # One message for an unknown, expired or used link: no enumeration.
    message = N_("This password reset link is not valid any more. Ask for a new one.")


# --- single sign-on ----------------------------------------------------------------------


class SsoConfigInvalid(ValidationFailed):
    code = "sso-invalid"
    message = N_("Single sign-on was not saved. Check the marked fields.")


class SsoRefused(DomainError):
    """A single sign-on that Traceport refuses; `reason` says why (for the security event)."""

    status = 403
    code = "sso-refused"
    MESSAGES = {
        "not_configured": N_("Single sign-on is not available for this organisation. Sign in with your email and password."),
        "email_missing": N_(
            "Your company account did not give Traceport an email address. Ask your administrator to release the email"
            " claim to Traceport."
        ),
        "email_unverified": N_(
            "Your company account's email address is not verified by your sign-in provider. Ask your administrator."
        ),
        "domain_not_allowed": N_("Your email domain is not allowed to sign in to this organisation with single sign-on."),
        "no_role": N_("Your company account is not given a role in Traceport. Ask your administrator for access."),
        "membership_revoked": N_("Your access to this organisation was revoked. Ask your administrator."),
        "user_inactive": N_("Your Traceport account is deactivated. Ask your administrator."),
        "supplier_member": N_(
            "Your account belongs to a supplier of this organisation. Single sign-on is for the organisation's own staff;"
            " sign in with your email and password."
        ),
        "existing_login": N_(
            "Your email address has a Traceport login already. Ask your administrator to invite it to this organisation;"
            " once you accept, you can sign in with your company account."
        ),
        "failed": N_("The sign-in with your company account could not be completed. Please start again."),
    }

    def __init__(self, reason: str, **params) -> None:
        # Reasons without a message of their own (a bad state, a provider error) share "failed".
        self.reason = reason
        super().__init__(self.MESSAGES.get(reason, self.MESSAGES["failed"]), **params)


# --- API clients -------------------------------------------------------------------------


class ApiClientNotFound(NotFound):
    code = "api-client-not-found"
    message = N_("There is no such API client in this organisation.")


class ApiClientInvalid(ValidationFailed):
    code = "api-client-invalid"
    message = N_("The API client was not saved. Check the marked fields.")


class ApiClientRevoked(Conflict):
    code = "api-client-revoked"
    message = N_("This API client is revoked. Create a new one instead.")


class ScopeNotGrantable(Forbidden):
    code = "scope-not-grantable"
    message = N_("You cannot give an API client a permission you do not hold yourself.")


class ClientAuthenticationFailed(DomainError):
    status = 401
    code = "invalid-client"
    # One message for an unknown client, a wrong secret and a revoked client.
    message = N_("The client id or secret is not correct.")


class InvalidScope(DomainError):
    status = 400
    code = "invalid-scope"
    message = N_("The requested scope is not granted to this client.")


class TokenInvalid(DomainError):
    status = 401
    code = "invalid-token"
    # One message for an unknown, expired or revoked token and a revoked client.
    message = N_("The access token is not valid: it is unknown, expired or revoked. Request a new token.")
