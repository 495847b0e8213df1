"""GS1 and HIBCC codes over the API: read a scanned or typed code into its data.
Routes on the API blueprint of portal.api.views."""

from __future__ import annotations

from flask import jsonify
from flask_babel import gettext

from erp.gs1.parse import parse_code
from erp.gs1.schemas import ParsedCode, ParseIn
from portal.api.openapi import operation
from portal.api.parsing import json_body
from portal.api.views import blueprint
from portal.shell import api_identity, permission_required

# Who reads codes: whoever sees items (every built-in role of both sides holds
# items.view), and an API client of a scanner or WMS that only sends or receives goods.
# The route reads no tenant data, so a wider declaration would give nothing away either.
READERS = ("items.view", "asn.view", "asn.submit", "receipt.scan")


@blueprint.post("/gs1/parse")
@operation(
    summary="Read a GS1 or HIBCC code: AIs, GTIN or SSCC, lot, serial and dates",
    tags=("gs1",),
    body=ParseIn,
    description=(
        "Takes the code as a scanner sends it (symbology identifier ]d2, ]C1, ]Q3, ]e0; GS separators as ASCII 29, "
        "<GS> or {GS}), as printed ((01)…(17)…), a GS1 Digital Link URI, or an HIBC code (+…, mod-43 check "
        "character). A code that breaks a rule is refused with 422; the problem type names the rule "
        "(gs1-check-digit, gs1-date, gs1-too-long, gs1-length, gs1-character, gs1-unknown-ai, hibc-check, …) "
        "and the detail names the AI and value. Nothing is stored."
    ),
    responses={200: ParsedCode, 401: None, 403: None, 422: None},
)
@permission_required(*READERS)
def parse_gs1():
    api_identity()
    data = json_body(ParseIn)
    return jsonify(parse_code(data.text).rendered(gettext))
