"""What can be wrong with a scanned or typed GS1 or HIBCC code.

One error class; its `code` (the problem type of the API's problem details) says which
rule the input breaks, and its message names the AI, the value and what was expected."""

from __future__ import annotations

from kernel.errors import N_, ValidationFailed


class Gs1Invalid(ValidationFailed):
    """A code that breaks a GS1 or ANSI/HIBC rule. `errors` carries the same message
    under the problem's code, for callers that show field errors."""

    code = "gs1-invalid"
    message = N_("This code is not valid.")

    def __init__(self, message: str, *, code: str, **params) -> None:
        super().__init__(message, errors={code: message}, **params)
        self.code = code


def invalid(code: str, message: str, **params) -> Gs1Invalid:
    return Gs1Invalid(message, code=code, **params)


# --- the input as a whole --------------------------------------------------------------------

EMPTY = N_("Enter or scan a code.")
UNRECOGNISED = N_(
    "This is not a code Traceport reads: give GS1 data (scanned, or as printed with the AIs in parentheses, "
    "such as (01)09506000134352(17)261231), a GS1 Digital Link URI, or an HIBC code starting with +."
)
NOT_GS1_SYMBOL = N_(
    "The scanner reports %(symbology)s, a symbol that does not carry GS1 data: "
    "scan a GS1 DataMatrix, GS1-128 or GS1 QR Code, or set the scanner to GS1 mode."
)

# --- GS1 element strings -------------------------------------------------------------------

UNKNOWN_AI = N_("(%(ai)s) is not a GS1 Application Identifier.")
NO_AI = N_("No GS1 Application Identifier starts the data at “%(text)s”.")
NO_VALUE = N_("AI (%(ai)s) has no value.")
TOO_LONG = N_("AI (%(ai)s) allows at most %(max)s characters; %(value)s has %(length)s.")
WRONG_LENGTH = N_("AI (%(ai)s) takes exactly %(expected)s characters; %(value)s has %(length)s.")
CHARACTER_DIGITS = N_("AI (%(ai)s) takes digits only, not %(character)s.")
CHARACTER_82 = N_(
    "AI (%(ai)s) takes letters, digits and the symbols ! \" %% & ' ( ) * + , - . / : ; < = > ? _ only, not %(character)s."
)
CHARACTER_39 = N_("AI (%(ai)s) takes capital letters, digits and the symbols # - / only, not %(character)s.")
CHARACTER_64 = N_("AI (%(ai)s) takes letters, digits, - and _ only, not %(character)s.")
DATE_MONTH = N_("AI (%(ai)s) holds %(value)s, which is not a date: there is no month %(month)s.")
DATE_DAY = N_("AI (%(ai)s) holds %(value)s, which is not a date: the month has no day %(day)s.")
DATE_TIME = N_("AI (%(ai)s) holds %(value)s, which has no valid time of day.")
CHECK_DIGIT = N_("The check digit of %(identifier)s %(value)s in AI (%(ai)s) is wrong: it should be %(expected)s.")
FORMAT = N_("%(value)s does not fit AI (%(ai)s), whose format is %(format)s.")
REPEATED_AI = N_("AI (%(ai)s) is given twice with different values.")
DIGITAL_LINK_PATH = N_(
    "The path of a GS1 Digital Link URI is a primary key such as /01/ and the GTIN, then qualifiers such as "
    "/10/ and the lot, each an Application Identifier and its value."
)

# --- HIBCC ---------------------------------------------------------------------------------

HIBC_CHARACTER = N_("An HIBC code takes capital letters, digits and the symbols - . $ / + %% and space only, not %(character)s.")
HIBC_CHECK = N_("The HIBC check character of %(data)s is wrong: it should be %(expected)s, not %(actual)s.")
HIBC_PRIMARY = N_(
    "The HIBC primary data %(data)s is not the labeler code (a letter and 3 letters or digits), "
    "the product number (1 to 18 letters or digits) and the unit of measure (one digit)."
)
HIBC_SECONDARY = N_("The HIBC secondary data %(data)s does not follow ANSI/HIBC 2.6.")
HIBC_DATE = N_("The HIBC date %(value)s is not a valid date.")
HIBC_TOO_LONG = N_("The HIBC lot or serial number %(value)s has %(length)s characters; at most 18 are allowed.")

# --- warnings: the code is read, but not as the standard now wants ---------------------------------

DAY_00 = N_(
    "AI (%(ai)s) gives day 00: read as the last day of the month, %(date)s. "
    "Since 2025 GS1 wants a real day in the dates of regulated healthcare items."
)
MONTH_ONLY = N_("The HIBC date %(value)s gives only a month: read as its last day, %(date)s.")
