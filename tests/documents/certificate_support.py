"""Certificates made through the services (upload and review), for the tests of
certificates, compliance and the PO gate."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from pypdf import PdfWriter

from documents import certificates
from kernel.clock import utcnow
from kernel.crypto import FieldCipher
from tests.factories import PASSWORD, actor_in


def pdf_bytes(text: str = "ISO 13485") -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": text})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def today() -> date:
    return utcnow().date()


def days(n: int) -> date:
    return today() + timedelta(days=n)


def people(tx, world) -> dict:
    with tx.uow() as lookup:
        return {who: actor_in(lookup, world, who) for who in ("quality", "buyer", "viewer", "supplier1", "supplier2")}


@pytest.fixture
def who(tx, world) -> dict:
    """The certificate tests' people (`people`); tests/documents has it through its
    conftest, others import it (`from tests.documents.certificate_support import who as who`)."""
    return people(tx, world)


def make_type(uow, actor, **kw):
    values = {"code": kw.pop("code", "iso13485"), "name": "ISO 13485", "name_zh": "ISO 13485 证书"} | kw
    return certificates.save_type(uow, actor, **values)


def upload(uow, actor, vault, kind, **kw):
    values = {
        "certificate_type_id": kind.id,
        "number": "Q5 123456",
        "issuing_body": "TÜV SÜD",
        "valid_from": days(-30),
        "expires_on": days(400),
    } | kw
    stream = io.BytesIO(values.pop("content", None) or pdf_bytes())
    return certificates.upload(uow, actor, vault=vault, stream=stream, filename=values.pop("filename", "iso.pdf"), **values)


def approve(uow, actor, certificate, settings, *, password: str = PASSWORD, approve: bool = True, reason=None):
    return certificates.review(
        uow,
        actor,
        certificate_id=certificate.id,
        approve=approve,
        reason=reason,
        password=password,
        settings=settings,
        cipher=FieldCipher.from_settings(settings),
    )
