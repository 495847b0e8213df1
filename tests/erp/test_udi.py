"""Device identifiers: UDI-DI of every issuing agency and the EU Basic UDI-DI.

Published examples, with where they come from:
- GTIN-13 4006381333931; GTIN-12 614141000036 and GTIN-8 96385074 (biip's documentation).
- HIBC primary data "+BLUEUNICORN7N" (ptw-udi README) and "+A123ABCDEFGHI1234567891E"
  (IDAutomation HIBCC UDI page: LIC A123, PCN ABCDEFGHI123456789, U/M 1, check E).
- ISBT 128 PPIC "=/A9997AB3456T0123" (ICCBBA ST-017 §2.1 Figure 1), "=/A9999XYZ100T0476" (ST-011).
- MA code "MA.156.M0.100761.21234561" (a public MA-code parser's tests).
- GMN "1987654Ad4X4bL5ttr2310c2K" (GS1 General Specifications, via GS1's gmn-helpers tests,
  with its edge cases); HIBC Basic UDI-DI "++A999MODELIDENTIFIER11S8" (EUDAMED help);
  ISBT 128 Basic UDI-DI "A9990ABC123T048008" (ICCBBA ST-017 Appendix 1).
"""

from __future__ import annotations

import pytest

from erp.items import udi
from erp.items.udi import (
    InvalidUdiDi,
    gmn_check_characters,
    hibc_check_character,
    iso7064_mod37_2,
    normalise_basic_udi_di,
    normalise_udi_di,
)
from kernel.errors import ValidationFailed


def fails(normalise, agency, value, message, *, field=None, field_message=None, **params) -> InvalidUdiDi:
    """`normalise(agency, value)` raises InvalidUdiDi with this message and params, and
    names `field` with a message a field error can show (no placeholders)."""
    field = field or ("udi_di" if normalise is normalise_udi_di else "basic_udi_di")
    with pytest.raises(InvalidUdiDi) as info:
        normalise(agency, value)
    error = info.value
    assert (error.message, error.params) == (message, params)
    assert error.errors == {field: field_message or message}
    assert "%(" not in error.errors[field]
    return error


# --- the error ------------------------------------------------------------------------------


def test_the_error_is_a_validation_failure_with_its_own_code():
    error = fails(normalise_udi_di, "GS1", "4006381333932", udi.GTIN_CHECK, field_message=udi.GTIN_CHECK_FIELD, expected="1")
    assert isinstance(error, ValidationFailed)
    assert (error.status, error.code) == (422, "invalid-udi-di")
    assert str(error) == "The check digit is wrong: expected 1."


def test_the_field_can_be_named():
    with pytest.raises(InvalidUdiDi) as info:
        normalise_udi_di("GS1", "", field="gtin")
    assert info.value.errors == {"gtin": udi.REQUIRED}


@pytest.mark.parametrize("normalise", [normalise_udi_di, normalise_basic_udi_di])
@pytest.mark.parametrize("value", ["", "   ", None])
def test_an_empty_identifier_is_required(normalise, value):
    fails(normalise, "GS1", value, udi.REQUIRED)


@pytest.mark.parametrize("normalise", [normalise_udi_di, normalise_basic_udi_di])
def test_an_unknown_agency_is_refused(normalise):
    fails(normalise, "IFA", "4006381333931", udi.UNKNOWN_AGENCY, field="issuing_agency")
    fails(normalise, " ", "4006381333931", udi.REQUIRED, field="issuing_agency")


def test_agencies_are_read_case_insensitively():
    assert normalise_udi_di(" gs1 ", "4006381333931") == "04006381333931"
    assert udi.ISSUING_AGENCIES == ("GS1", "HIBCC", "ICCBBA", "MA", "AHM")


# --- GS1: GTIN --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "gtin14"),
    [
        ("4006381333931", "04006381333931"),  # GTIN-13
        ("96385074", "00000096385074"),  # GTIN-8
        ("614141000036", "00614141000036"),  # GTIN-12
        ("14006381333938", "14006381333938"),  # GTIN-14, indicator 1
        ("04006381333931", "04006381333931"),  # GTIN-13 already padded
        (" 4006381 333931 ", "04006381333931"),  # spaces anywhere
        ("(01)04006381333931", "04006381333931"),  # as in the human-readable UDI
        ("４００６３８１３３３９３１", "04006381333931"),  # full-width digits
    ],
)
def test_a_gtin_becomes_a_gtin_14(value, gtin14):
    assert normalise_udi_di("GS1", value) == gtin14
    assert normalise_udi_di("GS1", gtin14) == gtin14


