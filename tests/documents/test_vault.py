"""Storing and opening files through the unit of work, on real PostgreSQL: upload
checks, encryption at rest, verification on download, and who may open what."""

from __future__ import annotations

import hashlib
import io
import struct
import tracemalloc
import uuid
import zlib

import pytest
import sqlalchemy as sa
from pypdf import PdfWriter
from pypdf.generic import ArrayObject, DictionaryObject, NameObject, TextStringObject

from auth.models import SecurityEvent
from documents.crypto import MasterKeys, encrypt_stream
from documents.errors import FileNotFound, FileTampered, KeyUnavailable
from documents.keys import data_key
from documents.models import StoredFile, TenantDataKey
from documents.vault import Vault, open_file, record_download, store_file
from kernel.errors import Forbidden, ValidationFailed
from kernel.settings import load_settings
from kernel.uow import Actor
from tests.factories import actor_in

MB = 1024 * 1024


# --- test files -------------------------------------------------------------------------------


def pdf(extra=None, *, pages: int = 1) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(200, 200)
    if extra:
        extra(writer)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def js_action(writer):
    writer._root_object[NameObject("/OpenAction")] = DictionaryObject(
        {NameObject("/S"): NameObject("/JavaScript"), NameObject("/JS"): TextStringObject("app.alert(1)")}
    )


def png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (4, 3), (200, 10, 10)).save(out, "PNG")
    return out.getvalue()


def jpeg() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (8, 8), (10, 200, 10)).save(out, "JPEG")
    return out.getvalue()


