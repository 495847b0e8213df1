"""GS1 labels (erp/shipping/labels.py): every symbol is a real GS1 symbol that a scanner
(zxing-cpp) reads back as the element string it was made from; bad data is refused
before anything is drawn; the PDF carries Chinese names and captions in the language
asked for.

Identifiers are made here with their GS1 check digits (biip), on GS1 prefix 950 (GS1
Global Office, used in GS1's own examples) and 690 (GS1 China)."""

from __future__ import annotations

import io
import shutil
import subprocess
import tempfile
from dataclasses import replace
from datetime import date
from pathlib import Path

import pypdf
import pytest
import zxingcpp
from biip.checksums import gs1_standard_check_digit
from biip.gs1_messages import GS1Message
from PIL import Image

from erp.items.udi import GTIN_LENGTH, InvalidUdiDi
from erp.shipping.labels import (
    AI_VALUE,
    AI_VALUE_FIELD,
    COUNT_RANGE,
    GS,
    GS1_128,
    GS1_DATAMATRIX,
    LEVEL_UNKNOWN,
    LOT_FORMAT,
    NO_CONTENTS,
    SSCC_CHECK,
    SSCC_FORMAT,
    UNKNOWN_AI,
    UNKNOWN_KIND,
    ContentLine,
    InvalidLabel,
    LogisticLabel,
    UnitLabel,
    element_string,
    hri,
    labels_pdf,
    symbol_png,
    symbol_svg,
    symbols_of,
)
from kernel.errors import ValidationFailed


def checked(body: str) -> str:
    return body + str(gs1_standard_check_digit(body))


SSCC_1 = checked("39501234567890123")
SSCC_2 = checked("39501234567890124")
GTIN_1 = checked("0950123456789")
GTIN_2 = checked("0690123400012")
SYRINGE_ZH = "一次性使用无菌注射器 5ml"
CATHETER_ZH = "中心静脉导管套件"


PALLET = LogisticLabel(
    sscc=SSCC_1,
    ship_from="Suzhou Precision Medical Co., Ltd.\n苏州精密医疗器械有限公司",
    ship_to="Acme Devices GmbH\nReceiving dock 3",
    po_numbers=["PO-2026-000123"],
    asn_number="ASN-2026-000045",
    contents=[ContentLine(GTIN_1, SYRINGE_ZH, "L2026-0815", date(2028, 8, 31), date(2026, 8, 15), 240)],
    level="pallet",
)
UNIT = UnitLabel(GTIN_1, SYRINGE_ZH, "L2026-0815", "SN000123456", date(2028, 8, 31), date(2026, 8, 15))


def homogeneous(**changes) -> LogisticLabel:
    return replace(PALLET, **changes)


def mixed() -> LogisticLabel:
    return homogeneous(
        sscc=SSCC_2,
        level="case",
        po_numbers=["PO-2026-000123", "PO-2026-000124"],
        contents=[
            ContentLine(GTIN_1, "Syringe 5 ml", "L1", None, None, 10),
            ContentLine(GTIN_2, CATHETER_ZH, "L2", date(2027, 1, 31), None, 5),
        ],
    )


def unit(**changes) -> UnitLabel:
    return replace(UNIT, **changes)


def decoded(image: Image.Image) -> list[zxingcpp.Barcode]:
    return zxingcpp.read_barcodes(image, formats=(zxingcpp.BarcodeFormat.Code128, zxingcpp.BarcodeFormat.DataMatrix))


def assert_gs1(barcode: zxingcpp.Barcode, element: str, identifier: str) -> None:
    """The scan is GS1 data of the expected symbology and carries exactly `element`,
    as bytes and as biip reads it."""
    assert barcode.content_type == zxingcpp.ContentType.GS1
    assert barcode.symbology_identifier == identifier
    scanned = barcode.bytes.decode("ascii")
    assert scanned == element
    ours, theirs = GS1Message.parse(element), GS1Message.parse(scanned)
    assert [(e.ai.ai, e.value) for e in theirs.element_strings] == [(e.ai.ai, e.value) for e in ours.element_strings]
    assert barcode.text == GS1Message.parse(element).as_hri()