def test_a_wrong_gtin_check_digit_names_the_expected_one():
    fails(normalise_udi_di, "GS1", "4006381333932", udi.GTIN_CHECK, field_message=udi.GTIN_CHECK_FIELD, expected="1")
    fails(normalise_udi_di, "GS1", "96385070", udi.GTIN_CHECK, field_message=udi.GTIN_CHECK_FIELD, expected="4")
    fails(normalise_udi_di, "GS1", "14006381333930", udi.GTIN_CHECK, field_message=udi.GTIN_CHECK_FIELD, expected="8")


@pytest.mark.parametrize("value", ["40063813339A1", "4006381-333931", "(01)0400638133393X", "(10)ABC123"])
def test_a_gtin_has_digits_only(value):
    fails(normalise_udi_di, "GS1", value, udi.GTIN_DIGITS)


@pytest.mark.parametrize("value", ["1234567", "4006381333", "400638133393100", "0104006381333931"])
def test_a_gtin_has_8_12_13_or_14_digits(value):
    fails(normalise_udi_di, "GS1", value, udi.GTIN_LENGTH)


@pytest.mark.parametrize("value", ["2000000000008", "0400000000008", "02345673", "00000000000000"])
def test_a_restricted_circulation_number_is_not_a_udi_di(value):
    fails(normalise_udi_di, "GS1", value, udi.GTIN_RCN)


# --- HIBCC: HIBC LIC primary data ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "di"),
    [
        ("+BLUEUNICORN7N", "BLUEUNICORN7"),
        ("+A123ABCDEFGHI1234567891E", "A123ABCDEFGHI1234567891"),  # 18-character product number
        ("*+BLUEUNICORN7N*", "BLUEUNICORN7"),  # Code 39 caption
        ("+blueunicorn7n", "BLUEUNICORN7"),  # HIBC has capitals only
        ("+A123AE0_", "A123AE0"),  # "_" shows a space check character
        ("BLUEUNICORN7", "BLUEUNICORN7"),  # GUDID form: no flag, no check character
    ],
)
def test_an_hibc_primary_becomes_lic_product_and_unit_of_measure(value, di):
    assert normalise_udi_di("HIBCC", value) == di
    assert normalise_udi_di("HIBCC", di) == di


def test_the_hibc_mod_43_check_character_is_verified():
    assert hibc_check_character("+BLUEUNICORN7") == "N"
    assert hibc_check_character("+A123AE0") == "_"
    # The concatenated example of ANSI/HIBC 2.6 (primary, lot, supplemental expiry, check C).
    assert hibc_check_character("+E308T800206X0/$230513/14D20260413") == "C"
    fails(normalise_udi_di, "HIBCC", "+BLUEUNICORN7X", udi.HIBC_CHECK, field_message=udi.HIBC_CHECK_FIELD, expected="N")
    fails(normalise_udi_di, "HIBCC", "+BLUEUNICORN8N", udi.HIBC_CHECK, field_message=udi.HIBC_CHECK_FIELD, expected="O")
    fails(normalise_udi_di, "HIBCC", "+A123AE0$", udi.HIBC_CHECK, field_message=udi.HIBC_CHECK_FIELD, expected="_")


@pytest.mark.parametrize(
    "value",
    [
        "+BLUEUNICORNN",  # no unit of measure digit before the check character
        "+1LUEUNICORN7N",  # the LIC starts with a letter
        "+A12",  # too short
        "+A123ABCDEFGHI12345678901E",  # product number of 19
        "+A123ABC-DEF1X",  # product number compressed: letters and digits only
        "A123ABCDEFGHI1234567891E",  # label form without the +: the check character is read as the unit
        "++A999MODELIDENTIFIER11S8",  # a Basic UDI-DI
    ],
)
def test_an_hibc_identifier_out_of_shape_is_refused(value):
    fails(normalise_udi_di, "HIBCC", value, udi.HIBC_FORMAT)


def test_hibc_secondary_data_is_left_out_of_the_di():
    fails(normalise_udi_di, "HIBCC", "+E308T800206X0/$230513/14D20260413C", udi.HIBC_SECONDARY)


