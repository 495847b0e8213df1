"""Device identifiers: the UDI-DI of every issuing agency and the EU Basic UDI-DI.

Pure functions, no database. `normalise_udi_di` and `normalise_basic_udi_di` take what
a user typed or a scanner sent and return the one canonical form to store and compare,
or raise `InvalidUdiDi` naming the field and saying what is wrong.

Input is first folded with Unicode NFKC (full-width characters from Chinese input
methods become ASCII) and every whitespace character is removed, so "4006381 333931"
and "ＭＡ．１５６…" are read as meant.

What is verified by a check character and what is only format-checked:

=========  ==========================================  ==========================================
agency     UDI-DI                                      Basic UDI-DI (EU MDR/IVDR)
=========  ==========================================  ==========================================
GS1        GTIN, mod-10 check digit (biip)             GMN, mod-1021 check character pair
HIBCC      HIBC LIC primary data, mod-43 check char    "++" structure, mod-1021 check pair
           (when given with "+" as on the label)
ICCBBA     ISBT 128 PPIC, format only (has no check)   PPIC data + ISO/IEC 7064 mod 37-2 digits
MA         format only (check algorithm not public)    not issued (not an EU issuing entity)
AHM        format only (coding rules not public)       not issued (not an EU issuing entity)
=========  ==========================================  ==========================================

The EU's fourth issuing entity, IFA (Basic UDI-DI "PP" + supplier number + device group
code + mod-97 digits), is not one of `ISSUING_AGENCIES` yet.
"""

from __future__ import annotations

import re
import unicodedata

from biip import ParseError
from biip.checksums import gs1_standard_check_digit
from biip.gtin import Gtin
from biip.rcn import Rcn

from kernel.errors import N_, REQUIRED, ValidationFailed

GS1 = "GS1"
"""GS1 (GTIN as UDI-DI, Global Model Number as Basic UDI-DI). Accredited by the FDA,
designated by the EU, and one of the three issuing agencies of China's NMPA."""

HIBCC = "HIBCC"
"""Health Industry Business Communications Council: HIBC Labeler Identification Code
(LIC) data structures. FDA-accredited and EU-designated."""

ICCBBA = "ICCBBA"
"""ICCBBA, issuing agency of ISBT 128, for devices containing medical products of human
origin (in the US: devices with an HCT/P component). FDA-accredited and EU-designated."""

MA = "MA"
"""MA code (IDcode) of 中关村工信二维码技术研究院 (Zhongguancun Industry & Information
Research Institute of Two-dimension Code, ISO/IEC 15459 issuing agency code "MA"),
accepted by the NMPA UDI database (China only)."""

AHM = "AHM"
"""AHM code of 阿里健康科技（中国）有限公司 (Alibaba Health), accepted by the NMPA UDI
database (China only)."""

ISSUING_AGENCIES = (GS1, HIBCC, ICCBBA, MA, AHM)
"""The agencies whose device identifiers Traceport accepts."""

# Agencies that may issue a Basic UDI-DI: the EU issuing entities designated by
# Commission Implementing Decision (EU) 2019/939 (GS1, HIBCC, ICCBBA, IFA) that we accept.
BASIC_UDI_DI_AGENCIES = (GS1, HIBCC, ICCBBA)


class InvalidUdiDi(ValidationFailed):
    """A device identifier that does not follow its issuing agency's rules.

    `message` (with `params`) says what is wrong in full; `errors` names the field with a
    message without placeholders, because field errors are translated without params."""

    code = "invalid-udi-di"
    message = N_("This device identifier is not valid.")


UNKNOWN_AGENCY = N_("Choose one of the issuing agencies: GS1, HIBCC, ICCBBA, MA or AHM.")

GTIN_DIGITS = N_("A GTIN has digits only.")
GTIN_LENGTH = N_("A GTIN has 8, 12, 13 or 14 digits.")
GTIN_CHECK = N_("The check digit is wrong: expected %(expected)s.")
GTIN_CHECK_FIELD = N_("The check digit is wrong.")
GTIN_RCN = N_("This is a restricted circulation number, for use inside one company or region; it cannot identify a device.")

