"""Storing and reading files: checks on upload, encryption, verification on download.

`store_file` reads an upload in chunks and stops as soon as it passes the size limit
(the rest is never read). The plaintext is spooled (memory up to SPOOL_MEMORY, a
temporary file beyond) while its SHA-256 is computed; its real type is told from its
bytes, not its name; PDFs are parsed and refused when encrypted or carrying active
content. The file is then encrypted with the tenant's data key (documents.keys,
documents.crypto) into the storage backend under `tenants/<tenant>/<yyyy>/<file id>`,
and a `stored_file` row is added.

The object is written before the transaction commits. If the transaction then rolls
back, the object stays in storage with no row naming it: harmless ciphertext that no
one can reach (its key id, file id and hash were in the row). A sweep can remove
objects that no row names; nothing is deleted at rollback time, because a rollback
does not run callbacks and the row may yet commit on a retry.

`open_file` decrypts the whole file into a spool while re-hashing it, and only then
hands it out: a reader never gets a byte that failed the GCM tag or the SHA-256. A
failure raises FileTampered after writing a "file_tampered" security event (critical:
the tenant's security administrators are emailed) in the caller's unit of work - the
caller keeps that change although it answers with an error (the web layer's
keep_changes()). Which files an actor may open is decided by row-level security (tenant
and supplier) and by the caller's own permission check on what the file belongs to (a
certificate, an attachment).

A download changes no row, so the audit trigger does not see it; `record_download`
writes it as a "document_downloaded" security event (per tenant, insert-only).
"""

from __future__ import annotations

import hashlib
import hmac
import re
import tempfile
import unicodedata
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import filetype
import sqlalchemy as sa

from auth.security import record_security_event
from documents.crypto import MasterKeys, decrypt_stream, encrypt_stream
from documents.errors import FileNotFound, FileTampered
from documents.keys import data_key, data_key_for_new_file
from documents.models import StoredFile
from documents.storage import READ_CHUNK, Storage, read_chunks, storage_from_url
from kernel.clock import utcnow
from kernel.errors import N_, Forbidden, ValidationFailed
from kernel.ids import new_id

UPLOAD_CHUNK = 256 * 1024
SPOOL_MEMORY = 1024 * 1024
SNIFF_BYTES = 8192

# Kinds we accept, as the type detection names them, and what they are served as.
CONTENT_TYPES = {"pdf": "application/pdf", "png": "image/png", "jpeg": "image/jpeg"}
KIND_LABELS = {"pdf": "PDF", "png": "PNG", "jpeg": "JPEG"}
# filetype's names for the same kinds.
_ALIASES = {"jpg": "jpeg", "apng": "png"}
PROGRAMS = {"exe": "exe", "elf": "ELF", "wasm": "WebAssembly", "crx": "Chrome extension", "swf": "Flash"}
_MACH_O = (b"\xfe\xed\xfa\xce", b"\xfe\xed\xfa\xcf", b"\xce\xfa\xed\xfe", b"\xcf\xfa\xed\xfe", b"\xca\xfe\xba\xbe")

EMPTY = N_("The file is empty.")
TOO_LARGE = N_("The file is larger than %(megabytes)s MB.")
PROGRAM = N_("This file is a program (%(kind)s), not a document. Only these types are accepted: %(allowed)s.")
WRONG_TYPE = N_("This file is a %(kind)s file. Only these types are accepted: %(allowed)s.")
UNKNOWN_TYPE = N_("The type of this file could not be recognised. Only these types are accepted: %(allowed)s.")
PDF_ENCRYPTED = N_("This PDF is encrypted or protected by a password. Upload a copy without a password.")
PDF_ACTIVE = N_(
    "This PDF contains active content (%(what)s), which is not accepted. Print it to a new PDF or scan it, and upload that."
)
PDF_UNREADABLE = N_("This PDF could not be read; it may be damaged.")


@dataclass
class Vault:
    storage: Storage
    master_keys: MasterKeys
    max_upload_bytes: int

    @classmethod
    def from_settings(cls, settings) -> Vault:
        return cls(
            storage=storage_from_url(settings.storage_url, settings.data_dir),
            master_keys=MasterKeys.from_settings(settings),
            max_upload_bytes=settings.max_upload_mb * 1024 * 1024,
        )


def _refuse(message: str, **params) -> ValidationFailed:
    return ValidationFailed(message, errors={"file": message}, **params)


# --- upload ---------------------------------------------------------------------------------


