"""Identifiers in EPCIS documents: how our records are named on export, and read back on
capture.

Objects are named the GS1 way when the item has a GTIN (a GS1 UDI-DI): GS1 Digital Link
URIs, which EPCIS 2.0 accepts wherever an EPC URI goes and which need no GS1 company
prefix length (our item master does not keep one):

- a serialised unit: https://id.gs1.org/01/{gtin}/21/{serial}
- a lot (a class, in quantity lists): https://id.gs1.org/01/{gtin}/10/{lot}
- an item without lot: https://id.gs1.org/01/{gtin}
- a pallet or case: https://id.gs1.org/00/{sscc}

Items without a GTIN, and everything GS1 would name by a GLN (the tenant's sites and
locations, suppliers, customers, loggers: none of them carries a GLN in our model), get
a URN in the tenant's namespace, `urn:traceport:{tenant slug}:{kind}:{code}`, e.g.
`urn:traceport:demo:location:RCV-1`. Parts are %-escaped (serials and lots may hold
`/`). On capture, the EPC pure-identity URNs (urn:epc:id:sgtin, urn:epc:class:lgtin,
urn:epc:id:sscc) are read as well, and an URN of ours names an item by its part number
(whatever the tenant slug in it: partners without GTINs share part numbers).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import quote, unquote

from biip.checksums import gs1_standard_check_digit

DIGITAL_LINK = "https://id.gs1.org"
URN = "urn:traceport"

_DL = re.compile(r"^https?://[^/?#]+(?:/[^?#]*)?/01/(\d{14})(?:/22/[^/?#]+)?(?:/10/([^/?#]+))?(?:/21/([^/?#]+))?/?(?:[?#].*)?$")
_DL_SSCC = re.compile(r"^https?://[^/?#]+(?:/[^?#]*)?/00/(\d{18})/?(?:[?#].*)?$")
_SGTIN = re.compile(r"^urn:epc:id:sgtin:(\d+)\.(\d+)\.(.+)$")
_LGTIN = re.compile(r"^urn:epc:class:lgtin:(\d+)\.(\d+)\.(.+)$")
_EPC_SSCC = re.compile(r"^urn:epc:id:sscc:(\d+)\.(\d+)$")
_OURS = re.compile(r"^urn:traceport:[^:]+:(serial|lot|item):([^:]+)(?::([^:]+))?$")


def _part(value: str) -> str:
    return quote(str(value), safe="")


# --- naming (export) ---------------------------------------------------------------------


@dataclass(frozen=True)
class Namer:
    """Names for one tenant's records."""

    namespace: str  # the tenant's slug

    def urn(self, kind: str, *parts) -> str:
        return ":".join([URN, _part(self.namespace), kind, *(_part(p) for p in parts)])

    def unit(self, gtin: str | None, part_number: str, serial: str) -> str:
        if gtin:
            return f"{DIGITAL_LINK}/01/{gtin}/21/{_part(serial)}"
        return self.urn("serial", part_number, serial)

    def lot_class(self, gtin: str | None, part_number: str, lot: str | None) -> str:
        if lot is None:
            return f"{DIGITAL_LINK}/01/{gtin}" if gtin else self.urn("item", part_number)
        if gtin:
            return f"{DIGITAL_LINK}/01/{gtin}/10/{_part(lot)}"
        return self.urn("lot", part_number, lot)


def sscc_uri(sscc: str) -> str:
    return f"{DIGITAL_LINK}/00/{sscc}"


# --- reading (capture) -------------------------------------------------------------------


@dataclass(frozen=True)
class Named:
    """What a URI names: an item (by GTIN or part number), perhaps a lot or a serial; or
    an SSCC."""

    gtin: str | None = None
    part_number: str | None = None
    lot: str | None = None
    serial: str | None = None
    sscc: str | None = None


def _gtin(prefix: str, indicator_ref: str) -> str | None:
    body = indicator_ref[:1] + prefix + indicator_ref[1:]
    if len(body) != 13 or not body.isdigit():
        return None
    return body + str(gs1_standard_check_digit(body))


def read(uri: str) -> Named | None:
    """What one of the identifiers above names, or None for one we cannot place."""
    if not isinstance(uri, str):
        return None
    if m := _DL.match(uri):
        return Named(gtin=m[1], lot=unquote(m[2]) if m[2] else None, serial=unquote(m[3]) if m[3] else None)
    if m := _DL_SSCC.match(uri):
        return Named(sscc=m[1])
    if m := _SGTIN.match(uri):
        gtin = _gtin(m[1], m[2])
        return Named(gtin=gtin, serial=unquote(m[3])) if gtin else None
    if m := _LGTIN.match(uri):
        gtin = _gtin(m[1], m[2])
        return Named(gtin=gtin, lot=unquote(m[3])) if gtin else None
    if m := _EPC_SSCC.match(uri):
        body = m[2][:1] + m[1] + m[2][1:]
        if len(body) == 17 and body.isdigit():
            return Named(sscc=body + str(gs1_standard_check_digit(body)))
        return None
    if m := _OURS.match(uri):
        kind, part_number, rest = m[1], unquote(m[2]), unquote(m[3]) if m[3] else None
        if kind == "item":
            return Named(part_number=part_number)
        if rest is None:
            return None
        return Named(part_number=part_number, **({"serial": rest} if kind == "serial" else {"lot": rest}))
    return None


def code_in(uri: str, kind: str) -> str | None:
    """The code of one of our URNs of this kind (`customer`, `location`, `logger`...)."""
    if not isinstance(uri, str):
        return None
    m = re.match(rf"^urn:traceport:[^:]+:{re.escape(kind)}:([^:]+)$", uri)
    return unquote(m[1]) if m else None