HIBC_FORMAT = N_(
    "Enter the HIBC device identifier as on the label: + then the labeler code (a letter and 3 letters or digits), "
    "the product number (1 to 18 letters or digits), the unit of measure (one digit) and the check character."
)
HIBC_SECONDARY = N_("Enter only the device identifier: leave out the lot, serial number and dates that follow the /.")
HIBC_CHECK = N_("The check character is wrong: expected %(expected)s.")
HIBC_CHECK_FIELD = N_("The check character is wrong.")

ICCBBA_FORMAT = N_(
    "An ISBT 128 device identifier is =/ and 16 capital letters or digits: the facility identification number (5, "
    "without the letter O), the facility-defined product code (6) and the product description code (5)."
)

MA_FORMAT = N_(
    "An MA code device identifier looks like MA.156.M0.100761.21234561: MA, the country code, the industry code, "
    "the 6-digit registrant code and the product code, separated by dots."
)
MA_WITH_PI = N_("Enter only the device identifier (the first five parts): leave out the lot, serial number and dates.")

AHM_FORMAT = N_("An AHM device identifier is MF followed by up to 13 capital letters or digits.")

NO_BASIC_UDI_DI = N_("Only GS1, HIBCC, ICCBBA and IFA issue Basic UDI-DIs (an EU identifier).")
GMN_FORMAT = N_(
    "A GS1 Basic UDI-DI (Global Model Number) is the GS1 company prefix (at least 5 digits), the model reference "
    "and 2 check characters: 8 to 25 characters in all."
)
GMN_CHARACTERS = N_("Use letters, digits and the symbols ! \" % & ' ( ) * + , - . / : ; < = > ? _ only.")
CHECK_PAIR = N_("The check characters are wrong: expected %(expected)s.")
CHECK_PAIR_FIELD = N_("The check characters are wrong.")
HIBC_BASIC_FORMAT = N_(
    "An HIBC Basic UDI-DI is ++, the labeler code (a letter and 3 letters or digits), the model identifier "
    "(1 to 17 letters or digits) and 2 check characters."
)
ICCBBA_BASIC_FORMAT = N_(
    "An ISBT 128 Basic UDI-DI is 18 capital letters or digits: the 16 characters of the device identifier "
    "(product description code 00000 for several) and 2 check digits."
)
ICCBBA_BASIC_CHECK = N_("The check digits are wrong: expected %(expected)s.")
ICCBBA_BASIC_CHECK_FIELD = N_("The check digits are wrong.")