# --- ICCBBA: ISBT 128 PPIC --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "di"),
    [
        ("=/A9997AB3456T0123", "A9997AB3456T0123"),
        ("=/A9999XYZ100T0476", "A9999XYZ100T0476"),
        ("A9997AB3456T0123", "A9997AB3456T0123"),  # data content without the data identifier
        ("=/a9997ab3456t0123", "A9997AB3456T0123"),
    ],
)
def test_an_isbt_128_ppic_becomes_its_16_characters(value, di):
    assert normalise_udi_di("ICCBBA", value) == di
    assert normalise_udi_di("ICCBBA", di) == di


@pytest.mark.parametrize(
    "value",
    [
        "=/O9997AB3456T0123",  # no letter O in a FIN
        "=/A9997AB3456T012",  # 15 characters
        "=/A9997AB3456T01234",  # 17 characters
        "=/A9999XYZ100T0476=,000025",  # a compound message with a production identifier
        "=/A9997AB-456T0123",
    ],
)
def test_an_isbt_128_ppic_out_of_shape_is_refused(value):
    fails(normalise_udi_di, "ICCBBA", value, udi.ICCBBA_FORMAT)


# --- MA code ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "di"),
    [
        ("MA.156.M0.100761.21234561", "MA.156.M0.100761.21234561"),
        ("ma.156.m0.100761.21234561", "MA.156.M0.100761.21234561"),
        ("MA.156.M0.100011.2cscp023", "MA.156.M0.100011.2cscp023"),  # the product code keeps its case
        ("MA.156.M0.100350.01004YA10017", "MA.156.M0.100350.01004YA10017"),  # a longer item code
        ("ＭＡ．１５６．Ｍ０．１００７６１．２１２３４５６１", "MA.156.M0.100761.21234561"),  # full-width
    ],
)
def test_an_ma_code_di_is_checked_for_its_five_parts(value, di):
    assert normalise_udi_di("MA", value) == di


def test_an_ma_code_with_production_data_is_refused():
    value = "MA.156.M0.100761.21234561.Sx00008.M220117.L20220117.E220130.V220117.C3"
    fails(normalise_udi_di, "MA", value, udi.MA_WITH_PI)


@pytest.mark.parametrize(
    "value",
    [
        "MB.156.M0.100761.21234561",  # another issuing agency
        "MA.156.M0.21234561",  # a part missing
        "MA.CN.M0.100761.21234561",  # the country code is numeric
        "MA.156.M0.10076.21234561",  # registrant code of 5
        "MA.156.M0.100761.A1234561",  # the product code starts with the packaging digit
        "MA.156.M0.100761.21",  # too short for packaging, item and check
        "MA.156.M0.100761.2123456789012345678901",  # longer than 20
        "MA.156.M0.100761.2123-4561",
        "MA.156.M0.100761.",
    ],
)
def test_an_ma_code_out_of_shape_is_refused(value):
    fails(normalise_udi_di, "MA", value, udi.MA_FORMAT)


# --- AHM code ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "di"), [("MF1234567890123", "MF1234567890123"), ("mf 12ab", "MF12AB")])
def test_an_ahm_di_is_mf_and_up_to_13_letters_or_digits(value, di):
    assert normalise_udi_di("AHM", value) == di


@pytest.mark.parametrize("value", ["MF", "MF12345678901234", "1234567", "MF12-34"])
def test_an_ahm_di_out_of_shape_is_refused(value):
    fails(normalise_udi_di, "AHM", value, udi.AHM_FORMAT)


# --- Basic UDI-DI: GS1 Global Model Number ---------------------------------------------------------


@pytest.mark.parametrize(
    "value",
    [
        "1987654Ad4X4bL5ttr2310c2K",  # the GS1 General Specifications example
        "12345ANJ",  # shortest
        "12345678901234567890123NT",  # longest
        "00000!HV",  # smallest sum
        "99999zzzzzzzzzzzzzzzzzzT2",  # largest sum
        "12345_!\"%&'()*+,-./LC",  # every symbol of character set 82
        "12345_0123456789:;<=>?62",
    ],
)
def test_a_gmn_with_its_check_characters_is_kept_as_it_is(value):
    assert normalise_basic_udi_di("GS1", value) == value


def test_a_gmn_is_read_without_spaces():
    assert normalise_basic_udi_di("GS1", " 1987654 Ad4X4bL5ttr2310c 2K ") == "1987654Ad4X4bL5ttr2310c2K"


