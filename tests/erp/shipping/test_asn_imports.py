"""Ship notices from CSV and XLSX files: one row per unit or lot quantity, grouped into
ASN lines and packages; every bad row reported with its number and column, and nothing
written then."""

from __future__ import annotations

import io
import time
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from openpyxl import Workbook

from erp import tabular
from erp.purchasing.models import PurchaseOrder
from erp.shipping import imports, validation
from erp.shipping import service as asns
from erp.shipping.imports import AsnImportInvalid
from erp.shipping.models import Asn, AsnLine, AsnPackage, AsnSerial
from kernel.clock import utcnow
from kernel.errors import REQUIRED, Forbidden
from tests.erp.shipping.asn_support import acknowledged_order, sscc

HEADER = "po_number,po_line,sscc,level,parent_sscc,quantity,lot,production_date,expiry_date,serial"


def header(shipment) -> dict:
    today = utcnow().date()
    return {
        "ship_to_site_id": str(shipment.site_id), "ship_date": today.isoformat(),
        "expected_arrival": (today + timedelta(days=3)).isoformat(), "carrier": "SF Express", "tracking_number": "SF1",
    }


def po_number(tx, world, shipment) -> str:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return uow.scalar(sa.select(PurchaseOrder.number).where(PurchaseOrder.id == shipment.po_id))


def expiry(days: int = 400) -> str:
    return (utcnow().date() + timedelta(days=days)).isoformat()


def csv_file(lines: list[str], *, encoding: str = "utf-8") -> bytes:
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def counts(tx, world):
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return [uow.scalar(sa.select(sa.func.count()).select_from(t)) for t in (Asn, AsnPackage, AsnLine, AsnSerial)]


def run(tx, world, shipment, content: bytes, filename: str = "asn.csv", **overrides):
    supplier = shipment.who["supplier1"]
    with tx.uow(tenant_id=world.tenant_id, actor=supplier) as uow:
        saved = imports.asn_from_file(uow, supplier, content=content, filename=filename, header=header(shipment) | overrides)
        uow.commit()
        return saved


def refused(tx, world, shipment, content: bytes, filename: str = "asn.csv", **overrides) -> AsnImportInvalid:
    before = counts(tx, world)
    with pytest.raises(AsnImportInvalid) as caught:
        run(tx, world, shipment, content, filename, **overrides)
    assert counts(tx, world) == before
    return caught.value


def where(error: AsnImportInvalid) -> list[tuple[int, str, str]]:
    return [(e.row, e.field, e.message) for e in error.rows]


def detail(tx, world, shipment, saved):
    supplier = shipment.who["supplier1"]
    with tx.uow(tenant_id=world.tenant_id, actor=supplier) as uow:
        found = asns.get_asn(uow, supplier, asn_id=saved.asn.id)
        uow.commit()  # nothing to write: keeps the rows loaded after the unit of work
        return found


def good_rows(number: str, pallet: str, case1: str, case2: str) -> list[str]:
    return [
        HEADER,
        *(f"{number},10,{case1},case,{pallet},,L-1,,{expiry()},SN-{n}" for n in (1, 2, 3)),
        f"{number},20,{case2},case,{pallet},30,T-77,,,",
        f"{number},20,{case2},case,{pallet},20,T-77,,,",
    ]


def test_a_csv_file_becomes_a_draft_with_packages_lines_and_serials(tx, world):
    shipment = acknowledged_order(tx, world)
    pallet, case1, case2 = sscc(), sscc(), sscc()
    saved = run(tx, world, shipment, csv_file(good_rows(po_number(tx, world, shipment), pallet, case1, case2)))
    assert saved.asn.status == "draft" and saved.asn.carrier == "SF Express"
    found = detail(tx, world, shipment, saved)
    by_id = {p.id: p.sscc for p in found.packages}
    assert [(p.sscc, p.level, by_id.get(p.parent_id)) for p in found.packages] == [
        (pallet, "pallet", None), (case1, "case", pallet), (case2, "case", pallet),
    ]
    device, tubing = found.lines
    assert (by_id[device.package_id], device.quantity, device.lot, found.serials[device.id]) == (
        case1, 3, "L-1", ["SN-1", "SN-2", "SN-3"],
    )
    assert device.udi_di == shipment.device.udi_di
    assert (by_id[tubing.package_id], tubing.quantity, tubing.lot, found.serials.get(tubing.id)) == (case2, 50, "T-77", None)


