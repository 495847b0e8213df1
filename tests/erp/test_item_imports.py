"""Importing items from CSV and XLSX: encodings, every bad row reported with nothing
written, creates and updates in one go, duplicates within the file, the export read
back, and the background job's run."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
import sqlalchemy as sa

from audit.models import Event
from auth.models import User
from erp.items import imports
from erp.items.imports import ImportFileInvalid, import_items, parse, run_import, start_import
from erp.items.models import Item, ItemImport
from erp.items.service import create_item
from kernel.errors import Forbidden
from kernel.uow import Actor
from tenants import service as tenants
from tenants.models import Membership
from tests.factories import actor_in, gtin, make_user, unique

HEADER = (
    "part_number,name,name_zh,category,uom,issuing_agency,udi_di,device_class,label_lot,storage_temp_min_c,storage_temp_max_c"
)


def csv_bytes(lines: list[str], *, encoding: str = "utf-8", bom: bool = False) -> bytes:
    data = "\r\n".join([HEADER, *lines]).encode(encoding)
    return (b"\xef\xbb\xbf" if bom else b"") + data


def buyer(tx, world):
    with tx.uow() as lookup:
        return actor_in(lookup, world, "buyer")


def stored(tx, world, part_number: str) -> Item | None:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        item = uow.scalar(sa.select(Item).where(Item.part_number == part_number))
        if item is not None:
            uow.session.expunge(item)
        return item


def run(tx, world, data: bytes, filename: str = "items.csv"):
    actor = buyer(tx, world)
    parsed = parse(data, filename)
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        report = import_items(uow, actor, rows=parsed.rows, encoding=parsed.encoding)
        uow.commit()
    return parsed, report


# --- encodings ---------------------------------------------------------------------------------


def test_utf8_with_a_byte_order_mark_is_read_and_named(tx, world):
    part = unique("BOM-")
    parsed, report = run(tx, world, csv_bytes([f"{part},Housing,外壳,component,EA,,,,false,,"], bom=True))
    assert parsed.encoding == "UTF-8 (BOM)" and parsed.columns[0] == "part_number"
    assert report.ok and report.created == 1
    assert stored(tx, world, part).name_zh == "外壳"


def test_gb18030_with_chinese_names_is_read_and_named(tx, world):
    part = unique("GB-")
    data = csv_bytes([f"{part},Sterile pouch,无菌包装袋,sterile_barrier,PK,,,,是,2.0,8.0"], encoding="gb18030")
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    parsed, report = run(tx, world, data)
    assert parsed.encoding == "GB18030"
    assert report.ok and report.encoding == "GB18030"
    item = stored(tx, world, part)
    assert (item.name_zh, item.label_lot, item.storage_temp_min_c, item.storage_temp_max_c) == (
        "无菌包装袋",
        True,
        Decimal("2.0"),
        Decimal("8.0"),
    )


def test_a_file_mixing_utf8_and_gb18030_lines_is_refused_naming_the_line(tx, world):
    good = f"{unique('MIX-')},Housing,外壳,component,EA,,,,,,".encode()
    bad = f"{unique('MIX-')},Pouch,包装袋,packaging,EA,,,,,,".encode("gb18030")
    data = HEADER.encode() + b"\r\n" + good + b"\r\n" + bad
    with pytest.raises(ImportFileInvalid) as info:
        parse(data, "items.csv")
    assert info.value.message == imports.MIXED and info.value.params == {"line": 3}


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", imports.EMPTY),
        (b"part_number,colour\r\nA-1,red\r\n", imports.UNKNOWN_COLUMNS),
        (b"name,category\r\nX,component\r\n", imports.NO_PART_NUMBER),
        (b"part_number,name,name\r\nA,B,C\r\n", imports.REPEATED_COLUMNS),
        (b"hello,world\r\n", imports.NO_HEADER),
        (b"\xd0\xcf\x11\xe0old excel", imports.NOT_A_TABLE),
        (b"PK\x03\x04not really a zip", imports.BAD_XLSX),
    ],
)
def test_files_that_cannot_be_read_as_a_whole_are_refused_with_a_reason(data, message):
    with pytest.raises(ImportFileInvalid) as info:
        parse(data, "items.csv")
    assert info.value.message == message


def test_a_file_too_large_or_with_too_many_rows_is_refused(monkeypatch):
    with pytest.raises(ImportFileInvalid) as info:
        parse(b"x" * (imports.MAX_BYTES + 1), "items.csv")
    assert info.value.message == imports.TOO_LARGE
    monkeypatch.setattr(imports, "MAX_ROWS", 3)
    with pytest.raises(ImportFileInvalid) as info:
        parse(csv_bytes([f"P-{n},N,,component,EA,,,,,," for n in range(4)]), "items.csv")
    assert info.value.message == imports.TOO_MANY_ROWS


# --- all or nothing -------------------------------------------------------------------------


def test_three_bad_rows_among_good_ones_are_all_reported_and_nothing_is_written(tx, world):
    parts = [unique("ROW-") for _ in range(6)]
    lines = [
        f"{parts[0]},Good one,,component,EA,,,,,,",
        f"{parts[1]},,,component,EA,,,,,,",  # row 3: no name
        f"{parts[2]},Good two,,component,EA,,,,,,",
        f"{parts[3]},Bad unit,,component,parsec,,,,maybe,,",  # row 5: unit and label_lot
        f"{parts[4]},Bad GTIN,,finished_device,EA,GS1,09506000134353,IIa,,,",  # row 6: check digit
        f"{parts[5]},Good three,,component,EA,,,,,2.0,",  # row 7: one end of the range
    ]
    _, report = run(tx, world, csv_bytes(lines))
    assert not report.ok and report.created == 0
    found = {(e.row, e.field) for e in report.errors}
    assert found == {(3, "name"), (5, "uom"), (5, "label_lot"), (6, "udi_di"), (7, "storage_temp_max_c")}
    assert report.bad_rows == 4
    assert all(stored(tx, world, part) is None for part in parts)


def test_a_good_file_creates_and_updates_in_one_go(tx, world):
    actor = buyer(tx, world)
    existing = unique("UPD-")
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        create_item(uow, actor, part_number=existing, name="Old name", category="component", uom="EA")
        uow.commit()
    new, di = unique("NEW-"), gtin()
    lines = [
        f"{existing},New name,新名称,packaging,BOX,,,,true,,",
        f"{new},Infusion set,输液器,finished_device,EA,gs1,{di},IIa,yes,2,8",
    ]
    _, report = run(tx, world, csv_bytes(lines))
    assert report.ok and (report.created, report.updated, report.unchanged) == (1, 1, 0)
    updated, created = stored(tx, world, existing), stored(tx, world, new)
    assert (updated.name, updated.name_zh, updated.category, updated.uom, updated.label_lot) == (
        "New name",
        "新名称",
        "packaging",
        "BOX",
        True,
    )
    assert (created.issuing_agency, created.udi_di, created.device_class) == ("GS1", di, "IIa")
    # The same file again changes nothing.
    _, again = run(tx, world, csv_bytes(lines))
    assert again.ok and (again.created, again.updated, again.unchanged) == (0, 0, 2)


def test_columns_left_out_keep_an_items_values(tx, world):
    actor = buyer(tx, world)
    part, di = unique("KEEP-"), gtin()
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        create_item(
            uow, actor, part_number=part, name="Set", category="finished_device", uom="EA",
            issuing_agency="GS1", udi_di=di, device_class="IIa",
        )  # fmt: skip
        uow.commit()
    _, report = run(tx, world, f"part_number,name\r\n{part},Renamed set\r\n".encode())
    assert report.ok and report.updated == 1
    item = stored(tx, world, part)
    assert (item.name, item.udi_di, item.device_class) == ("Renamed set", di, "IIa")


def test_duplicates_within_the_file_are_row_errors(tx, world):
    part, di = unique("TWICE-"), gtin()
    lines = [
        f"{part},One,,component,EA,,,,,,",
        f"{part},Two,,component,EA,,,,,,",
        f"{unique('A-')},Device A,,finished_device,EA,GS1,{di},IIa,,,",
        f"{unique('B-')},Device B,,finished_device,EA,GS1,(01){di},IIa,,,",  # the same DI, written otherwise
    ]
    _, report = run(tx, world, csv_bytes(lines))
    assert [(e.row, e.field, e.message, e.params) for e in report.errors] == [
        (3, "part_number", imports.PART_NUMBER_TWICE, {"row": 2}),
        (5, "udi_di", imports.UDI_DI_TWICE, {"row": 4}),
    ]
    assert stored(tx, world, part) is None


def test_a_udi_di_another_item_keeps_is_a_row_error(tx, world):
    actor = buyer(tx, world)
    holder, di = unique("HOLD-"), gtin()
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        create_item(
            uow, actor, part_number=holder, name="Set", category="finished_device", uom="EA",
            issuing_agency="GS1", udi_di=di, device_class="IIa",
        )  # fmt: skip
        uow.commit()
    _, report = run(tx, world, csv_bytes([f"{unique('C-')},Copy,,finished_device,EA,GS1,{di},IIa,,,"]))
    [error] = report.errors
    assert (error.row, error.field, error.params) == (2, "udi_di", {"udi_di": di, "part_number": holder})


def test_only_members_who_manage_items_may_import(tx, world):
    with tx.uow() as lookup:
        viewer = actor_in(lookup, world, "viewer")
    parsed = parse(csv_bytes([f"{unique('V-')},X,,component,EA,,,,,,"]), "items.csv")
    with tx.uow(tenant_id=world.tenant_id, actor=viewer) as uow, pytest.raises(Forbidden):
        import_items(uow, viewer, rows=parsed.rows)


def test_two_items_exchanging_udi_dis_in_one_file_are_not_written(tx, world):
    # Each row is fine on its own and no other item holds the UDI-DIs, but the first
    # update would give item A the UDI-DI item B still has: the unique index refuses it.
    actor = buyer(tx, world)
    first, second, first_di, second_di = unique("SWAP-"), unique("SWAP-"), gtin(), gtin()
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        for part, di in ((first, first_di), (second, second_di)):
            create_item(
                uow, actor, part_number=part, name="Set", category="finished_device", uom="EA",
                issuing_agency="GS1", udi_di=di, device_class="IIa",
            )  # fmt: skip
        uow.commit()
    lines = [
        f"{first},Set,,finished_device,EA,GS1,{second_di},IIa,,,",
        f"{second},Set,,finished_device,EA,GS1,{first_di},IIa,,,",
    ]
    _, report = run(tx, world, csv_bytes(lines))
    assert [(e.row, e.field, e.message) for e in report.errors] == [(0, "udi_di", imports.NOT_WRITTEN)]
    assert (report.created, report.updated, report.unchanged) == (0, 0, 0)
    assert (stored(tx, world, first).udi_di, stored(tx, world, second).udi_di) == (first_di, second_di)


# --- export and XLSX ---------------------------------------------------------------------------


def test_the_xlsx_export_imports_back_unchanged_and_edits_in_it_are_applied(tx, world):
    from openpyxl import load_workbook

    actor = buyer(tx, world)
    part, di = unique("XL-"), gtin()
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        create_item(
            uow, actor, part_number=part, name="=cmd|' /C calc'!A0", name_zh="导管", category="finished_device", uom="EA",
            issuing_agency="GS1", udi_di=di, device_class="IIb", label_serial=True,
            storage_temp_min_c="-20.0", storage_temp_max_c="-5.5", max_excursion_minutes=30,
        )  # fmt: skip
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        data = imports.export_xlsx(imports_all(uow, actor))
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == list(imports.COLUMNS)
    [mine] = [r for r in rows if r[0] == part]
    assert mine[1] == "=cmd|' /C calc'!A0"  # text, not a formula
    parsed, report = run(tx, world, data, "items.xlsx")
    assert parsed.encoding == "XLSX" and report.ok and report.created == 0 and report.updated == 0
    # Changed in the spreadsheet, then imported.
    book = load_workbook(io.BytesIO(data))
    sheet = book.worksheets[0]
    for row in sheet.iter_rows(min_row=2):
        if row[0].value == part:
            row[2].value = "中心静脉导管"
    out = io.BytesIO()
    book.save(out)
    _, report = run(tx, world, out.getvalue(), "items.xlsx")
    assert report.ok and report.updated == 1
    item = stored(tx, world, part)
    assert (item.name_zh, item.storage_temp_min_c, item.max_excursion_minutes, item.label_serial) == (
        "中心静脉导管",
        Decimal("-20.0"),
        30,
        True,
    )


def test_the_csv_export_has_every_column_and_imports_back_unchanged(tx, world):
    actor = buyer(tx, world)
    part = unique("CSV-")
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        create_item(
            uow, actor, part_number=part, name="+SUM(A1)", category="component", uom="EA",
            storage_temp_min_c="-5", storage_temp_max_c="8",
        )  # fmt: skip
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        data = imports.export_csv(imports_all(uow, actor))
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0] == ",".join(imports.COLUMNS)
    assert f"{part},'+SUM(A1)," in text and ",-5.0," in text
    _, report = run(tx, world, data)
    assert report.ok and report.updated == 0 and report.created == 0
    assert stored(tx, world, part).name == "+SUM(A1)"


def imports_all(uow, actor):
    from erp.items.service import all_items

    return all_items(uow, actor)


# --- recorded imports and the background job --------------------------------------------------------


def test_a_small_file_is_imported_at_once_and_recorded(tx, world):
    actor = buyer(tx, world)
    part = unique("REC-")
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        record = start_import(uow, actor, filename="items.csv", content=csv_bytes([f"{part},X,,component,EA,,,,,,"]))
        uow.commit()
    assert (record.status, record.total, record.done, record.encoding) == ("done", 1, 1, "UTF-8")
    assert record.report["created"] == 1 and stored(tx, world, part) is not None


def test_a_large_file_is_queued_and_the_job_imports_it_reporting_progress(tx, world, monkeypatch):
    monkeypatch.setattr(imports, "SMALL", 2)
    monkeypatch.setattr(imports, "PROGRESS_EVERY", 2)
    actor = buyer(tx, world)
    parts = [unique("JOB-") for _ in range(5)]
    data = csv_bytes([f"{p},Item {n},,component,EA,,,,,," for n, p in enumerate(parts)])
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        record = start_import(uow, actor, filename="big.csv", content=data)
        uow.commit()
    assert (record.status, record.total, record.done) == ("queued", 5, 0)
    assert stored(tx, world, parts[0]) is None

    seen = []

    def watching_uow(**kw):
        uow = tx.uow(**kw)
        seen.append(kw["actor"].name)
        return uow

    assert run_import(watching_uow, tenant_id=world.tenant_id, import_id=record.id) == "done"
    assert world.users["buyer"].email in seen  # the job acts as the person who sent the file
    with tx.uow(tenant_id=world.tenant_id) as uow:
        done = uow.session.get(ItemImport, (world.tenant_id, record.id))
        assert (done.status, done.done, done.report["created"]) == ("done", 5, 5)
    assert all(stored(tx, world, p) is not None for p in parts)
    # Run again (a retry): nothing happens.
    assert run_import(tx.uow, tenant_id=world.tenant_id, import_id=record.id) is None


def test_the_job_writes_nothing_when_a_row_is_bad(tx, world, monkeypatch):
    monkeypatch.setattr(imports, "SMALL", 1)
    actor = buyer(tx, world)
    good = unique("OK-")
    data = csv_bytes([f"{good},Fine,,component,EA,,,,,,", f"{unique('BAD-')},Bad,,toy,EA,,,,,,"])
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        record = start_import(uow, actor, filename="big.csv", content=data)
        uow.commit()
    assert run_import(tx.uow, tenant_id=world.tenant_id, import_id=record.id) == "done"
    with tx.uow(tenant_id=world.tenant_id) as uow:
        report = imports.report_of(uow.session.get(ItemImport, (world.tenant_id, record.id)))
    assert [(e.row, e.field) for e in report.errors] == [(3, "category")]
    assert stored(tx, world, good) is None


def test_imports_of_another_tenant_are_not_there(tx, world, other_world):
    actor = buyer(tx, world)
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        record = start_import(uow, actor, filename="a.csv", content=csv_bytes([f"{unique('T-')},X,,component,EA,,,,,,"]))
        uow.commit()
    other = buyer(tx, other_world)
    with tx.uow(tenant_id=other_world.tenant_id, actor=other) as uow, pytest.raises(imports.ItemImportNotFound):
        imports.get_import(uow, other, import_id=record.id)


def test_the_import_and_its_items_are_in_the_trail_with_the_file_redacted(tx, world):
    actor = buyer(tx, world)
    part = unique("AUD-")
    with tx.uow(tenant_id=world.tenant_id, actor=actor, reason="Items imported") as uow:
        record_id = start_import(uow, actor, filename="a.csv", content=csv_bytes([f"{part},X,,component,EA,,,,,,"])).id
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id) as uow:
        [event] = uow.execute(sa.select(Event.__table__).where(Event.row_id == str(record_id))).all()
        item_id = uow.scalar(sa.select(Item.id).where(Item.part_number == part))
        [item_event] = uow.execute(sa.select(Event.__table__).where(Event.row_id == str(item_id))).all()
    assert event.action == "I" and event.new_values["content"].startswith("redacted:")
    assert event.new_values["report"]["created"] == 1 and event.actor == actor.name
    assert (item_event.action, item_event.reason) == ("I", "Items imported")


def queued(tx, world, actor, parts: list[str]) -> ItemImport:
    """A file of more than SMALL rows (the caller lowers SMALL), recorded for the job."""
    data = csv_bytes([f"{p},Item {n},,component,EA,,,,,," for n, p in enumerate(parts)])
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        record = start_import(uow, actor, filename="big.csv", content=data)
        uow.commit()
    assert record.status == "queued"
    return record


def recorded(tx, world, record_id) -> tuple[str, list[tuple]]:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        record = uow.session.get(ItemImport, (world.tenant_id, record_id))
        report = imports.report_of(record)
        return record.status, [(e.row, e.field, e.message) for e in report.errors]


def new_buyer(tx, world):
    """A buyer of the world's tenant of its own (its membership and account change below)."""
    with tx.uow(tenant_id=world.tenant_id) as uow:
        user = make_user(uow)
        tenants.add_membership(uow, user=user, role="buyer")
        uow.commit()
    with tx.uow() as lookup:
        lookup.switch_tenant(None, actor=Actor(user_id=user.id, name=user.email))
        membership = next(m for m in tenants.memberships_of(lookup, user_id=user.id) if m.tenant_id == world.tenant_id)
        return user, tenants.actor_for(user, membership)