# --- element strings ----------------------------------------------------------------------


def test_element_string_puts_predefined_length_ais_first_and_separates_the_others_with_gs():
    element = element_string([("10", "L1"), ("01", GTIN_1), ("21", "S9"), ("17", "280831")])
    assert element == f"01{GTIN_1}17280831" + f"10L1{GS}21S9"
    parsed = GS1Message.parse(element)
    assert [(e.ai.ai, e.value) for e in parsed.element_strings] == [("01", GTIN_1), ("17", "280831"), ("10", "L1"), ("21", "S9")]


def test_element_string_with_one_variable_ai_last_has_no_separator():
    assert element_string([("37", "24"), ("02", GTIN_1)]) == f"02{GTIN_1}3724"


@pytest.mark.parametrize(
    ("ais", "message"),
    [
        ([("0", "1")], UNKNOWN_AI),
        ([("01", "123")], AI_VALUE),  # a GTIN has 14 digits here
        ([("17", "28AB31")], AI_VALUE),
        ([("37", "123456789")], AI_VALUE),  # at most 8 digits
        ([("10", "x" * 21)], AI_VALUE),
    ],
)
def test_element_string_refuses_unknown_ais_and_values_that_do_not_fit(ais, message):
    with pytest.raises(InvalidLabel) as info:
        element_string(ais)
    assert (info.value.message, info.value.params) == (message, {"ai": ais[0][0]})
    assert "%(" not in info.value.errors["ai"]


def test_hri_puts_ais_in_parentheses_and_groups_the_sscc():
    assert hri(f"00{SSCC_1}") == f"(00) 3 95012345 67890123 {SSCC_1[-1]}"
    assert hri(f"02{GTIN_1}3724") == f"(02) {GTIN_1} (37) 24"


# --- symbols: every one decodes back as GS1 --------------------------------------------------


def test_a_homogeneous_pallet_has_content_batch_and_sscc_symbols_each_read_back_as_gs1_128():
    symbols = symbols_of(homogeneous())
    elements = [element for element, _ in symbols]
    assert elements == [
        f"02{GTIN_1}17280831" + "37240",
        "11260815" + "10L2026-0815",
        f"00{SSCC_1}",  # the SSCC lowest
    ]
    for element, png in symbols:
        (barcode,) = decoded(Image.open(io.BytesIO(png)))
        assert barcode.format == zxingcpp.BarcodeFormat.Code128
        assert_gs1(barcode, element, "]C1")


def test_a_mixed_case_carries_only_its_sscc():
    ((element, png),) = symbols_of(mixed())
    assert element == f"00{SSCC_2}"
    (barcode,) = decoded(Image.open(io.BytesIO(png)))
    assert_gs1(barcode, element, "]C1")


def test_a_case_of_an_item_without_a_gtin_carries_its_sscc_and_lists_the_item_as_text():
    label = replace(homogeneous(), contents=[replace(homogeneous().contents[0], gtin=None, item_name="Tubing set")])
    assert [element for element, _ in symbols_of(label)] == [f"00{SSCC_1}"]
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(labels_pdf([label], [], language="en"))).pages)
    assert "Tubing set" in text


def test_a_unit_label_is_one_gs1_datamatrix_with_the_udi():
    ((element, png),) = symbols_of(unit())
    assert element == f"01{GTIN_1}1126081517280831" + f"10L2026-0815{GS}21SN000123456"
    image = Image.open(io.BytesIO(png))
    assert image.width == image.height  # square ECC 200
    (barcode,) = decoded(image)
    assert barcode.format == zxingcpp.BarcodeFormat.DataMatrix
    assert_gs1(barcode, element, "]d2")


def test_a_unit_label_with_only_a_gtin_and_a_serial():
    ((element, png),) = symbols_of(unit(lot=None, expiry=None, production_date=None, serial="7"))
    assert element == f"01{GTIN_1}217"
    (barcode,) = decoded(Image.open(io.BytesIO(png)))
    assert_gs1(barcode, element, "]d2")


