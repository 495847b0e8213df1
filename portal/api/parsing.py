"""Request bodies and query strings through the pydantic models that document them,
with pydantic's errors turned into per-field messages in the caller's language."""

from __future__ import annotations

from flask import request
from pydantic import BaseModel, ValidationError

from kernel.errors import N_, ValidationFailed

MESSAGES = {
    "missing": N_("This field is required."),
    "string_too_short": N_("This field is required."),
    "string_type": N_("Enter text."),
    "string_too_long": N_("This is too long."),
    "string_pattern_mismatch": N_("This value does not have the expected form."),
    "literal_error": N_("Choose one of the allowed values."),
    "enum": N_("Choose one of the allowed values."),
    "extra_forbidden": N_("This field is not expected."),
    "int_parsing": N_("Enter a whole number."),
    "int_type": N_("Enter a whole number."),
    "greater_than_equal": N_("This number is too small."),
    "less_than_equal": N_("This number is too large."),
    "decimal_parsing": N_("Enter a number."),
    "decimal_type": N_("Enter a number."),
    "decimal_max_places": N_("Use at most one decimal."),
    "decimal_max_digits": N_("This number is too large."),
    "decimal_whole_digits": N_("This number is too large."),
    "bool_parsing": N_("Enter true or false."),
    "bool_type": N_("Enter true or false."),
}
INVALID = N_("This value is not valid.")


def parse(model: type[BaseModel], data: dict):
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ValidationFailed(errors=field_errors(exc)) from exc


def field_errors(exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors():
        field = ".".join(str(part) for part in error["loc"]) or "body"
        errors.setdefault(field, MESSAGES.get(error["type"], INVALID))
    return errors


def json_body(model: type[BaseModel]):
    data = request.get_json(silent=True)
    if not isinstance(data, dict):
        raise ValidationFailed(N_("Send a JSON object in the request body."))
    return parse(model, data)


def query(model: type[BaseModel]):
    return parse(model, request.args.to_dict())