def test_a_job_failing_on_our_side_marks_the_import_failed_and_writes_nothing(tx, world, monkeypatch):
    monkeypatch.setattr(imports, "SMALL", 1)
    monkeypatch.setattr(imports, "PROGRESS_EVERY", 1)
    parts = [unique("FAIL-") for _ in range(3)]
    record = queued(tx, world, buyer(tx, world), parts)
    opened = []

    def failing_uow(**kw):
        opened.append(kw)
        if len(opened) == 3:  # the first progress step: the database goes away mid-import
            raise ConnectionError("server closed the connection unexpectedly")
        return tx.uow(**kw)

    with pytest.raises(ConnectionError):
        run_import(failing_uow, tenant_id=world.tenant_id, import_id=record.id)
    assert recorded(tx, world, record.id) == ("failed", [(0, "", imports.FAILED)])
    assert all(stored(tx, world, part) is None for part in parts)
    # A failed import is finished: the job's retry leaves it alone.
    assert run_import(tx.uow, tenant_id=world.tenant_id, import_id=record.id) is None


def test_the_job_refuses_a_sender_who_no_longer_manages_items(tx, world, monkeypatch):
    monkeypatch.setattr(imports, "SMALL", 1)
    sender, actor = new_buyer(tx, world)
    parts = [unique("ROLE-") for _ in range(2)]
    record = queued(tx, world, actor, parts)
    with tx.uow(tenant_id=world.tenant_id) as uow:  # made a viewer before the job runs
        uow.execute(sa.update(Membership).where(Membership.user_id == sender.id).values(role="viewer"))
        uow.commit()
    assert run_import(tx.uow, tenant_id=world.tenant_id, import_id=record.id) == "done"
    assert recorded(tx, world, record.id) == ("done", [(0, "", Forbidden.message)])
    assert all(stored(tx, world, part) is None for part in parts)


def test_the_job_refuses_a_sender_who_was_deactivated(tx, world, monkeypatch):
    monkeypatch.setattr(imports, "SMALL", 1)
    sender, actor = new_buyer(tx, world)
    parts = [unique("GONE-") for _ in range(2)]
    record = queued(tx, world, actor, parts)
    with tx.uow(tenant_id=world.tenant_id) as uow:
        uow.execute(sa.update(User).where(User.id == sender.id).values(is_active=False))
        uow.commit()
    assert run_import(tx.uow, tenant_id=world.tenant_id, import_id=record.id) == "done"
    assert recorded(tx, world, record.id) == ("done", [(0, "", Forbidden.message)])
    assert all(stored(tx, world, part) is None for part in parts)
