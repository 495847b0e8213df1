"""parse_code: every form a scanner or a person hands over, and each rule a bad code breaks."""

from __future__ import annotations

import datetime as dt

import pytest

from erp.gs1.errors import Gs1Invalid
from erp.gs1.parse import parse_code

TODAY = dt.date(2026, 12, 3)
GTIN = "09506000134352"  # GS1's own example GTIN
SSCC = "106141411234567897"  # GS1 General Specifications example SSCC
GS = "\x1d"

# Character values of the HIBC mod-43 check (ANSI/HIBC 2.6 table), written out here so
# the test does not check the parser's check characters with the parser's own function.
HIBC_VALUES = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ-. $/+%"


def hibc(data: str) -> str:
    """`data` ("+…") with its mod-43 check character."""
    check = HIBC_VALUES[sum(HIBC_VALUES.index(c) for c in data) % 43]
    return data + ("_" if check == " " else check)


def parse(text: str):
    return parse_code(text, today=TODAY)


def refused(text: str) -> Gs1Invalid:
    with pytest.raises(Gs1Invalid) as caught:
        parse(text)
    return caught.value


# --- GS1: each form ------------------------------------------------------------------------


def test_a_digital_link_uri_gives_key_qualifiers_and_query_data():
    code = parse(f"https://id.gs1.org/01/{GTIN}/10/ABC123/21/S1?17=261231")
    assert code.kind == "gs1" and code.symbology is None
    assert code.element_string == f"(01){GTIN}(10)ABC123(21)S1(17)261231"
    assert (code.gtin, code.di, code.lot, code.serial, code.expiry_date) == (GTIN, GTIN, "ABC123", "S1", dt.date(2026, 12, 31))
    assert [(a.ai, a.title, a.value) for a in code.ais] == [
        ("01", "GTIN", GTIN),
        ("10", "BATCH/LOT", "ABC123"),
        ("21", "SERIAL", "S1"),
        ("17", "USE BY or EXPIRY", "261231"),
    ]
    assert code.ais[3].date == dt.date(2026, 12, 31) and code.warnings == []


def test_a_digital_link_on_another_domain_with_a_path_prefix_a_short_gtin_and_link_type():
    code = parse("https://example.com/products/01/9506000134352/10/LOT%2F7?linkType=gs1:pip&11=260115")
    assert code.gtin == GTIN  # a GTIN-13 in the path, as GTIN-14
    assert code.lot == "LOT/7"  # percent-encoded in the path
    assert code.production_date == dt.date(2026, 1, 15)


def test_a_digital_link_without_a_primary_key_is_refused():
    error = refused("https://id.gs1.org/10/ABC123")
    assert error.code == "gs1-digital-link" and "/01/" in str(error)


def test_a_gs1_datamatrix_scan_with_symbology_identifier_and_gs_separators():
    code = parse(f"]d201{GTIN}17261231" + f"10ABC123{GS}21S1\r\n")
    assert code.symbology == "]d2"
    assert code.element_string == f"(01){GTIN}(17)261231(10)ABC123(21)S1"
    assert (code.lot, code.serial, code.expiry_date) == ("ABC123", "S1", dt.date(2026, 12, 31))


@pytest.mark.parametrize("separator", ["<GS>", "{GS}", "<gs>"])
def test_the_separator_as_scanner_tools_print_it(separator):
    code = parse(f"]C101{GTIN}10ABC123{separator}17261231")
    assert code.symbology == "]C1" and code.lot == "ABC123" and code.expiry_date == dt.date(2026, 12, 31)


@pytest.mark.parametrize("prefix", ["]Q3", "]e0", ""])
def test_gs1_qr_databar_and_no_symbology_identifier(prefix):
    code = parse(f"{prefix}01{GTIN}3712{GS}11260115")
    assert code.symbology == (prefix or None)
    assert (code.gtin, code.quantity, code.production_date) == (GTIN, 12, dt.date(2026, 1, 15))


def test_the_printed_form_with_parentheses_and_spaces():
    code = parse(f"(01) {GTIN} (17) 261231 (10) ABC123")
    assert code.element_string == f"(01){GTIN}(17)261231(10)ABC123"
    assert code.lot == "ABC123"


def test_full_width_parentheses_from_a_chinese_input_method():
    assert parse(f"（01）{GTIN}（10）ＡＢＣ").lot == "ABC"


def test_an_ean_13_scan_is_a_gtin():
    code = parse("]E05901234123457")
    assert code.gtin == "05901234123457" and code.element_string == "(01)05901234123457"


