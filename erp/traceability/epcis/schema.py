"""GS1's EPCIS 2.0 JSON schema (EPCIS-JSON-Schema.json, draft-07, as GS1 publishes it),
with the checker built once per process on first use (never at import).

The schema leans on `format: uri` for every identifier and for the names of extension
fields (they must be URIs or compact IRIs such as `example:field`); jsonschema checks
that format only with an extra library, so the check is here: an absolute URI (a
scheme, a colon, no spaces, well-formed %-escapes). `date-time` is checked by
rfc3339-validator (a time needs its offset). What breaks the schema is reported as
{place in the document: jsonschema's message}, the place a dotted path such as
`epcisBody.eventList.2.eventTime`.
"""

from __future__ import annotations

import functools
import json
import re
from pathlib import Path

from jsonschema import Draft7Validator, FormatChecker
from jsonschema.exceptions import best_match, relevance

from kernel.errors import N_, DomainError

SCHEMA_PATH = Path(__file__).with_name("EPCIS-JSON-Schema.json")
CONTEXT = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
SCHEMA_VERSION = "2.0"
MAX_PROBLEMS = 100
MAX_MESSAGE = 300
ROOT = "document"

_URI = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:[^\s<>\"{}|\\^`]+$")
_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")


class EpcisInvalid(DomainError):
    """A document that breaks the EPCIS 2.0 schema: `errors` maps each place to what is
    wrong there. Nothing of the document is saved."""

    status = 400
    code = "epcis-invalid"
    message = N_("The document is not valid EPCIS 2.0: each problem is listed under its place in the document.")

    def __init__(self, errors: dict[str, str]) -> None:
        self.errors = errors
        super().__init__()


def is_uri(value) -> bool:
    if not isinstance(value, str):
        return True  # formats apply to strings only (the type is checked elsewhere)
    return bool(_URI.match(value)) and not _BAD_ESCAPE.search(value)


@functools.cache
def validator() -> Draft7Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    checker = FormatChecker()  # a copy of the known formats: date-time among them
    checker.checks("uri")(is_uri)
    checker.checks("uri-reference")(lambda value: not isinstance(value, str) or not re.search(r"\s", value))
    return Draft7Validator(schema, format_checker=checker)


def problems(document) -> dict[str, str]:
    """Where and how the document breaks the schema ({} when it is valid), the most
    telling message for each place, at most MAX_PROBLEMS places."""
    found: dict[str, str] = {}
    for error in sorted(validator().iter_errors(document), key=relevance):
        # For anyOf/if-then failures, the deepest, most relevant reason instead of "not
        # valid under any of the given schemas" with the whole event quoted.
        error = best_match([error])
        place = ".".join(str(part) for part in error.absolute_path) or ROOT
        message = error.message if len(error.message) <= MAX_MESSAGE else error.message[: MAX_MESSAGE - 1] + "…"
        if "%(" in message:  # shown through gettext with no parameters: keep it literal
            message = message.replace("%(", "% (")
        if place in found:
            if message not in found[place]:
                found[place] = f"{found[place]}; {message}"
            continue
        if len(found) >= MAX_PROBLEMS:
            break
        found[place] = message
    return found


def check(document) -> None:
    """Raise EpcisInvalid listing every problem unless the document is valid."""
    found = problems(document)
    if found:
        raise EpcisInvalid(found)