def test_an_xlsx_file_with_date_cells_numbers_and_gs1_codes(tx, world):
    shipment = acknowledged_order(tx, world)
    pallet, case1, case2 = sscc(), sscc(), sscc()
    number = po_number(tx, world, shipment)
    day = utcnow().date() + timedelta(days=400)
    gs1 = f"(01){shipment.device.udi_di}(17){day:%y%m%d}(10)L-1(21)SN-3"
    book = Workbook()
    sheet = book.active
    sheet.append([*HEADER.split(","), "gtin", "gs1"])
    sheet.append([number, 10, case1, "case", pallet, None, "L-1", None, datetime(day.year, day.month, day.day), "SN-1"])
    sheet.append([number, 10.0, case1, "case", pallet, 1, "L-1", None, day, "SN-2", shipment.device.udi_di])
    sheet.append([number, 10, case1, "case", pallet, None, None, None, None, None, None, gs1])
    sheet.append([number, 20, case2, "case", pallet, 50, "T-77"])
    out = io.BytesIO()
    book.save(out)
    saved = run(tx, world, shipment, out.getvalue(), "asn.xlsx")
    found = detail(tx, world, shipment, saved)
    device, tubing = found.lines
    assert (device.quantity, device.expiry_date, found.serials[device.id]) == (3, day, ["SN-1", "SN-2", "SN-3"])
    assert (tubing.quantity, tubing.lot) == (50, "T-77")
    assert len(found.packages) == 3


def test_ten_thousand_rows_with_three_bad_ones_name_exactly_those_and_save_nothing(tx, world):
    shipment = acknowledged_order(tx, world, quantities=("10000", "50"))
    number = po_number(tx, world, shipment)
    pallet, cases = sscc(), [sscc() for _ in range(10)]
    good = expiry()
    rows = [HEADER]
    for n in range(10_000):
        rows.append(f"{number},10,{cases[n // 1000]},case,{pallet},,L-1,,{good},SN-{n:05d}")
    right = sscc()
    bad_sscc = right[:-1] + str((int(right[-1]) + 1) % 10)
    rows[101] = rows[101].replace(cases[0], bad_sscc)  # file row 102
    rows[5001] = rows[5001].replace("SN-05000", "SN-00007")  # file row 5002: the serial of row 9
    rows[9001] = rows[9001].replace(good, good[:5] + "13" + good[7:])  # file row 9002: month 13
    content = csv_file(rows)
    started = time.perf_counter()
    error = refused(tx, world, shipment, content)
    elapsed = time.perf_counter() - started
    print(f"\n10,000-row import refused in {elapsed:.2f} s")
    assert where(error) == [
        (102, "sscc", validation.SSCC_CHECK),
        (5002, "serial", validation.SERIAL_TWICE),
        (9002, "expiry_date", "Enter a date."),
    ]
    assert error.rows[0].params == {"digit": int(right[-1])}
    assert error.rows[1].params == {"serial": "SN-00007"}
    assert error.errors == {
        "rows.102.sscc": validation.SSCC_CHECK, "rows.5002.serial": validation.SERIAL_TWICE,
        "rows.9002.expiry_date": "Enter a date.",
    }
    assert error.params_by_field["rows.5002.serial"] == {"serial": "SN-00007"}


def test_a_good_file_of_ten_thousand_serials_is_saved(tx, world):
    shipment = acknowledged_order(tx, world, quantities=("10000", "50"))
    number = po_number(tx, world, shipment)
    pallet, case = sscc(), sscc()
    rows = [HEADER, *(f"{number},10,{case},case,{pallet},,L-1,,{expiry()},SN-{n:05d}" for n in range(10_000))]
    started = time.perf_counter()
    saved = run(tx, world, shipment, csv_file(rows))
    print(f"\n10,000-row import saved in {time.perf_counter() - started:.2f} s")
    found = detail(tx, world, shipment, saved)
    [line] = found.lines
    assert line.quantity == 10_000 and len(found.serials[line.id]) == 10_000