def test_the_gmn_check_character_pair_is_verified():
    assert gmn_check_characters("1987654Ad4X4bL5ttr2310c") == "2K"
    expected = {"expected": "2K"}
    for value in ("1987654Ad4X4bL5ttr2310cXK", "1987654Ad4X4bL5ttr2310c2X", "1987654Ad4X4bL5ttr2310c2k"):
        fails(normalise_basic_udi_di, "GS1", value, udi.CHECK_PAIR, field_message=udi.CHECK_PAIR_FIELD, **expected)
    # Case is part of the model reference: it is not folded, and upper case has other values.
    fails(
        normalise_basic_udi_di,
        "GS1",
        "1987654AD4X4BL5TTR2310C2K",
        udi.CHECK_PAIR,
        field_message=udi.CHECK_PAIR_FIELD,
        expected="MC",
    )


@pytest.mark.parametrize(
    "value",
    [
        "12345XX",  # shorter than 8
        "123456789012345678901234XX",  # longer than 25
        "X987654Ad4X4bL5ttr2310c2K",  # the company prefix is digits
        "1987X54Ad4X4bL5ttr2310c2K",
    ],
)
def test_a_gmn_out_of_shape_is_refused(value):
    fails(normalise_basic_udi_di, "GS1", value, udi.GMN_FORMAT)


@pytest.mark.parametrize("value", ["198765£Ad4X4bL5ttr2310c2K", "1987654Ad4X4bL5ttr2310£2K", "1987654Ad4X4b#L5tt2310c2K"])
def test_a_gmn_uses_character_set_82(value):
    fails(normalise_basic_udi_di, "GS1", value, udi.GMN_CHARACTERS)


# --- Basic UDI-DI: HIBCC and ICCBBA -----------------------------------------------------------------


def test_an_hibc_basic_udi_di_has_a_mod_1021_check_pair():
    assert normalise_basic_udi_di("HIBCC", "++A999MODELIDENTIFIER11S8") == "++A999MODELIDENTIFIER11S8"
    assert normalise_basic_udi_di("HIBCC", "++a999 modelidentifier11 s8") == "++A999MODELIDENTIFIER11S8"
    fails(
        normalise_basic_udi_di,
        "HIBCC",
        "++A999MODELIDENTIFIER11S9",
        udi.CHECK_PAIR,
        field_message=udi.CHECK_PAIR_FIELD,
        expected="S8",
    )


@pytest.mark.parametrize(
    "value",
    [
        "+A999MODELIDENTIFIER11S8",  # one +
        "++9999MODELIDENTIFIER11S8",  # the LIC starts with a letter
        "++A999MODELIDENTIFIER123S8",  # model identifier of 18
        "++A999S8",  # no model identifier
        "++A999MODEL-1S8",
        "RHE999AQ7B5F",  # HIBCC's superseded draft format
    ],
)
def test_an_hibc_basic_udi_di_out_of_shape_is_refused(value):
    fails(normalise_basic_udi_di, "HIBCC", value, udi.HIBC_BASIC_FORMAT)


def test_an_isbt_128_basic_udi_di_has_mod_37_2_check_digits():
    assert iso7064_mod37_2("A9990ABC123T0480") == 8
    assert normalise_basic_udi_di("ICCBBA", "A9990ABC123T048008") == "A9990ABC123T048008"
    assert normalise_basic_udi_di("ICCBBA", "a9990abc123t0480 08") == "A9990ABC123T048008"
    fails(
        normalise_basic_udi_di,
        "ICCBBA",
        "A9990ABC123T048009",
        udi.ICCBBA_BASIC_CHECK,
        field_message=udi.ICCBBA_BASIC_CHECK_FIELD,
        expected="08",
    )


@pytest.mark.parametrize(
    "value",
    [
        "A9990ABC123T04800",  # 17 characters
        "A9990ABC123T0480008",  # 19 characters
        "A9990ABC123T0480AB",  # the check is 2 digits
        "O9990ABC123T048008",  # no letter O in a FIN
        "=/A9990ABC123T0480",  # a UDI-DI
    ],
)
def test_an_isbt_128_basic_udi_di_out_of_shape_is_refused(value):
    fails(normalise_basic_udi_di, "ICCBBA", value, udi.ICCBBA_BASIC_FORMAT)


@pytest.mark.parametrize("agency", ["MA", "AHM"])
def test_chinese_agencies_issue_no_basic_udi_di(agency):
    fails(normalise_basic_udi_di, agency, "MA.156.M0.100761.21234561", udi.NO_BASIC_UDI_DI)