def normalise_udi_di(agency: str, value: str | None, *, field: str = "udi_di") -> str:
    """The canonical UDI-DI of `value` issued by `agency`, or `InvalidUdiDi`.

    - GS1: the GTIN as GTIN-14 (GTIN-8/12/13 zero-padded; "(01)" before it is allowed).
      The check digit (GS1 General Specifications §7.9.1) is verified with biip.
      Restricted circulation numbers (GS1 prefixes 02, 04 and 20–29, GTIN-8 starting
      with 0 or 2; biip tells them apart) are refused: they are unique only inside a
      company or region, so they cannot be a UDI-DI.
    - HIBCC: LIC + product number + unit of measure, without the "+" flag and the check
      character: the check character "is not transmitted or stored in the database"
      (ANSI/HIBC 2.6 §2.1.2) and the FDA's GUDID stores the HIBCC DI as these 6 to 23
      characters. Entered as on the label ("+A123ABCDEFGHI1234567891E", "*…*" around it
      allowed, "_" for a space check character, ANSI/HIBC §4.1) the mod-43 check
      character is verified; entered without the "+" (as in GUDID, and as returned here)
      it has no check character and only its format is checked.
    - ICCBBA: the 16-character data content of the Processor Product Identification Code
      [Data Structure 034] (ICCBBA ST-017 §2.1), FIN(P) + facility-defined product code +
      product description code, with or without the "=/" data identifier, returned
      without it: the data identifier belongs to the bar code's data structure, not to
      the DI, and ICCBBA's Basic UDI-DI is built from the same 16 characters (ST-017
      Appendix 1). The PPIC has no check character; format only.
    - MA: "MA.<country>.<industry>.<registrant>.<product>", per the MA (IDcode) coding
      manual for medical devices: country code 3 digits (156 = China), industry code 2
      characters ("M0" for medical devices), registrant code 6 digits, product code =
      packaging code (1 digit) + item code + check character. The manual gives the item
      code 6 characters but longer ones are in use, so 3 to 20 letters or digits are
      accepted and the case is kept. The check character's algorithm is not public (codes
      are issued through the agency's service), so it is not verified.
    - AHM: "MF" and up to 13 capital letters or digits. Alibaba Health's coding rules are
      not public; this follows the one description found (a UDI parser: "MF: product DI,
      variable length, at most 13 characters without MF"). Format only; confirm against
      an NMPA UDI database record before relying on it.
    """
    agency = _agency(agency, field="issuing_agency")
    text = _clean(value)
    if not text:
        raise _invalid(field, REQUIRED)
    if agency == GS1:
        return _gtin(text, field)
    if agency == HIBCC:
        return _hibc(text.upper(), field)
    if agency == ICCBBA:
        return _ppic(text.upper(), field)
    if agency == MA:
        return _ma_code(text, field)
    return _ahm_code(text.upper(), field)


def normalise_basic_udi_di(agency: str, value: str | None, *, field: str = "basic_udi_di") -> str:
    """The canonical EU Basic UDI-DI (MDR/IVDR Annex VI Part C) of `value`, or `InvalidUdiDi`.

    MDCG 2019-1: at most 25 characters and a check digit or characters from an algorithm
    of the issuing entity. Each form below is verified by its check characters:

    - GS1: the Global Model Number (AI 8013): GS1 company prefix (at least the first 5
      characters are digits), model reference from the AI encodable character set 82,
      and 2 check characters (GS1 General Specifications, GMN check character pair:
      character values weighted by descending primes, sum mod 1021, split over two
      characters of the 32-character set "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"), as in GS1's
      own gmn-helpers, whose tests carry the GenSpecs example "1987654Ad4X4bL5ttr2310c2K".
      Case matters and is kept.
    - HIBCC: "++" + LIC (4) + model identifier (1–17) + 2 check characters "calculated
      using Mod 1021 and Mod 32" — the GMN algorithm over the whole string, which gives
      the published example "++A999MODELIDENTIFIER11S8" (EUDAMED help, "Basic UDI-DI
      generators depending on Issuing Entity"). An older HIBCC draft ("RH" + LIC + …
      + a mod-43 character) is superseded and not accepted.
    - ICCBBA: the 16 PPIC characters (product description code "00000" when the Basic
      UDI-DI covers several) + 2 digits, ISO/IEC 7064 mod 37-2 over the 16 characters
      (ICCBBA ST-017 Appendix 1, example "A9990ABC123T048008").
    - MA, AHM: refused: they are Chinese issuing agencies, not EU issuing entities.
    """
    agency = _agency(agency, field="issuing_agency")
    text = _clean(value)
    if not text:
        raise _invalid(field, REQUIRED)
    if agency not in BASIC_UDI_DI_AGENCIES:
        raise _invalid(field, NO_BASIC_UDI_DI)
    if agency == GS1:
        return _gmn(text, field)
    if agency == HIBCC:
        return _hibc_basic(text.upper(), field)
    return _iccbba_basic(text.upper(), field)


# --- shared -----------------------------------------------------------------------------


def _clean(value: str | None) -> str:
    return "".join(unicodedata.normalize("NFKC", value or "").split())