def store_file(
    uow,
    actor,
    *,
    vault: Vault,
    stream: BinaryIO,
    filename: str,
    supplier_id: uuid.UUID | None,
    allowed: tuple[str, ...] = ("pdf", "png", "jpeg"),
) -> StoredFile:
    """Check, encrypt and store an upload; the new `stored_file` row (flushed).

    A supplier user stores files of their own company only (supplier_id None means
    theirs). Refusals are ValidationFailed on the field "file"."""
    if uow.tenant_id is None:
        raise RuntimeError("storing a file needs a tenant in context")
    if actor.supplier_id is not None:
        if supplier_id not in (None, actor.supplier_id):
            raise Forbidden()
        supplier_id = actor.supplier_id
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY) as spool:
        size, sha256 = _spool_upload(stream, spool, limit=vault.max_upload_bytes)
        if size == 0:
            raise _refuse(EMPTY)
        spool.seek(0)
        kind = _check_kind(spool.read(SNIFF_BYTES), allowed)
        if kind == "pdf":
            spool.seek(0)
            _check_pdf(spool)
        row_key, key = data_key_for_new_file(uow, vault)
        file_id = new_id()
        storage_key = f"tenants/{uow.tenant_id}/{utcnow():%Y}/{file_id}"
        spool.seek(0)
        vault.storage.put(storage_key, encrypt_stream(read_chunks(spool), key=key, file_id=file_id))
    row = StoredFile(
        id=file_id,
        tenant_id=uow.tenant_id,
        supplier_id=supplier_id,
        data_key_id=row_key.id,
        storage_key=storage_key,
        filename=clean_filename(filename, kind),
        content_type=CONTENT_TYPES[kind],
        size=size,
        sha256=sha256,
        uploaded_by=actor.user_id,
    )
    uow.add(row)
    uow.flush()
    return row


def _spool_upload(stream: BinaryIO, spool, *, limit: int) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    while True:
        # Never ask for more than one byte past the limit: that byte is enough to refuse.
        chunk = stream.read(min(UPLOAD_CHUNK, limit + 1 - size))
        if not chunk:
            break
        size += len(chunk)
        if size > limit:
            raise _refuse(TOO_LARGE, megabytes=_megabytes(limit))
        digest.update(chunk)
        if size > SPOOL_MEMORY:
            spool.rollover()  # to disk before the memory copy grows past SPOOL_MEMORY (no-op once there)
        spool.write(chunk)
    return size, digest.hexdigest()


def _megabytes(limit: int) -> str:
    value = limit / (1024 * 1024)
    return f"{value:g}" if value >= 1 else f"{value:.2f}"


def detect_kind(head: bytes) -> str | None:
    """The file's type from its first bytes (filetype's names, with jpeg for jpg), or None."""
    if head.startswith(_MACH_O):
        return "macho"
    guess = filetype.guess(head)
    if guess is None:
        return None
    return _ALIASES.get(guess.extension, guess.extension)


def _check_kind(head: bytes, allowed: tuple[str, ...]) -> str:
    kind = detect_kind(head)
    names = ", ".join(KIND_LABELS.get(k, k.upper()) for k in allowed)
    if kind in allowed:
        return kind
    if kind is None:
        raise _refuse(UNKNOWN_TYPE, allowed=names)
    if kind in PROGRAMS or kind == "macho":
        raise _refuse(PROGRAM, kind=PROGRAMS.get(kind, "Mach-O"), allowed=names)
    raise _refuse(WRONG_TYPE, kind=KIND_LABELS.get(kind, kind.upper()), allowed=names)


# --- PDF checks -----------------------------------------------------------------------------

# Dictionary keys that carry scripts, actions run without a click, embedded files or forms
# that run code; and names whose presence as a value (/S /JavaScript, /Type /EmbeddedFile)
# says the same.
ACTIVE_KEYS = {"/JS", "/JavaScript", "/AA", "/XFA", "/RichMedia", "/EmbeddedFile", "/EmbeddedFiles", "/Launch"}
ACTIVE_VALUES = {"/JavaScript", "/Launch", "/RichMedia", "/EmbeddedFile"}
_NAME_ESCAPE = re.compile(rb"#([0-9A-Fa-f]{2})")
# A stream's body (skipped: binary data) or a name token.
_RAW_TOKENS = re.compile(rb"(stream\r?\n.*?endstream)|(/[^\s/<>\[\]()%{}]+)", re.DOTALL)
_MAX_DEPTH = 50


def _check_pdf(spool) -> None:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    data = spool.read()
    raw = _raw_active_names(data)
    try:
        reader = PdfReader(spool, strict=False)
        if reader.is_encrypted:
            raise _refuse(PDF_ENCRYPTED)
        parsed = _parsed_active_names(reader)
    except ValidationFailed:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, AttributeError, RecursionError, OSError) as exc:
        if b"/Encrypt" in data:
            raise _refuse(PDF_ENCRYPTED) from exc
        raise _refuse(PDF_UNREADABLE) from exc
    found = raw | parsed
    if found:
        raise _refuse(PDF_ACTIVE, what=", ".join(sorted(name.lstrip("/") for name in found)))


def _raw_active_names(data: bytes) -> set[str]:
    """Active-content names in the file's bytes outside streams, with #xx escapes
    decoded (/J#61vaScript is /JavaScript): catches objects the parser does not reach."""
    found = set()
    for match in _RAW_TOKENS.finditer(data):
        token = match.group(2)
        if token is None:
            continue
        if b"#" in token:
            token = _NAME_ESCAPE.sub(lambda m: bytes([int(m.group(1), 16)]), token)
        name = token.decode("latin-1")
        if name in ACTIVE_KEYS or name in ACTIVE_VALUES:
            found.add(name)
    return found