def test_a_gtin_12_or_13_is_encoded_as_gtin_14():
    ((element, _),) = symbols_of(unit(gtin=GTIN_1[1:], lot=None, serial=None, expiry=None, production_date=None))
    assert element == f"01{GTIN_1}"


def test_the_longest_batch_number_still_makes_a_readable_symbol():
    lot = "ABCDEFGHIJ-123456789"  # 20 characters, the most AI 10 holds
    line = ContentLine(GTIN_1, "x", lot, None, date(2026, 8, 15), 99_999_999)
    for element, png in symbols_of(homogeneous(contents=[line])):
        (barcode,) = decoded(Image.open(io.BytesIO(png)))
        assert_gs1(barcode, element, "]C1")


def test_symbol_png_refuses_an_unknown_kind_and_a_string_that_is_not_gs1():
    with pytest.raises(InvalidLabel) as info:
        symbol_png(f"00{SSCC_1}", "qr")
    assert info.value.errors == {"kind": UNKNOWN_KIND}
    with pytest.raises(InvalidLabel) as info:
        symbol_png("01123", GS1_128)
    assert info.value.errors == {"element": AI_VALUE_FIELD}


# --- bad input is refused before anything is drawn -----------------------------------------------


def refused(label, message, field, **params) -> None:
    for attempt in (lambda: symbols_of(label), lambda: labels_pdf(*_split(label), language="en")):
        with pytest.raises(ValidationFailed) as info:
            attempt()
        assert (info.value.message, info.value.params) == (message, params)
        assert field in info.value.errors and "%(" not in info.value.errors[field]


def _split(label):
    return ([label], []) if isinstance(label, LogisticLabel) else ([], [label])


def test_a_wrong_sscc_check_digit_is_refused_with_the_expected_digit():
    wrong = SSCC_1[:-1] + str((int(SSCC_1[-1]) + 1) % 10)
    refused(homogeneous(sscc=wrong), SSCC_CHECK, "sscc", expected=SSCC_1[-1])


@pytest.mark.parametrize("sscc", ["", SSCC_1[:-1], SSCC_1 + "0", "3950123456789012A8"])
def test_an_sscc_that_is_not_18_digits_is_refused(sscc):
    refused(homogeneous(sscc=sscc), SSCC_FORMAT, "sscc")


def test_a_gtin_of_the_wrong_length_is_refused_on_either_label():
    refused(unit(gtin="1234567890"), GTIN_LENGTH, "gtin")
    refused(homogeneous(contents=[ContentLine("1234567890", "x", None, None, None, 1)]), GTIN_LENGTH, "contents.0.gtin")
    with pytest.raises(InvalidUdiDi):
        symbols_of(unit(gtin="1234567890"))


def test_a_gtin_with_a_wrong_check_digit_is_refused():
    wrong = GTIN_1[:-1] + str((int(GTIN_1[-1]) + 1) % 10)
    with pytest.raises(InvalidUdiDi) as info:
        symbols_of(unit(gtin=wrong))
    assert info.value.params == {"expected": GTIN_1[-1]}


@pytest.mark.parametrize("lot", ["批号1", "L#1", "x" * 21])
def test_a_batch_or_serial_outside_gs1_characters_or_too_long_is_refused(lot):
    refused(unit(lot=lot), LOT_FORMAT, "lot")
    refused(unit(serial=lot), LOT_FORMAT, "serial")


@pytest.mark.parametrize("quantity", [0, -1, 100_000_000, True, 2.5])
def test_a_count_outside_1_to_99999999_is_refused(quantity):
    line = ContentLine(GTIN_1, "x", None, None, None, quantity)
    refused(homogeneous(contents=[line]), COUNT_RANGE, "contents.0.quantity")


def test_a_logistic_label_needs_a_level_contents_and_parties():
    refused(homogeneous(level="box"), LEVEL_UNKNOWN, "level")
    refused(homogeneous(contents=[]), NO_CONTENTS, "contents")
    refused(homogeneous(ship_to=" "), "This field is required.", "ship_to")


