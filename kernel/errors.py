"""Domain errors. Services raise them; the web layer turns them into pages or
RFC 9457 problem details, translated with the message as the catalog key."""

from __future__ import annotations


def N_(message: str) -> str:
    """Mark a message for extraction; it is translated where it is shown."""
    return message


class DomainError(Exception):
    status = 400
    code = "invalid"
    message = N_("The request could not be processed.")

    def __init__(self, message: str | None = None, **params) -> None:
        self.message = message or self.message
        self.params = params
        super().__init__(self.message % params if params else self.message)


class NotFound(DomainError):
    status = 404
    code = "not-found"
    message = N_("Not found.")


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    message = N_("You do not have permission to do this.")


class Conflict(DomainError):
    status = 409
    code = "conflict"
    message = N_("This conflicts with the current state.")


class ValidationFailed(DomainError):
    status = 422
    code = "validation-failed"
    message = N_("Some fields are not valid.")

    def __init__(self, message: str | None = None, *, errors: dict[str, str] | None = None, **params) -> None:
        self.errors = errors or {}
        super().__init__(message, **params)


# Field messages every form shares.
REQUIRED = N_("This field is required.")
TOO_LONG = N_("This is too long.")


def checked_text(value, limit: int, field: str, errors: dict[str, str], *, required: bool = False) -> str | None:
    """A text field stripped; None when empty. An empty required field or one longer than
    `limit` leaves its message in `errors` under `field`."""
    value = value.strip() if isinstance(value, str) else None
    if not value:
        if required:
            errors[field] = REQUIRED
        return None
    if len(value) > limit:
        errors[field] = TOO_LONG
    return value