def _parsed_active_names(reader) -> set[str]:
    """Active-content names in every object the parser knows (also those inside
    compressed object streams, which no byte scan sees)."""
    from pypdf.generic import IndirectObject

    found: set[str] = set()
    seen: set[tuple[int, int]] = set()
    ids = [(num, gen) for gen, table in reader.xref.items() for num in table]
    ids += [(num, 0) for num in getattr(reader, "xref_objStm", {})]
    _inspect(reader.trailer, found, 0)
    for num, gen in ids:
        if (num, gen) in seen or num == 0:
            continue
        seen.add((num, gen))
        obj = reader.get_object(IndirectObject(num, gen, reader))
        _inspect(obj, found, 0)
    return found


def _inspect(obj, found: set[str], depth: int) -> None:
    from pypdf.generic import ArrayObject, DictionaryObject, NameObject

    if depth > _MAX_DEPTH:
        return
    if isinstance(obj, DictionaryObject):
        for key, value in obj.items():
            if key in ACTIVE_KEYS:
                found.add(key)
            _inspect(value, found, depth + 1)
    elif isinstance(obj, ArrayObject):
        for value in obj:
            _inspect(value, found, depth + 1)
    elif isinstance(obj, NameObject) and obj in ACTIVE_VALUES:
        found.add(str(obj))


def clean_filename(filename: str, kind: str) -> str:
    """The name shown and offered on download: its last path segment, NFC, no control
    characters, at most 255 characters (the extension kept); a plain name if none is left."""
    name = unicodedata.normalize("NFC", filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if unicodedata.category(ch)[0] != "C").strip().strip(".")
    if not name:
        name = f"file.{'jpg' if kind == 'jpeg' else kind}"
    if len(name) > 255:
        stem, dot, ext = name.rpartition(".")
        name = (stem[: 254 - len(ext)] + dot + ext) if dot and len(ext) <= 10 else name[:255]
    return name


# --- download -------------------------------------------------------------------------------


@dataclass
class OpenedFile:
    """A verified plaintext, ready to serve. `chunks()` reads it once and closes it."""

    id: uuid.UUID
    filename: str
    content_type: str
    size: int
    sha256: str
    supplier_id: uuid.UUID | None
    _spool: tempfile.SpooledTemporaryFile = field(repr=False)

    def chunks(self, size: int = READ_CHUNK) -> Iterator[bytes]:
        try:
            self._spool.seek(0)
            yield from read_chunks(self._spool, size)
        finally:
            self.close()

    def read(self) -> bytes:
        """The whole plaintext (small files: previews, tests)."""
        return b"".join(self.chunks())

    def close(self) -> None:
        self._spool.close()

    def __enter__(self) -> OpenedFile:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_file(uow, actor, *, vault: Vault, file_id: uuid.UUID) -> OpenedFile:
    """The stored file, decrypted and verified in full before anything is returned.

    FileNotFound for a file that does not exist or that row-level security hides.
    FileTampered (after a "file_tampered" security event) for a stored copy that fails
    its tag, its hash or its size, or is missing."""
    row = uow.session.scalars(sa.select(StoredFile).where(StoredFile.id == file_id)).first()
    if row is None:
        raise FileNotFound()
    key = data_key(uow, vault, row.data_key_id)
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY)  # noqa: SIM115 - handed to OpenedFile, closed there
    digest = hashlib.sha256()
    size = 0
    reason = None
    try:
        for chunk in decrypt_stream(vault.storage.get(row.storage_key), key=key, file_id=row.id):
            digest.update(chunk)
            size += len(chunk)
            spool.write(chunk)
    except FileNotFoundError:
        reason = "missing"
    except FileTampered:
        reason = "authentication_failed"
    except BaseException:
        spool.close()
        raise
    if reason is None and size != row.size:
        reason = "size_mismatch"
    if reason is None and not hmac.compare_digest(digest.hexdigest(), row.sha256):
        reason = "hash_mismatch"
    if reason is not None:
        spool.close()
        record_security_event(
            uow,
            kind="file_tampered",
            severity="critical",
            user_id=actor.user_id,
            detail={
                "file_id": str(row.id),
                "filename": row.filename,
                "storage_key": row.storage_key,
                "reason": reason,
                "actor": actor.name,
            },
        )
        raise FileTampered()
    return OpenedFile(
        id=row.id,
        filename=row.filename,
        content_type=row.content_type,
        size=row.size,
        sha256=row.sha256,
        supplier_id=row.supplier_id,
        _spool=spool,
    )


def record_download(uow, actor, *, file) -> None:
    """Note that `file` (an OpenedFile or StoredFile) was handed to `actor`: a
    "document_downloaded" security event with the file's id and SHA-256."""
    record_security_event(
        uow,
        kind="document_downloaded",
        severity="info",
        user_id=actor.user_id,
        detail={
            "file_id": str(file.id),
            "sha256": file.sha256,
            "filename": file.filename,
            "size": file.size,
            "actor": actor.name,
        },
    )