def _agency(agency: str | None, *, field: str) -> str:
    code = (agency or "").strip().upper()
    if not code:
        raise _invalid(field, REQUIRED)
    if code not in ISSUING_AGENCIES:
        raise _invalid(field, UNKNOWN_AGENCY)
    return code


def _invalid(field: str, message: str, field_message: str | None = None, **params) -> InvalidUdiDi:
    return InvalidUdiDi(message, errors={field: field_message or message}, **params)


# --- GS1: GTIN ----------------------------------------------------------------------------

DIGITS = re.compile(r"[0-9]+")


def _gtin(text: str, field: str) -> str:
    if text.startswith("(01)"):
        text = text[4:]
    if not DIGITS.fullmatch(text):
        raise _invalid(field, GTIN_DIGITS)
    if len(text) not in (8, 12, 13, 14):
        raise _invalid(field, GTIN_LENGTH)
    expected = gs1_standard_check_digit(text[:-1])
    if int(text[-1]) != expected:
        raise _invalid(field, GTIN_CHECK, GTIN_CHECK_FIELD, expected=str(expected))
    try:
        gtin = Gtin.parse(text)
    except ParseError as exc:  # checked above; biip's own rules, should they grow
        raise _invalid(field, InvalidUdiDi.message) from exc
    if isinstance(gtin, Rcn):
        raise _invalid(field, GTIN_RCN)
    return gtin.as_gtin_14()


# --- HIBCC: HIBC LIC primary data structure -------------------------------------------------

# Character values of the mod-43 check (ANSI/HIBC 2.6, the Code 39 character set).
MOD43 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%"
# LIC (a letter and 3 letters or digits), product or catalogue number (compressed to
# "A through Z and 0 through 9", ANSI/HIBC 2.6 §2.1.1; up to 18 for UDI), unit of measure.
HIBC_DI = re.compile(r"[A-Z][A-Z0-9]{3}[A-Z0-9]{1,18}[0-9]")


def hibc_check_character(data: str) -> str:
    """The HIBC mod-43 check character of `data`, which starts with the "+" flag: the sum
    of the character values modulo 43, as a character (a space is shown as "_")."""
    check = MOD43[sum(MOD43.index(c) for c in data) % 43]
    return "_" if check == " " else check


def _hibc(text: str, field: str) -> str:
    if len(text) > 2 and text[0] == text[-1] == "*":  # Code 39 caption: *…*
        text = text[1:-1]
    if "/" in text:
        raise _invalid(field, HIBC_SECONDARY)
    labelled = text.startswith("+")
    body = text[1:-1] if labelled else text
    if not HIBC_DI.fullmatch(body):
        raise _invalid(field, HIBC_FORMAT)
    if labelled:
        expected = hibc_check_character("+" + body)
        if text[-1] != expected:
            raise _invalid(field, HIBC_CHECK, HIBC_CHECK_FIELD, expected=expected)
    return body


# --- ICCBBA: ISBT 128 Processor Product Identification Code ----------------------------------

PPIC = re.compile(r"[A-NP-Z0-9]{5}[A-Z0-9]{6}[A-Z0-9]{5}")  # ST-017 §2.1: FIN(P) without "O", FPC, PDC


def _ppic(text: str, field: str) -> str:
    data = text.removeprefix("=/")
    if not PPIC.fullmatch(data):
        raise _invalid(field, ICCBBA_FORMAT)
    return data


# --- MA code (IDcode) --------------------------------------------------------------------------

MA_PARTS = (
    re.compile(r"MA"),  # issuing agency code
    re.compile(r"[0-9]{3}"),  # country code, ISO 3166 numeric (156 = China)
    re.compile(r"[A-Z0-9]{2}"),  # industry code, M0 for medical devices
    re.compile(r"[0-9]{6}"),  # registrant code
    re.compile(r"[0-9][A-Za-z0-9]{2,19}"),  # packaging code + item code + check character
)