def test_a_lines_problem_is_on_each_of_its_rows_and_the_headers_on_row_zero(tx, world):
    shipment = acknowledged_order(tx, world)
    number = po_number(tx, world, shipment)
    pallet, case = sscc(), sscc()
    rows = [HEADER, *(f"{number},10,{case},case,{pallet},,,,{expiry()},SN-{n}" for n in (1, 2, 3))]
    error = refused(tx, world, shipment, csv_file(rows), ship_to_site_id="")
    assert where(error) == [
        (0, "ship_to_site_id", validation.NO_SITE),
        (2, "lot", validation.LOT_NEEDED),
        (3, "lot", validation.LOT_NEEDED),
        (4, "lot", validation.LOT_NEEDED),
    ]


def test_rows_wrong_on_their_own_are_named_with_their_column(tx, world):
    shipment = acknowledged_order(tx, world, quantities=("10", "100"))
    number = po_number(tx, world, shipment)
    pallet, case1, case2 = sscc(), sscc(), sscc()
    rows = [
        *good_rows(number, pallet, case1, case2),
        f"{number},30,{case2},case,{pallet},5,T-77,,,",  # no line 30
        f"{number},x,{case2},case,{pallet},5,T-77,,,",
        f"{number},20,{case2},case,{pallet},,T-77,,,",  # neither serial nor quantity
        f"{number},10,{case1},case,{pallet},2,L-1,,{expiry()},SN-9",  # a serial is one unit
        f"{number},10,{case1},case,{pallet},,L-1,,{expiry(500)},SN-8",  # the lot's dates differ
        f"{number},20,{case1},pallet,{pallet},5,T-77,,,,extra",
    ]
    error = refused(tx, world, shipment, csv_file(rows))
    assert where(error) == [
        (7, "po_line", imports.NO_ORDER_LINE),
        (8, "po_line", imports.LINE_NUMBER),
        (9, "quantity", REQUIRED),
        (10, "quantity", imports.ONE_UNIT),
        (11, "expiry_date", imports.OTHER_DATES),
        (12, "", tabular.EXTRA_CELLS),
    ]
    assert error.rows[0].params == {"order": number, "line": 30}
    assert error.rows[4].params == {"row": 2, "lot": "L-1"}


def test_a_package_given_two_levels_is_refused_on_the_later_row(tx, world):
    shipment = acknowledged_order(tx, world)
    number = po_number(tx, world, shipment)
    pallet, case1, case2 = sscc(), sscc(), sscc()
    rows = good_rows(number, pallet, case1, case2)
    rows[5] = rows[5].replace(f"{case2},case,{pallet}", f"{case2},pallet,")
    error = refused(tx, world, shipment, csv_file(rows))
    assert where(error) == [(6, "level", imports.OTHER_PACKAGE)]
    assert error.rows[0].params == {"row": 5, "sscc": case2}


def test_gs1_codes_fill_the_row_and_a_bad_or_contrary_code_is_named(tx, world):
    shipment = acknowledged_order(tx, world)
    number = po_number(tx, world, shipment)
    pallet, case = sscc(), sscc()
    day = utcnow().date() + timedelta(days=400)
    udi = shipment.device.udi_di
    wrong_digit = udi[:-1] + str((int(udi[-1]) + 1) % 10)
    rows = [
        "po_number,po_line,sscc,parent_sscc,lot,gs1",
        f"{number},10,{case},{pallet},,(01){udi}(17){day:%y%m%d}(10)L-1(21)SN-1",
        f"{number},10,{case},{pallet},,(01){wrong_digit}(17){day:%y%m%d}(10)L-1(21)SN-2",
        f"{number},10,{case},{pallet},L-2,(01){udi}(17){day:%y%m%d}(10)L-1(21)SN-3",
        f"{number},10,{case},{pallet},,(01)09506000134352(17){day:%y%m%d}(10)L-1(21)SN-4",
    ]
    error = refused(tx, world, shipment, csv_file(rows))
    assert [(row, column) for row, column, _ in where(error)] == [(3, "gs1"), (4, "gs1"), (5, "gs1")]
    assert error.rows[1].message == imports.GS1_DIFFERS
    assert error.rows[1].params == {"value": "L-1", "column": "lot", "cell": "L-2"}
    assert error.rows[2].message == validation.WRONG_ITEM
    del rows[2:]
    rows += [rows[1].replace("SN-1", f"SN-{n}") for n in (2, 3)]
    found = detail(tx, world, shipment, run(tx, world, shipment, csv_file(rows)))
    [line] = found.lines
    assert (line.lot, line.expiry_date, found.serials[line.id]) == ("L-1", day, ["SN-1", "SN-2", "SN-3"])