def test_one_bad_label_stops_the_whole_pdf():
    with pytest.raises(InvalidUdiDi):
        labels_pdf([homogeneous()], [unit(), unit(gtin="123")], language="en")


# --- the PDF ------------------------------------------------------------------------------------


def pdf_pages(pdf: bytes) -> list[pypdf.PageObject]:
    return list(pypdf.PdfReader(io.BytesIO(pdf)).pages)


def size_mm(page: pypdf.PageObject) -> tuple[int, int]:
    return round(float(page.mediabox.width) * 25.4 / 72), round(float(page.mediabox.height) * 25.4 / 72)


def test_one_page_per_label_in_its_size():
    pages = pdf_pages(labels_pdf([homogeneous(), mixed()], [unit(), unit(serial="SN2")], language="en"))
    assert [size_mm(page) for page in pages] == [(148, 210), (105, 148), (100, 50), (100, 50)]


def test_the_pdf_prints_chinese_names_and_the_human_readable_data():
    pages = pdf_pages(labels_pdf([homogeneous(), mixed()], [unit()], language="zh"))
    text = [page.extract_text() for page in pages]
    assert SYRINGE_ZH in text[0] and "苏州精密医疗器械有限公司" in text[0]
    assert CATHETER_ZH in text[1]
    assert SYRINGE_ZH in text[2]
    assert f"(00) 3 95012345 67890123 {SSCC_1[-1]}" in text[0]
    assert f"(02) {GTIN_1} (17) 280831 (37) 240" in text[0]
    assert "(21) SN000123456" in text[2]


def test_captions_follow_the_language():
    english = pdf_pages(labels_pdf([homogeneous()], [], language="en"))[0].extract_text()
    chinese = pdf_pages(labels_pdf([homogeneous()], [], language="zh"))[0].extract_text()
    assert "PURCHASE ORDERS" in english  # captions are set in capitals
    assert "采购订单" in chinese and "PURCHASE ORDERS" not in chinese
    assert "Aug 31, 2028" in english and "2028年8月31日" in chinese


def test_symbols_printed_in_the_pdf_read_back_as_gs1():
    """The PDF itself, rasterised at 300 dpi with poppler's pdftoppm, scanned page by page."""
    pdftoppm = shutil.which("pdftoppm")
    if pdftoppm is None:
        pytest.skip("pdftoppm (poppler-utils) is not installed: the symbols are checked from their PNGs only")
    logistic, units = [homogeneous(), mixed()], [unit()]
    expected = [[e for e, _ in symbols_of(label)] for label in [*logistic, *units]]
    pdf = labels_pdf(logistic, units, language="zh")
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "labels.pdf").write_bytes(pdf)
        subprocess.run([pdftoppm, "-r", "300", "-gray", "-png", "labels.pdf", "page"], cwd=folder, check=True)
        images = sorted(Path(folder).glob("page-*.png"))
        assert len(images) == len(expected)
        for image, elements in zip(images, expected, strict=True):
            found = {b.bytes.decode("ascii"): b for b in decoded(Image.open(image))}
            assert sorted(found) == sorted(elements)
            for element, barcode in found.items():
                assert_gs1(barcode, element, "]d2" if element.startswith("01") else "]C1")


def test_svg_symbols_are_sized_in_millimetres_and_narrowed_only_to_fit():
    sscc = symbol_svg(f"00{SSCC_1}", GS1_128, module_mm=0.495, height_mm=31.75, max_width_mm=138)
    assert 'width="87.120mm" height="31.750mm"' in sscc  # 176 modules with quiet zones, at 0.495 mm
    long = element_string([("11", "260815"), ("10", "ABCDEFGHIJ-123456789")])
    narrowed = symbol_svg(long, GS1_128, module_mm=0.495, height_mm=31.75, max_width_mm=138)
    assert 'width="138.000mm"' in narrowed
    assert symbol_svg(f"01{GTIN_1}", GS1_DATAMATRIX).startswith("<svg")  # no XML prolog: it sits inline in HTML