def test_an_sscc_with_a_good_check_digit():
    code = parse(f"(00){SSCC}")
    assert code.sscc == SSCC and code.gtin is None


def test_a_plain_datamatrix_is_refused():
    error = refused(f"]d101{GTIN}10ABC")
    assert error.code == "gs1-not-gs1-symbol" and "]d1" in str(error)
    assert error.errors == {"gs1-not-gs1-symbol": error.message}


def test_a_digital_link_in_a_plain_qr_code_is_read():
    assert parse(f"]Q1https://id.gs1.org/01/{GTIN}").gtin == GTIN


# --- GS1: dates ------------------------------------------------------------------------------


def test_day_00_is_the_last_day_of_the_month_with_a_warning():
    code = parse(f"(01){GTIN}(17)261200")
    assert code.expiry_date == dt.date(2026, 12, 31)
    [warning] = code.warnings
    assert warning.code == "gs1-day-00" and warning.params == {"ai": "17", "date": "2026-12-31"}
    assert "last day of the month, 2026-12-31" in code.rendered()["warnings"][0]["message"]


def test_day_00_of_february_in_a_leap_year():
    assert parse("(17)280200").expiry_date == dt.date(2028, 2, 29)


def test_month_13_is_refused():
    error = refused(f"(01){GTIN}(17)261300")
    assert error.code == "gs1-date"
    assert str(error) == "AI (17) holds 261300, which is not a date: there is no month 13."
    assert error.params == {"ai": "17", "value": "261300", "month": "13"}


def test_a_day_the_month_does_not_have_is_refused():
    error = refused("(11)260230")
    assert error.code == "gs1-date" and "no day 30" in str(error)


def test_a_time_of_day_that_does_not_exist_is_refused():
    assert refused("(7003)2612312560").code == "gs1-date"


def test_two_digit_years_follow_the_gs1_century_rule():
    # GenSpecs §7.12: 51–99 years ahead belongs to the previous century.
    assert parse("(11)770101").production_date == dt.date(1977, 1, 1)
    assert parse("(17)760101").expiry_date == dt.date(2076, 1, 1)


# --- GS1: what else is refused -------------------------------------------------------------------


def test_a_gtin_with_a_wrong_check_digit_names_the_right_one():
    error = refused("(01)09506000134353")
    assert error.code == "gs1-check-digit"
    assert str(error) == "The check digit of GTIN 09506000134353 in AI (01) is wrong: it should be 2."


def test_an_sscc_with_a_wrong_check_digit_names_the_right_one():
    error = refused("(00)106141411234567890")
    assert error.code == "gs1-check-digit"
    assert error.params["identifier"] == "SSCC" and error.params["expected"] == "7"


def test_a_check_digit_in_a_digital_link_is_checked_too():
    assert refused("https://id.gs1.org/01/09506000134353").code == "gs1-check-digit"


def test_a_lot_of_21_characters_is_too_long():
    error = refused(f"(01){GTIN}(10)ABCDEFGHIJKLMNOPQRSTU")
    assert error.code == "gs1-too-long"
    assert str(error) == "AI (10) allows at most 20 characters; ABCDEFGHIJKLMNOPQRSTU has 21."


def test_a_scanned_lot_running_past_20_characters_is_not_cut_at_the_limit():
    error = refused(f"]d201{GTIN}10ABCDEFGHIJKLMNOPQRSTU")
    assert error.code == "gs1-too-long" and error.params["length"] == "21"


def test_a_gtin_too_short_is_refused():
    error = refused("(01)0950600013435")
    assert error.code == "gs1-length" and error.params == {
        "ai": "01",
        "value": "0950600013435",
        "expected": "14",
        "length": "13",
    }


def test_an_unknown_ai_in_the_printed_form():
    error = refused(f"(01){GTIN}(23)12")
    assert error.code == "gs1-unknown-ai" and str(error) == "(23) is not a GS1 Application Identifier."


def test_an_unknown_ai_in_a_scan():
    error = refused(f"01{GTIN}2345")
    assert error.code == "gs1-unknown-ai" and "2345" in str(error)


def test_a_character_outside_the_gs1_set_in_a_lot():
    error = refused(f"(01){GTIN}(10)LOTé")
    assert error.code == "gs1-character" and error.params == {"ai": "10", "character": "“é”"}


def test_a_letter_in_a_numeric_ai():
    error = refused("(17)26A231")
    assert error.code == "gs1-character" and "digits only" in str(error)


def test_a_control_character_is_named_by_its_code_point():
    assert refused("(10)AB\x07C").params["character"] == "U+0007"