def test_utf8_with_a_bom_and_semicolons_and_gb18030_are_read(tx, world):
    shipment = acknowledged_order(tx, world)
    number = po_number(tx, world, shipment)
    pallet, case1, case2 = sscc(), sscc(), sscc()
    lines = [line.replace(",", ";") for line in good_rows(number, pallet, case1, case2)]
    saved = run(tx, world, shipment, tabular.BOM + csv_file(lines))
    assert len(detail(tx, world, shipment, saved).lines) == 2
    error = refused(tx, world, shipment, csv_file([HEADER, f"订单-1,10,{case1},case,,5,T-77,,,"], encoding="gb18030"))
    assert where(error) == [(2, "po_line", imports.NO_ORDER_LINE)]
    assert error.rows[0].params == {"order": "订单-1", "line": 10}


@pytest.mark.parametrize(
    ("content", "filename", "expected"),
    [
        (b"", "asn.csv", [(0, "", tabular.EMPTY, {})]),
        (csv_file([HEADER]), "asn.csv", [(0, "", imports.NO_ROWS, {})]),
        (csv_file([HEADER + ",colour,weight", "a,1,,,,,,,,,red,2"]), "asn.csv",
            [(1, "", imports.UNKNOWN_COLUMNS, {"columns": "colour, weight"})]),
        (csv_file(["sscc,serial", "1,2"]), "asn.csv",
            [(1, "", "The file lacks the columns %(columns)s. The first row must name the columns.",
              {"columns": "po_number, po_line"})]),
        (csv_file(["po_number,po_line,serial,serial", "a,1,2,3"]), "asn.csv",
            [(1, "", tabular.REPEATED_COLUMNS, {"columns": "serial"})]),
        (b"\xd0\xcf\x11\xe0old excel", "asn.xls", [(0, "", imports.NOT_A_TABLE, {})]),
        (b"PK\x03\x04not really a zip", "asn.xlsx", [(0, "", imports.BAD_XLSX, {})]),
        (b"po_number,po_line\r\n\xff\xfe\xfa,1\r\n", "asn.csv", [(0, "", tabular.NOT_TEXT, {})]),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_as_a_whole(tx, world, content, filename, expected):
    shipment = acknowledged_order(tx, world)
    error = refused(tx, world, shipment, content, filename)
    assert [(e.row, e.field, e.message, e.params) for e in error.rows] == expected


def test_too_many_rows_are_refused_before_any_check(tx, world):
    shipment = acknowledged_order(tx, world)
    rows = [HEADER, *(f"PO-1,10,,,,1,L,,,S{n}" for n in range(imports.MAX_ROWS + 1))]
    error = refused(tx, world, shipment, csv_file(rows))
    assert [(e.row, e.message, e.params) for e in error.rows] == [(0, tabular.TOO_MANY_ROWS, {"rows": "50,000"})]


def test_a_buyer_cannot_import_a_ship_notice(tx, world):
    shipment = acknowledged_order(tx, world)
    buyer = shipment.who["buyer"]
    with tx.uow(tenant_id=world.tenant_id, actor=buyer) as uow, pytest.raises(Forbidden):
        imports.asn_from_file(uow, buyer, content=csv_file([HEADER]), filename="a.csv", header=header(shipment))


@pytest.mark.parametrize("template", [imports.template_csv, imports.template_xlsx])
def test_the_templates_have_the_columns_and_an_example_row(template):
    [row] = imports.read_rows(template(), "template")
    assert tuple(row.values) == imports.COLUMNS
    assert row.number == 2 and row.values["serial"] == "SN-0001" and row.values["gtin"] == "09506000134352"
    assert validation.sscc_problem(row.values["sscc"]) is None and validation.sscc_problem(row.values["parent_sscc"]) is None
