"""The streaming response for a verified stored file (portal.shell.files)."""

from __future__ import annotations

import tempfile
import uuid
from urllib.parse import unquote

from flask import Flask

from documents.vault import OpenedFile
from portal.shell.files import content_disposition, send_stored_file


def opened(data: bytes, filename: str, content_type: str = "application/pdf") -> OpenedFile:
    spool = tempfile.SpooledTemporaryFile()  # noqa: SIM115 - closed by the response
    spool.write(data)
    return OpenedFile(
        id=uuid.uuid4(),
        filename=filename,
        content_type=content_type,
        size=len(data),
        sha256="ab" * 32,
        supplier_id=None,
        _spool=spool,
    )


def test_a_chinese_name_gets_an_ascii_stand_in_and_the_utf8_name():
    header = content_disposition('ISO 13485 证书 "v2";.pdf', as_attachment=True)
    assert header.startswith("attachment; filename=\"ISO 13485 __ _v2__.pdf\"; filename*=UTF-8''")
    assert unquote(header.split("filename*=UTF-8''")[1]) == 'ISO 13485 证书 "v2";.pdf'
    assert content_disposition("a.png", as_attachment=False).startswith('inline; filename="a.png"')


def test_the_response_streams_the_file_with_its_headers():
    app = Flask("t")
    data = b"%PDF-1.7 " + bytes(3 * 1024 * 1024)
    with app.test_request_context():
        response = send_stored_file(opened(data, "证书.pdf"), as_attachment=True)
        assert response.is_streamed
        assert response.headers["Content-Type"] == "application/pdf"
        assert response.headers["Content-Length"] == str(len(data))
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "private, no-store"
        assert "filename*=UTF-8''%E8%AF%81%E4%B9%A6.pdf" in response.headers["Content-Disposition"]
        assert b"".join(response.response) == data
        response.close()