def test_the_same_ai_twice_with_different_values():
    assert refused(f"https://id.gs1.org/01/{GTIN}/10/A?10=B").code == "gs1-repeated-ai"


def test_a_value_that_breaks_the_ais_own_rule():
    error = refused("(4321)2")  # dangerous goods flag: 0 or 1
    assert error.code == "gs1-format" and "N4+N1" in str(error)


@pytest.mark.parametrize("text", ["", "  \r\n", "<GS>"])
def test_empty_input(text):
    assert refused(text).code == "gs1-empty"


@pytest.mark.parametrize("text", ["hello", "(01", "]X", "(01)x(", "*ABC*"])
def test_input_that_is_no_code(text):
    assert refused(text).code == "gs1-unrecognised"


# --- HIBCC ------------------------------------------------------------------------------------------


def test_hibc_primary_data():
    code = parse(hibc("+A99912345"))
    assert (code.kind, code.labeler_id, code.product_code, code.unit_of_measure, code.di) == (
        "hibcc",
        "A999",
        "1234",
        "5",
        "A99912345",
    )
    assert code.ais == [] and code.element_string is None


def test_hibc_primary_and_secondary_with_julian_expiry_date_and_lot():
    code = parse(hibc("+A99912345/$$52001510X"))
    assert (code.di, code.expiry_date, code.lot) == ("A99912345", dt.date(2020, 1, 15), "10X")


def test_hibc_secondary_with_yymmdd_lot_serial_and_production_date_in_a_code_39_caption():
    code = parse("*" + hibc("+A99912345/$$3261231LOT1/S123/16D20260101") + "*")
    assert (code.expiry_date, code.lot, code.serial, code.production_date) == (
        dt.date(2026, 12, 31),
        "LOT1",
        "123",
        dt.date(2026, 1, 1),
    )


def test_hibc_quantity_and_serial_in_place_of_the_lot():
    code = parse(hibc("+A99912345/$$+8053261231SER77"))
    assert (code.quantity, code.expiry_date, code.serial, code.lot) == (5, dt.date(2026, 12, 31), "SER77", None)


def test_hibc_month_only_date_is_the_last_day_with_a_warning():
    code = parse(hibc("+A99912345/$$0227LOT9"))
    assert code.expiry_date == dt.date(2027, 2, 28)
    assert [w.code for w in code.warnings] == ["hibc-month-only"]


def test_hibc_secondary_data_alone_with_its_link_character():
    link = hibc("+A99912345")[-1]
    code = parse(hibc(f"+$$3261231LOT1{link}"))
    assert (code.di, code.lot, code.expiry_date) == (None, "LOT1", dt.date(2026, 12, 31))


def test_hibc_with_a_wrong_check_character_names_the_right_one():
    good = hibc("+A99912345/$$52001510X")
    wrong = "3" if good[-1] != "3" else "4"
    error = refused(good[:-1] + wrong)
    assert error.code == "hibc-check"
    assert error.params == {"data": "+A99912345/$$52001510X", "expected": good[-1], "actual": wrong}


@pytest.mark.parametrize("secondary", ["$$3261301LOT1", "$$426123124LOT1", "$$526366LOT1", "$$1327LOT1", "/16D20261301"])
def test_hibc_with_a_bad_date(secondary):
    data = f"+A99912345/{secondary}" if not secondary.startswith("/") else f"+A99912345/$L1{secondary}"
    assert refused(hibc(data)).code == "hibc-date"


def test_hibc_hour_and_day_of_year_dates():
    assert parse(hibc("+A99912345/$$426123123LOT1")).expiry_date == dt.date(2026, 12, 31)
    assert parse(hibc("+A99912345/$$52806" + "0LOT1")).expiry_date == dt.date(2028, 2, 29)


def test_hibc_with_a_lot_longer_than_18():
    error = refused(hibc("+A99912345/$$7" + "L" * 19))
    assert error.code == "hibc-too-long" and error.params["length"] == "19"


def test_hibc_with_a_character_outside_code_39():
    error = refused("+A999ä12345X")
    assert error.code == "hibc-character" and error.params["character"] == "“Ä”"


def test_hibc_with_a_bad_primary():
    assert refused(hibc("+1A9912345")).code == "hibc-secondary"  # a digit first: read as secondary data
    assert refused(hibc("+A99")).code == "hibc-primary"


def test_hibc_with_unknown_secondary_data():
    assert refused(hibc("+A99912345/XYZ")).code == "hibc-secondary"
