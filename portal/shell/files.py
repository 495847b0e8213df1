"""Serving stored files: the app's vault and a streaming response for a verified file.

A view checks the permission for what the file belongs to (a certificate, an
attachment), then:

    return download(file_id, as_attachment=True)

which opens the file (row-level security decides visibility: FileNotFound otherwise),
verifies it in full (documents.vault.open_file), records the download and streams the
plaintext. A stored copy that fails verification answers FileTampered; its security
event is kept although the response is an error (keep_changes), so a download view
must write nothing else in its transaction.
"""

from __future__ import annotations

import uuid
from urllib.parse import quote

from flask import Response, current_app
from flask_login import current_user

from documents.errors import FileTampered
from documents.vault import OpenedFile, Vault, open_file, record_download
from portal.shell.lifecycle import keep_changes, request_uow

# The file is data, never a page of ours: nothing in it may run or load anything. Images
# and PDFs still display (object-src: browsers show a PDF through their viewer plugin).
# Shown inline it may be framed by our own pages only (the certificate review's preview);
# as a download by none.
FILE_CSP = "default-src 'none'; img-src 'self'; object-src 'self'; frame-ancestors 'none'"
INLINE_FILE_CSP = "default-src 'none'; img-src 'self'; object-src 'self'; frame-ancestors 'self'"


def vault() -> Vault:
    return current_app.extensions["traceport_vault"]


def content_disposition(filename: str, *, as_attachment: bool) -> str:
    """`attachment; filename="..."; filename*=UTF-8''...` (RFC 6266 / RFC 5987): an
    ASCII stand-in for old clients, the real (Chinese, say) name for the others."""
    kind = "attachment" if as_attachment else "inline"
    fallback = "".join(ch if 32 <= ord(ch) < 127 and ch not in '"\\%;' else "_" for ch in filename) or "file"
    return f"{kind}; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def attachment_response(data: bytes, filename: str, mimetype: str) -> Response:
    """A file made for this request (an export, a report) as a download that no cache
    keeps. `filename` is ASCII (`attachment; filename="..."`)."""
    response = Response(data, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"
    return response


def csv_response(data: bytes, filename: str) -> Response:
    """A CSV file (erp.tabular.csv_bytes: UTF-8 with a byte order mark) as a download."""
    return attachment_response(data, filename, "text/csv; charset=utf-8")


def send_stored_file(opened: OpenedFile, *, as_attachment: bool) -> Response:
    """A streaming response of a verified file (open_file has checked every byte)."""
    response = Response(opened.chunks(), mimetype=opened.content_type, direct_passthrough=True)
    response.content_length = opened.size
    response.headers["Content-Disposition"] = content_disposition(opened.filename, as_attachment=as_attachment)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["Content-Security-Policy"] = FILE_CSP if as_attachment else INLINE_FILE_CSP
    response.headers["X-Frame-Options"] = "DENY" if as_attachment else "SAMEORIGIN"
    response.headers["ETag"] = f'"{opened.sha256}"'
    response.call_on_close(opened.close)
    return response


def download(file_id: uuid.UUID, *, as_attachment: bool = True, actor=None) -> Response:
    """Open, verify, record and stream a stored file for `actor` (the signed-in user's by
    default; an API client's from the API)."""
    uow = request_uow()
    actor = actor or current_user.actor
    try:
        opened = open_file(uow, actor, vault=vault(), file_id=file_id)
    except FileTampered:
        keep_changes()  # the "file_tampered" event, and nothing else
        raise
    record_download(uow, actor, file=opened)
    return send_stored_file(opened, as_attachment=as_attachment)