def pdf_with_object_stream(action: bytes) -> bytes:
    """A PDF 1.5 whose open action lives only inside a compressed object stream (with an
    xref stream): no byte scan of the file sees its names."""
    parts, offsets = [b"%PDF-1.5\n%\xe2\xe3\xcf\xd3\n"], {}

    def add(num: int, body: bytes) -> None:
        offsets[num] = sum(map(len, parts))
        parts.append(b"%d 0 obj\n" % num + body + b"\nendobj\n")

    add(1, b"<< /Type /Catalog /Pages 2 0 R /OpenAction 4 0 R >>")
    add(2, b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>")
    add(3, b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 100 100] >>")
    index = b"4 0 "
    packed = zlib.compress(index + action)
    add(
        5,
        b"<< /Type /ObjStm /N 1 /First %d /Filter /FlateDecode /Length %d >>\nstream\n" % (len(index), len(packed))
        + packed
        + b"\nendstream",
    )
    rows = [struct.pack(">BIH", 0, 0, 65535)]
    rows += [struct.pack(">BIH", 1, offsets[n], 0) for n in (1, 2, 3)]
    rows += [struct.pack(">BIH", 2, 5, 0)]
    rows += [struct.pack(">BIH", 1, offsets[5], 0)]
    xref_at = sum(map(len, parts))
    rows += [struct.pack(">BIH", 1, xref_at, 0)]
    table = b"".join(rows)
    parts.append(
        b"6 0 obj\n<< /Type /XRef /Size 7 /W [1 4 2] /Root 1 0 R /Length %d >>\nstream\n" % len(table)
        + table
        + b"\nendstream\nendobj\nstartxref\n%d\n%%%%EOF\n" % xref_at
    )
    return b"".join(parts)


class Zeros(io.RawIOBase):
    """A 2 GB upload that exists only as a count: read() makes zeros on demand."""

    def __init__(self, size: int) -> None:
        self.size, self.served = size, 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = min(len(buffer), self.size - self.served)
        buffer[:n] = bytes(n)
        self.served += n
        return n


# --- helpers ---------------------------------------------------------------------------------


def actor(tx, world, who: str) -> Actor:
    with tx.uow() as lookup:
        return actor_in(lookup, world, who)


def store(tx, world, vault, data: bytes, *, who="quality", filename="certificate.pdf", supplier=0) -> StoredFile:
    person = actor(tx, world, who)
    supplier_id = world.suppliers[supplier].id if supplier is not None else None
    with tx.uow(tenant_id=world.tenant_id, actor=person) as uow:
        row = store_file(uow, person, vault=vault, stream=io.BytesIO(data), filename=filename, supplier_id=supplier_id)
        uow.commit()
    return row


def refusal(tx, world, vault, data: bytes, filename="certificate.pdf") -> ValidationFailed:
    with pytest.raises(ValidationFailed) as caught:
        store(tx, world, vault, data, filename=filename)
    assert set(caught.value.errors) == {"file"}
    return caught.value


def text(error: ValidationFailed) -> str:
    return error.message % error.params if error.params else error.message


def events(tx, world, kind: str) -> list[SecurityEvent]:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        rows = list(uow.session.scalars(sa.select(SecurityEvent).where(SecurityEvent.kind == kind).order_by(SecurityEvent.id)))
        uow.session.expunge_all()  # loaded as they are: the rollback at the end expires nothing of them
        return rows


def open_as(tx, world, vault, file_id, who="quality") -> bytes:
    person = actor(tx, world, who)
    with tx.uow(tenant_id=world.tenant_id, actor=person) as uow:
        with open_file(uow, person, vault=vault, file_id=file_id) as opened:
            return opened.read()


# --- round trip -------------------------------------------------------------------------------


def test_a_pdf_is_stored_encrypted_and_opens_verified(tx, world, vault):
    data = pdf(pages=3)
    row = store(tx, world, vault, data, filename="ISO 13485 证书.pdf")
    assert (row.filename, row.content_type, row.size, row.supplier_id) == (
        "ISO 13485 证书.pdf",
        "application/pdf",
        len(data),
        world.suppliers[0].id,
    )
    assert row.storage_key.startswith(f"tenants/{world.tenant_id}/") and row.storage_key.endswith(str(row.id))
    assert row.uploaded_by == world.users["quality"].id
    assert row.sha256 == hashlib.sha256(data).hexdigest()
    stored = b"".join(vault.storage.get(row.storage_key))
    assert data not in stored and b"%PDF" not in stored
    person = actor(tx, world, "quality")
    with tx.uow(tenant_id=world.tenant_id, actor=person) as uow:
        opened = open_file(uow, person, vault=vault, file_id=row.id)
        assert (opened.filename, opened.content_type, opened.size, opened.sha256) == (
            row.filename,
            row.content_type,
            row.size,
            row.sha256,
        )
        assert b"".join(opened.chunks()) == data
        record_download(uow, person, file=opened)
        uow.commit()
    [event] = events(tx, world, "document_downloaded")
    assert event.detail["file_id"] == str(row.id) and event.detail["sha256"] == row.sha256
    assert event.user_id == world.users["quality"].id


def test_png_and_jpeg_are_accepted_by_their_bytes_whatever_the_name(tx, world, vault):
    image = store(tx, world, vault, png(), filename="scan.pdf")
    photo = store(tx, world, vault, jpeg(), filename="photo")
    assert (image.content_type, photo.content_type) == ("image/png", "image/jpeg")
    assert open_as(tx, world, vault, image.id) == png()
    assert open_as(tx, world, vault, photo.id)[:3] == b"\xff\xd8\xff"


def test_files_of_a_tenant_share_its_data_key(tx, world, other_world, vault):
    first = store(tx, world, vault, png())
    second = store(tx, world, vault, jpeg())
    foreign = store(tx, other_world, vault, png())
    assert first.data_key_id == second.data_key_id != foreign.data_key_id
    with tx.uow(tenant_id=world.tenant_id) as uow:
        row = uow.session.get(TenantDataKey, (world.tenant_id, first.data_key_id))
        assert len(row.wrapped_key) == 12 + 32 + 16 and row.master_key_id == vault.master_keys.current_id


def test_a_new_master_key_gets_a_new_data_key_and_old_files_still_open(tx, world, vault, settings):
    old = store(tx, world, vault, png())
    rotated = Vault(
        vault.storage,
        MasterKeys.from_settings(
            load_settings(SECRET_KEY=settings.secret_key, ENCRYPTION_KEYS=f"new-key-material,{settings.secret_key}")
        ),
        vault.max_upload_bytes,
    )
    # ENCRYPTION_KEYS with the old secret listed second: the same derived master key.
    assert vault.master_keys.current_id in rotated.master_keys.ids
    new = store(tx, world, rotated, jpeg())
    assert new.data_key_id != old.data_key_id
    assert open_as(tx, world, rotated, old.id) == png()
    # A server that lost the old master key cannot read the old file, and says why.
    lost = Vault(
        vault.storage, MasterKeys.from_settings(load_settings(ENCRYPTION_KEYS="new-key-material")), vault.max_upload_bytes
    )
    assert open_as(tx, world, lost, new.id)[:3] == b"\xff\xd8\xff"
    with pytest.raises(KeyUnavailable):
        open_as(tx, world, lost, old.id)


# --- refusals ----------------------------------------------------------------------------------


def test_a_program_renamed_pdf_is_refused_naming_what_it_is(tx, world, vault):
    exe = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + bytes(200)
    error = refusal(tx, world, vault, exe, filename="certificate.pdf")
    assert text(error) == "This file is a program (exe), not a document. Only these types are accepted: PDF, PNG, JPEG."
    assert error.errors["file"] == error.message  # the field shows the same message


def test_other_types_are_refused_by_their_bytes(tx, world, vault):
    gif = b"GIF89a\x01\x00\x01\x00\x00\x00\x00;"
    assert text(refusal(tx, world, vault, gif, filename="x.png")).startswith("This file is a GIF file.")
    zip_ = b"PK\x03\x04" + bytes(60)
    assert "ZIP" in text(refusal(tx, world, vault, zip_))
    plain = b"A certificate, honestly.\n"
    assert text(refusal(tx, world, vault, plain)).startswith("The type of this file could not be recognised.")
    elf = b"\x7fELF\x02\x01\x01" + bytes(100)
    assert "program (ELF)" in text(refusal(tx, world, vault, elf))


def test_an_image_may_be_refused_where_only_pdf_is_allowed(tx, world, vault):
    person = actor(tx, world, "quality")
    with tx.uow(tenant_id=world.tenant_id, actor=person) as uow, pytest.raises(ValidationFailed) as caught:
        store_file(uow, person, vault=vault, stream=io.BytesIO(png()), filename="a.png", supplier_id=None, allowed=("pdf",))
    assert text(caught.value) == "This file is a PNG file. Only these types are accepted: PDF."


def test_an_empty_file_is_refused(tx, world, vault):
    assert text(refusal(tx, world, vault, b"")) == "The file is empty."


def test_a_2_gb_upload_is_refused_while_streaming_in_little_memory(tx, world, vault):
    # A limit well above the memory asked for: holding what was read would show.
    vault = Vault(vault.storage, vault.master_keys, max_upload_bytes=32 * MB)
    upload = Zeros(2 * 1024 * MB)
    person = actor(tx, world, "quality")
    with tx.uow(tenant_id=world.tenant_id, actor=person) as uow:
        tracemalloc.start()
        try:
            with pytest.raises(ValidationFailed) as caught:
                store_file(uow, person, vault=vault, stream=io.BufferedReader(upload, MB), filename="huge.pdf", supplier_id=None)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert uow.session.scalars(sa.select(StoredFile)).all() == []
    assert text(caught.value) == "The file is larger than 32 MB."
    assert upload.served <= vault.max_upload_bytes + 2 * MB  # stopped at the limit (and the reader's buffer)
    assert peak < 5 * MB, f"peak {peak / MB:.1f} MB"


def test_a_file_at_the_limit_is_accepted_and_one_byte_more_refused(tx, world, vault):
    small = Vault(vault.storage, vault.master_keys, max_upload_bytes=len(png()))
    person = actor(tx, world, "quality")
    with tx.uow(tenant_id=world.tenant_id, actor=person) as uow:
        store_file(uow, person, vault=small, stream=io.BytesIO(png()), filename="a.png", supplier_id=None)
        with pytest.raises(ValidationFailed):
            store_file(uow, person, vault=small, stream=io.BytesIO(png() + b"\0"), filename="a.png", supplier_id=None)


def test_a_pdf_with_javascript_is_refused(tx, world, vault):
    error = refusal(tx, world, vault, pdf(js_action))
    assert text(error).startswith("This PDF contains active content (JS, JavaScript)")


def test_escaped_names_do_not_hide_javascript(tx, world, vault):
    data = pdf(js_action).replace(b"/JavaScript", b"/J#61vaScript").replace(b"/JS ", b"/#4AS ")
    assert b"/JavaScript" not in data and b"/JS " not in data
    assert "JavaScript" in text(refusal(tx, world, vault, data))


def test_javascript_inside_a_compressed_object_stream_is_refused(tx, world, vault):
    data = pdf_with_object_stream(b"<< /S /JavaScript /JS (app.alert(1)) >>")
    assert b"JavaScript" not in data
    assert "JavaScript" in text(refusal(tx, world, vault, data))
    # The same file with a harmless action in its object stream is accepted.
    harmless = pdf_with_object_stream(b"<< /S /GoTo /D [3 0 R /Fit] >>")
    assert store(tx, world, vault, harmless).content_type == "application/pdf"


def test_an_object_outside_the_cross_reference_is_still_scanned(tx, world, vault):
    data = pdf() + b"9 0 obj\n<< /S /Launch /F (calc.exe) >>\nendobj\n"
    assert "Launch" in text(refusal(tx, world, vault, data))


def test_embedded_files_and_automatic_actions_are_refused(tx, world, vault):
    attached = pdf(lambda w: w.add_attachment("payload.txt", b"hello"))
    assert "EmbeddedFile" in text(refusal(tx, world, vault, attached))

    def page_action(writer):
        writer.pages[0][NameObject("/AA")] = DictionaryObject(
            {NameObject("/O"): DictionaryObject({NameObject("/S"): NameObject("/Launch")})}
        )

    assert "AA" in text(refusal(tx, world, vault, pdf(page_action)))


def test_ordinary_pdf_features_are_accepted(tx, world, vault):
    def go_to_first_page(writer):
        writer._root_object[NameObject("/OpenAction")] = ArrayObject([writer.pages[0].indirect_reference, NameObject("/Fit")])

    def binary_content(writer):
        # Stream bytes that happen to spell active names are data, not names.
        writer.pages[0].replace_contents(writer._add_object(_stream(b"% /JS /AA /JavaScript /Launch\n")))

    assert store(tx, world, vault, pdf(go_to_first_page)).content_type == "application/pdf"
    assert store(tx, world, vault, pdf(binary_content)).content_type == "application/pdf"


def _stream(data: bytes):
    from pypdf.generic import DecodedStreamObject

    stream = DecodedStreamObject()
    stream.set_data(data)
    return stream


def test_an_encrypted_pdf_is_refused(tx, world, vault):
    def lock(writer):
        writer.encrypt(user_password="", owner_password="owner", algorithm="AES-256")

    error = refusal(tx, world, vault, pdf(lock))
    assert text(error) == "This PDF is encrypted or protected by a password. Upload a copy without a password."
    assert "encrypted" in text(refusal(tx, world, vault, pdf(lambda w: w.encrypt("secret", algorithm="RC4-128"))))


def test_a_damaged_pdf_is_refused(tx, world, vault):
    assert text(refusal(tx, world, vault, b"%PDF-1.7\n" + bytes(50))) == "This PDF could not be read; it may be damaged."


# --- tampering ---------------------------------------------------------------------------------


def test_altered_stored_bytes_are_detected_recorded_and_not_served(tx, world, vault):
    row = store(tx, world, vault, pdf())
    path = vault.storage.path(row.storage_key)
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x40
    path.write_bytes(bytes(raw))
    with pytest.raises(FileTampered) as caught:
        open_as_keeping_events(tx, world, vault, row.id)
    assert caught.value.message.startswith("This file's stored copy was altered or damaged")
    [event] = events(tx, world, "file_tampered")
    assert event.severity == "critical" and event.detail["file_id"] == str(row.id)
    assert event.detail["reason"] == "authentication_failed"


def open_as_keeping_events(tx, world, vault, file_id, who="quality"):
    """As a download view does: the failed open's security event is committed."""
    person = actor(tx, world, who)
    with tx.uow(tenant_id=world.tenant_id, actor=person) as uow:
        try:
            return open_file(uow, person, vault=vault, file_id=file_id)
        finally:
            uow.commit()


def test_a_validly_encrypted_substitute_fails_the_hash(tx, world, vault):
    """Someone with the data key re-encrypts other content under the same file id: the
    tag passes, the SHA-256 in the row does not."""
    row = store(tx, world, vault, pdf())
    with tx.uow(tenant_id=world.tenant_id) as uow:
        key = data_key(uow, vault, row.data_key_id)
    vault.storage.put(row.storage_key, encrypt_stream([pdf(pages=2)], key=key, file_id=row.id))
    with pytest.raises(FileTampered):
        open_as_keeping_events(tx, world, vault, row.id)
    assert events(tx, world, "file_tampered")[-1].detail["reason"] in ("size_mismatch", "hash_mismatch")
    # Same size, other bytes: the hash alone catches it.
    original = pdf()
    same_size = original.replace(b"pypdf", b"pyPDF")
    assert len(same_size) == len(original) and same_size != original
    vault.storage.put(row.storage_key, encrypt_stream([same_size], key=key, file_id=row.id))
    with pytest.raises(FileTampered):
        open_as_keeping_events(tx, world, vault, row.id)
    assert events(tx, world, "file_tampered")[-1].detail["reason"] == "hash_mismatch"


def test_a_missing_object_is_reported_as_damage(tx, world, vault):
    row = store(tx, world, vault, png())
    vault.storage.delete(row.storage_key)
    with pytest.raises(FileTampered):
        open_as_keeping_events(tx, world, vault, row.id)
    assert events(tx, world, "file_tampered")[-1].detail["reason"] == "missing"


def test_another_files_object_in_its_place_is_detected(tx, world, vault):
    first, second = store(tx, world, vault, png()), store(tx, world, vault, jpeg())
    vault.storage.put(first.storage_key, vault.storage.get(second.storage_key))
    with pytest.raises(FileTampered):
        open_as_keeping_events(tx, world, vault, first.id)


# --- who may open what ---------------------------------------------------------------------------


def test_another_tenant_cannot_open_the_file(tx, world, other_world, vault):
    row = store(tx, world, vault, png())
    with pytest.raises(FileNotFound):
        open_as(tx, other_world, vault, row.id, who="tenant_admin")
    with pytest.raises(FileNotFound):
        open_as(tx, world, vault, uuid.uuid4())


def test_a_supplier_opens_its_own_files_only(tx, world, vault):
    own = store(tx, world, vault, png(), supplier=0)
    theirs = store(tx, world, vault, jpeg(), supplier=1)
    internal = store(tx, world, vault, png(), supplier=None)
    assert open_as(tx, world, vault, own.id, who="supplier1") == png()
    for file_id in (theirs.id, internal.id):
        with pytest.raises(FileNotFound):
            open_as(tx, world, vault, file_id, who="supplier1")
    assert open_as(tx, world, vault, theirs.id, who="supplier2")[:3] == b"\xff\xd8\xff"


def test_a_supplier_stores_files_for_its_own_company_only(tx, world, vault):
    mine = store(tx, world, vault, png(), who="supplier1", supplier=None)
    assert mine.supplier_id == world.suppliers[0].id
    with pytest.raises(Forbidden):
        store(tx, world, vault, png(), who="supplier1", supplier=1)


def test_vault_from_settings(settings, tmp_path):
    built = Vault.from_settings(load_settings(SECRET_KEY=settings.secret_key, DATA_DIR=str(tmp_path), MAX_UPLOAD_MB="3"))
    assert built.max_upload_bytes == 3 * MB
    assert built.storage.root == (tmp_path / "files").resolve()
    assert built.master_keys.current_id == MasterKeys.from_settings(settings).current_id
    with pytest.raises(ValueError, match="STORAGE_URL"):
        Vault.from_settings(load_settings(STORAGE_URL="s3:///nobucket"))