def _ma_code(text: str, field: str) -> str:
    parts = text.split(".")
    parts[:3] = [part.upper() for part in parts[:3]]
    if len(parts) > len(MA_PARTS) and all(p.fullmatch(s) for p, s in zip(MA_PARTS, parts, strict=False)):
        raise _invalid(field, MA_WITH_PI)
    if len(parts) != len(MA_PARTS) or not all(p.fullmatch(s) for p, s in zip(MA_PARTS, parts, strict=True)):
        raise _invalid(field, MA_FORMAT)
    return ".".join(parts)


# --- AHM code ------------------------------------------------------------------------------------

AHM_DI = re.compile(r"MF[A-Z0-9]{1,13}")


def _ahm_code(text: str, field: str) -> str:
    if not AHM_DI.fullmatch(text):
        raise _invalid(field, AHM_FORMAT)
    return text


# --- Basic UDI-DI: GS1 Global Model Number and HIBCC, mod 1021 ------------------------------------

# GS1 AI encodable character set 82 in the order of the character values (GS1 gmn-helpers).
CSET82 = "!\"%&'()*+,-./0123456789:;<=>?ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
CSET32 = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
PRIMES = (83, 79, 73, 71, 67, 61, 59, 53, 47, 43, 41, 37, 31, 29, 23, 19, 17, 13, 11, 7, 5, 3, 2)


def gmn_check_characters(data: str) -> str:
    """The GS1 Global Model Number check character pair of `data` (at most 23 characters
    of character set 82): each character's value times the prime weights aligned on the
    right, summed modulo 1021, the 10-bit result split into two characters of CSET32."""
    weights = PRIMES[len(PRIMES) - len(data) :]
    total = sum(CSET82.index(c) * w for c, w in zip(data, weights, strict=True)) % 1021
    return CSET32[total // 32] + CSET32[total % 32]


def _gmn(text: str, field: str) -> str:
    if not 8 <= len(text) <= 25 or not DIGITS.fullmatch(text[:5]):
        raise _invalid(field, GMN_FORMAT)
    data, check = text[:-2], text[-2:]
    if any(c not in CSET82 for c in data):
        raise _invalid(field, GMN_CHARACTERS)
    return _check_pair(data, check, field)


HIBC_BASIC = re.compile(r"\+\+[A-Z][A-Z0-9]{3}[A-Z0-9]{1,17}")


def _hibc_basic(text: str, field: str) -> str:
    data, check = text[:-2], text[-2:]
    if not HIBC_BASIC.fullmatch(data):
        raise _invalid(field, HIBC_BASIC_FORMAT)
    return _check_pair(data, check, field)


def _check_pair(data: str, check: str, field: str) -> str:
    expected = gmn_check_characters(data)
    if check != expected:
        raise _invalid(field, CHECK_PAIR, CHECK_PAIR_FIELD, expected=expected)
    return data + check


# --- Basic UDI-DI: ICCBBA, ISO/IEC 7064 mod 37-2 ----------------------------------------------------

ISO7064 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"  # character values (ICCBBA table RT061)


def iso7064_mod37_2(data: str) -> int:
    """ISO/IEC 7064 MOD 37-2 check value (0–36) of letters and digits: ICCBBA writes it as
    two digits after a Basic UDI-DI."""
    total = 0
    for c in data:
        total = (total + ISO7064.index(c)) * 2 % 37
    return (38 - total) % 37


def _iccbba_basic(text: str, field: str) -> str:
    data, check = text[:16], text[16:]
    if len(text) != 18 or not PPIC.fullmatch(data) or not DIGITS.fullmatch(check):
        raise _invalid(field, ICCBBA_BASIC_FORMAT)
    expected = f"{iso7064_mod37_2(data):02d}"
    if check != expected:
        raise _invalid(field, ICCBBA_BASIC_CHECK, ICCBBA_BASIC_CHECK_FIELD, expected=expected)
    return text
