"""The certificate pages through the web client: a supplier uploads a certificate and
sees what it owes per site; a quality engineer reviews it with an electronic signature;
bad uploads are refused on the form in the user's language and store nothing; files are
served only to those who may see them; renewals supersede; certificate types, the
requirement matrix and the certificate gate on issuing an order."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from babel.messages.pofile import read_po

from auth.models import SecurityEvent, Signature
from documents.crypto import MasterKeys
from documents.models import Certificate, CertificateType, StoredFile
from documents.storage import LocalStorage
from documents.vault import Vault
from erp.purchasing.models import PurchaseOrder
from erp.suppliers import compliance
from erp.suppliers.models import CertificateRequirement
from kernel.clock import utcnow
from portal.app import create_app
from tenants import service as tenants
from tests.documents.certificate_support import approve, make_type, pdf_bytes, people, upload
from tests.erp.po_support import issued_order
from tests.factories import PASSWORD
from tests.portal.support import signed_in, text_of, token_in

CATALOG = Path(__file__).resolve().parents[2] / "portal" / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
LIMIT_MB = 1
CERT_URL = re.compile(r"/certificates/([0-9a-f-]{36})$")


@pytest.fixture
def files(tmp_path) -> Path:
    return tmp_path / "files"


@pytest.fixture
def app(tx, settings, files):
    """The real app with its vault on a temporary directory and a 1 MB upload limit."""
    app = create_app(settings, runtime=tx)
    app.extensions["traceport_vault"] = Vault(
        storage=LocalStorage(files), master_keys=MasterKeys.from_settings(settings), max_upload_bytes=LIMIT_MB * 1024 * 1024
    )
    return app


@pytest.fixture
def who(tx, world) -> dict:
    return people(tx, world)


@pytest.fixture
def iso(tx, world, who):
    """ISO 13485 (reviewed, expiry required, from two issuing bodies), required of every supplier."""
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        kind = make_type(uow, who["quality"], accepted_issuers=["TÜV SÜD", "BSI"])
        compliance.add_requirement(uow, who["buyer"], certificate_type_id=kind.id, scope="all")
        uow.commit()
        return kind


def site_of(tx, world, n: int) -> SimpleNamespace:
    """The first site of the world's supplier n: its id and name."""
    with tx.uow(tenant_id=world.tenant_id) as uow:
        site = tenants.sites_of(uow, supplier_id=world.suppliers[n].id)[0]
        return SimpleNamespace(id=site.id, name=site.name)


def day(n: int) -> str:
    return (utcnow().date() + timedelta(days=n)).isoformat()


def form_for(client, kind, **overrides) -> dict:
    """A good upload form (the token from the page), with `overrides`."""
    page = client.get("/supplier/certificates/new")
    assert page.status_code == 200, text_of(page)
    content = overrides.pop("content", None)
    filename = overrides.pop("filename", "iso13485.pdf")
    data = {
        "csrf_token": token_in(page.data),
        "certificate_type_id": str(kind.id),
        "number": "Q5 123456 0001",
        "issuing_body": "TÜV SÜD",
        "valid_from": day(-30),
        "expires_on": day(700),
        "scope": "Design and manufacture of sterile single-use catheters",
        "file": (io.BytesIO(pdf_bytes() if content is None else content), filename),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def upload_page(client, kind, **overrides):
    return client.post("/supplier/certificates/new", data=form_for(client, kind, **overrides), content_type="multipart/form-data")


def uploaded(client, kind, **overrides) -> str:
    """Upload through the form; the new certificate's id."""
    sent = upload_page(client, kind, **overrides)
    assert sent.status_code == 303, text_of(sent)
    match = CERT_URL.search(sent.headers["Location"])
    assert match, sent.headers["Location"]
    return match.group(1)


def certificate_row(tx, world, certificate_id) -> Certificate:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        row = uow.session.scalars(sa.select(Certificate).where(Certificate.id == certificate_id)).one()
        uow.session.expunge(row)
        return row


def counts(tx, world) -> tuple[int, int]:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return (
            uow.scalar(sa.select(sa.func.count()).select_from(Certificate)),
            uow.scalar(sa.select(sa.func.count()).select_from(StoredFile)),
        )


def stored_objects(files: Path) -> list[Path]:
    return [p for p in files.rglob("*") if p.is_file()] if files.exists() else []


def review(client, certificate_id, **fields):
    page = client.get(f"/certificates/{certificate_id}")
    assert page.status_code == 200, text_of(page)
    data = {"csrf_token": token_in(page.data), "decision": "approve", "reason": "", "password": PASSWORD} | fields
    return client.post(f"/certificates/{certificate_id}/review", data=data)


def chinese(msgid: str) -> str:
    with CATALOG.open("rb") as f:
        message = read_po(f).get(msgid)
    return message.string if message is not None and message.string else msgid


def row_of(html: str, label: str) -> str:
    """The table row whose header cell holds `label`."""
    match = re.search(r"<tr>\s*<th scope=\"row\">[^<]*" + re.escape(label) + r".*?</tr>", html, re.DOTALL)
    assert match, f"no row for {label}"
    return match.group(0)


# --- upload and review ------------------------------------------------------------------


def test_a_supplier_uploads_and_the_quality_engineer_approves_with_a_signature(app, tx, world, iso, files):
    supplier = signed_in(app, world.users["supplier1"])
    site = site_of(tx, world, 0)
    owed = text_of(supplier.get("/supplier/certificates"))
    assert "What you owe" in owed and "Site 1" in owed and "Not compliant" in owed
    assert "Missing" in row_of(owed, "ISO 13485")
    assert f"/supplier/certificates/new?type={iso.id}&amp;site={site.id}" in owed
    assert "You have not uploaded any certificates yet." in owed

    # The link from the missing requirement prefills the type and the site.
    form = text_of(supplier.get(f"/supplier/certificates/new?type={iso.id}&site={site.id}"))
    assert f'<option selected value="{iso.id}">' in form
    assert re.search(rf'<input checked[^>]*value="{site.id}"', form)

    certificate_id = uploaded(supplier, iso, site_ids=[str(site.id)])
    page = supplier.get(f"/certificates/{certificate_id}")
    html = text_of(page)
    assert page.status_code == 200
    assert "Certificate Q5 123456 0001 is uploaded and waits for review." in html
    assert "Pending review" in html and "TÜV SÜD" in html and "Site 1" in html and "iso13485.pdf" in html
    assert "Sign and save the decision" not in html  # a supplier never sees the review form
    row = certificate_row(tx, world, certificate_id)
    assert (row.status, row.version, row.supplier_id) == ("pending_review", 1, world.suppliers[0].id)
    assert len(stored_objects(files)) == 1
    assert "Pending review" in row_of(text_of(supplier.get("/supplier/certificates")), "ISO 13485")

    # The quality engineer finds it in the queue, opens it beside its file, and signs.
    quality = signed_in(app, world.users["quality"])
    queue = text_of(quality.get("/buyer/certificates"))
    assert f'href="/certificates/{certificate_id}"' in queue and "Supplier 1 of alpha" in queue
    html = text_of(quality.get(f"/certificates/{certificate_id}"))
    assert "Sign and save the decision" in html
    assert f'<iframe src="/certificates/{certificate_id}/file"' in html
    approved = review(quality, certificate_id)
    assert approved.status_code == 303, text_of(approved)
    assert approved.headers["Location"].endswith("/buyer/certificates")
    assert "Certificate Q5 123456 0001 is approved and signed." in text_of(quality.get("/buyer/certificates"))
    assert "Nothing waits for review." in text_of(quality.get("/buyer/certificates"))

    row = certificate_row(tx, world, certificate_id)
    assert row.status == "approved" and row.reviewed_by == world.users["quality"].id
    with tx.uow(tenant_id=world.tenant_id) as uow:
        signature = uow.session.scalars(sa.select(Signature).where(Signature.record_id == row.id)).one()
        assert (signature.meaning, signature.user_id, signature.record_type) == (
            "approved",
            world.users["quality"].id,
            "certificate",
        )
        printed_name = signature.printed_name
    html = text_of(quality.get(f"/certificates/{certificate_id}"))
    assert "Valid" in html and "Electronic signatures" in html and "Signed content unchanged" in html
    assert printed_name in html
    assert "Sign and save the decision" not in html  # reviewed: no form any more
    assert f'href="/certificates/{certificate_id}"' in text_of(quality.get("/buyer/certificates?state=valid"))

    owed = text_of(supplier.get("/supplier/certificates"))
    assert "Valid" in row_of(owed, "ISO 13485") and "Compliant" in owed and "Not compliant" not in owed


def test_a_type_without_review_counts_at_once(app, tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        kind = make_type(
            uow, who["quality"], code="reach", name="REACH declaration", review_required=False, expiry_required=False
        )
        uow.commit()
    supplier = signed_in(app, world.users["supplier1"])
    certificate_id = uploaded(supplier, kind, expires_on="", issuing_body="Supplier 1")
    html = text_of(supplier.get(f"/certificates/{certificate_id}"))
    assert "is uploaded and counts from now." in html and "No expiry" in html and "no review needed for this type" in html
    assert certificate_row(tx, world, certificate_id).status == "approved"


BAD_UPLOADS = {
    "expiry before valid-from": (
        {"valid_from": day(10), "expires_on": day(5)},
        "The expiry date is before the valid-from date.",
        422,
    ),
    "no expiry for a type that needs one": ({"expires_on": ""}, "This type of certificate needs an expiry date.", 422),
    "expired already": ({"valid_from": day(-900), "expires_on": day(-1)}, "This certificate has expired already", 422),
    "no valid-from": ({"valid_from": ""}, "Enter the date from which the certificate is valid.", 422),
    "issuing body not accepted": (
        {"issuing_body": "Acme Certification Ltd"},
        "This type of certificate is accepted only from the issuing bodies listed for it.",
        422,
    ),
    "no number": ({"number": "  "}, "This field is required.", 422),
    "no type": ({"certificate_type_id": ""}, "Choose the type of certificate.", 422),
    "bad Basic UDI-DI": ({"basic_udi_dis": "ok-4711\nno spaces allowed"}, "A Basic UDI-DI has 4 to 25 characters", 422),
    "a program named .pdf": (
        {"content": b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 200, "filename": "certificate.pdf"},
        "This file is a program (exe), not a document. Only these types are accepted: PDF, PNG, JPEG.",
        422,
    ),
    "an empty file": ({"content": b""}, "The file is empty.", 422),
    "no file": ({"file": None}, "Choose the certificate&#39;s file.", 422),
    "a text file": ({"content": b"just some text, no PDF at all\n" * 10}, "The type of this file could not be recognised.", 422),
    "a file one byte over the limit": (
        {"content": b"%PDF-1.4\n" + b"0" * (LIMIT_MB * 1024 * 1024 - 8)},
        f"The file is larger than {LIMIT_MB} MB.",
        422,
    ),
    "a request far over the limit": (
        {"content": b"%PDF-1.4\n" + b"0" * (LIMIT_MB * 1024 * 1024 + 512 * 1024)},
        f"The file is larger than {LIMIT_MB} MB. Upload a smaller file.",
        413,
    ),
}


@pytest.mark.parametrize("case", BAD_UPLOADS, ids=list(BAD_UPLOADS))
def test_a_bad_upload_is_refused_on_the_form_and_stores_nothing(app, tx, world, iso, files, case):
    overrides, message, status = BAD_UPLOADS[case]
    supplier = signed_in(app, world.users["supplier1"])
    before = counts(tx, world)
    refused = upload_page(supplier, iso, **overrides)
    html = text_of(refused)
    assert refused.status_code == status, html
    assert message in html
    assert "<form" in html and 'enctype="multipart/form-data"' in html  # the form again, not an error page
    if status == 422:
        assert 'class="field-error"' in html and 'aria-invalid="true"' in html
        # What was typed stays.
        if "number" not in overrides:
            assert 'value="Q5 123456 0001"' in html
    assert counts(tx, world) == before
    assert stored_objects(files) == []


def test_a_site_of_another_supplier_is_refused(app, tx, world, other_world, iso, files):
    supplier = signed_in(app, world.users["supplier1"])
    for site in (site_of(tx, world, 1), site_of(tx, other_world, 0)):
        refused = upload_page(supplier, iso, site_ids=[str(site.id)])
        assert refused.status_code == 422
        assert "Choose only sites of your own company." in text_of(refused)
        assert f'value="{site.id}"' not in text_of(refused)  # never offered either
    assert counts(tx, world)[0] == 0 and stored_objects(files) == []


def test_an_upload_error_is_in_the_users_language(app, tx, world, iso, files):
    supplier = signed_in(app, world.users["supplier1"])
    page = supplier.get("/supplier/certificates/new")
    supplier.post(
        "/language", data={"locale": "zh_Hans_CN", "next": "/supplier/certificates/new", "csrf_token": token_in(page.data)}
    )
    refused = upload_page(supplier, iso, content=b"")
    assert refused.status_code == 422
    html = text_of(refused)
    assert 'lang="zh-Hans-CN"' in html and "文件为空。" in html and "The file is empty." not in html
    assert counts(tx, world)[0] == 0 and stored_objects(files) == []


def test_the_supplier_certificates_page_in_chinese(app, tx, world, iso):
    supplier = signed_in(app, world.users["supplier1"])
    page = supplier.get("/supplier/certificates")
    supplier.post("/language", data={"locale": "zh_Hans_CN", "next": "/supplier/certificates", "csrf_token": token_in(page.data)})
    html = text_of(supplier.get("/supplier/certificates"))
    assert 'lang="zh-Hans-CN"' in html
    assert "ISO 13485 证书" in html  # the type's Chinese name
    for label in ("What you owe", "Upload a certificate", "Missing"):
        translated = chinese(label)
        assert translated != label, f"{label!r} has no Chinese in the catalog yet"
        assert translated in html and label not in html


def test_a_wrong_password_refuses_the_review_and_leaves_a_trace(app, tx, world, iso):
    certificate_id = uploaded(signed_in(app, world.users["supplier1"]), iso)
    quality = signed_in(app, world.users["quality"])
    refused = review(quality, certificate_id, password="not-my-password")
    html = text_of(refused)
    assert refused.status_code == 403
    assert "The signature was not recorded: the password or code is not correct." in html
    assert "Sign and save the decision" in html  # the form again, to retry
    assert certificate_row(tx, world, certificate_id).status == "pending_review"
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert not uow.scalar(sa.select(sa.func.count()).select_from(Signature).where(Signature.record_id == certificate_id))
        failed = uow.session.scalars(
            sa.select(SecurityEvent).where(
                SecurityEvent.kind == "signature_failed", SecurityEvent.user_id == world.users["quality"].id
            )
        ).all()
        assert len(failed) == 1


def test_a_rejection_needs_a_reason_that_the_supplier_then_reads(app, tx, world, iso):
    supplier = signed_in(app, world.users["supplier1"])
    certificate_id = uploaded(supplier, iso)
    quality = signed_in(app, world.users["quality"])
    refused = review(quality, certificate_id, decision="reject", reason="   ")
    assert refused.status_code == 422
    assert "Say why the certificate is rejected: the supplier sees it." in text_of(refused)
    assert certificate_row(tx, world, certificate_id).status == "pending_review"

    no_decision = review(quality, certificate_id, decision="maybe")
    assert no_decision.status_code == 422 and "Choose to approve or to reject." in text_of(no_decision)

    rejected = review(quality, certificate_id, decision="reject", reason="The scope does not name catheters.")
    assert rejected.status_code == 303, text_of(rejected)
    assert certificate_row(tx, world, certificate_id).status == "rejected"
    html = text_of(supplier.get(f"/certificates/{certificate_id}"))
    assert "Rejected" in html and "The scope does not name catheters." in html
    assert "Upload a new version" in html

    again = review(quality, certificate_id, decision="approve")  # a stale form: reviewed already
    assert again.status_code == 409
    assert "This certificate was reviewed already; reload the page to see the decision." in text_of(again)
    assert certificate_row(tx, world, certificate_id).status == "rejected"


def test_a_supplier_cannot_review_even_its_own_certificate(app, tx, world, iso):
    supplier = signed_in(app, world.users["supplier1"])
    certificate_id = uploaded(supplier, iso)
    page = supplier.get(f"/certificates/{certificate_id}")
    posted = supplier.post(
        f"/certificates/{certificate_id}/review",
        data={"csrf_token": token_in(page.data), "decision": "approve", "password": PASSWORD},
    )
    assert posted.status_code == 403
    assert certificate_row(tx, world, certificate_id).status == "pending_review"
    # Neither may a buyer or a viewer, who hold no cert.review.
    for role in ("buyer", "viewer"):
        client = signed_in(app, world.users[role])
        page = client.get(f"/certificates/{certificate_id}")
        assert page.status_code == 200 and "Sign and save the decision" not in text_of(page)
        posted = client.post(
            f"/certificates/{certificate_id}/review",
            data={"csrf_token": token_in(page.data), "decision": "approve", "password": PASSWORD},
        )
        assert posted.status_code == 403
    assert certificate_row(tx, world, certificate_id).status == "pending_review"


def test_others_see_neither_the_certificate_nor_its_file(app, tx, world, other_world, iso):
    certificate_id = uploaded(signed_in(app, world.users["supplier1"]), iso)
    paths = (
        f"/certificates/{certificate_id}",
        f"/certificates/{certificate_id}/file",
        f"/certificates/{certificate_id}/file?download=1",
        f"/supplier/certificates/{certificate_id}/renew",
        f"/supplier/certificates/new?renews={certificate_id}",
    )
    other_supplier = signed_in(app, world.users["supplier2"])
    for path in paths:
        assert other_supplier.get(path).status_code == 404, path
    assert "Q5 123456 0001" not in text_of(other_supplier.get("/supplier/certificates"))

    for who in ("quality", "supplier1"):
        stranger = signed_in(app, other_world.users[who])
        for path in paths[:3]:
            assert stranger.get(path).status_code == 404, (who, path)
    stranger = signed_in(app, other_world.users["quality"])
    assert "Q5 123456 0001" not in text_of(stranger.get("/buyer/certificates"))
    page = stranger.get("/buyer/certificates")
    posted = stranger.post(
        f"/certificates/{certificate_id}/review",
        data={"csrf_token": token_in(page.data), "decision": "approve", "password": PASSWORD},
    )
    assert posted.status_code == 404
    assert certificate_row(tx, world, certificate_id).status == "pending_review"


def test_the_file_comes_back_as_uploaded_with_safe_headers(app, tx, world, iso):
    content = pdf_bytes("质量管理体系证书")
    name = "质量管理体系证书 ISO 13485.pdf"
    supplier = signed_in(app, world.users["supplier1"])
    certificate_id = uploaded(supplier, iso, content=content, filename=name)
    quality = signed_in(app, world.users["quality"])
    for client in (supplier, quality):
        got = client.get(f"/certificates/{certificate_id}/file?download=1")
        assert got.status_code == 200
        assert got.data == content
        assert got.headers["Content-Type"] == "application/pdf"
        assert got.headers["X-Content-Type-Options"] == "nosniff"
        disposition = got.headers["Content-Disposition"]
        assert disposition.startswith("attachment;")
        assert f"filename*=UTF-8''{quote(name, safe='')}" in disposition
        assert 'filename="' in disposition and disposition.encode("latin-1")  # the fallback is plain ASCII
    inline = quality.get(f"/certificates/{certificate_id}/file")
    assert inline.headers["Content-Disposition"].startswith("inline;") and inline.data == content
    # Shown inline, only our own certificate page may frame it (the review's preview); never as a download.
    assert "default-src 'none'" in inline.headers["Content-Security-Policy"]
    assert (
        "frame-ancestors 'self'" in inline.headers["Content-Security-Policy"]
        and inline.headers["X-Frame-Options"] == "SAMEORIGIN"
    )
    assert "frame-ancestors 'none'" in got.headers["Content-Security-Policy"] and got.headers["X-Frame-Options"] == "DENY"
    with tx.uow(tenant_id=world.tenant_id) as uow:
        downloads = uow.session.scalars(sa.select(SecurityEvent.user_id).where(SecurityEvent.kind == "document_downloaded")).all()
    assert sorted(map(str, downloads)) == sorted(
        map(str, [world.users["supplier1"].id, world.users["quality"].id, world.users["quality"].id])
    )


def test_a_renewal_is_version_two_and_its_approval_supersedes_the_first(app, tx, world, who, iso, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier1"]) as uow:
        vault = app.extensions["traceport_vault"]
        first = upload(uow, who["supplier1"], vault, iso, number="Q5 0001", expires_on=utcnow().date() + timedelta(days=30))
        uow.commit()
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        approve(uow, who["quality"], first, settings)
        uow.commit()

    supplier = signed_in(app, world.users["supplier1"])
    owed = text_of(supplier.get("/supplier/certificates"))
    assert "Expiring" in row_of(owed, "ISO 13485")
    assert f"/supplier/certificates/new?renews={first.id}" in owed  # "Upload the renewal"
    renew = supplier.get(f"/supplier/certificates/{first.id}/renew")
    assert renew.status_code == 302 and renew.headers["Location"].endswith(f"/supplier/certificates/new?renews={first.id}")
    form = text_of(supplier.get(f"/supplier/certificates/new?renews={first.id}"))
    assert "Upload a new version of Q5 0001" in form and 'value="Q5 0001"' in form
    assert f'name="renews" value="{first.id}"' in form

    second = uploaded(supplier, iso, number="Q5 0002", renews=str(first.id))
    row = certificate_row(tx, world, second)
    assert (row.version, row.supersedes_id, row.status) == (2, first.id, "pending_review")
    assert certificate_row(tx, world, first.id).status == "approved"  # counts until the new one is approved

    # A second renewal of the same first version is refused while version 2 stands.
    again = upload_page(supplier, iso, number="Q5 0003", renews=str(first.id))
    assert again.status_code == 422
    assert "A newer version of this certificate exists already; renew that one." in text_of(again)

    quality = signed_in(app, world.users["quality"])
    assert review(quality, second).status_code == 303
    assert certificate_row(tx, world, first.id).status == "superseded"
    assert certificate_row(tx, world, second).status == "approved"
    html = text_of(supplier.get(f"/certificates/{second}"))
    assert "Versions" in html and "Version 1" in html and "Version 2" in html and "Superseded" in html
    owed = text_of(supplier.get("/supplier/certificates"))
    assert "Valid" in row_of(owed, "ISO 13485") and "Q5 0002" in owed
    assert f'href="/certificates/{first.id}"' not in owed  # superseded: out of the list
    assert f'href="/certificates/{first.id}"' in text_of(quality.get("/buyer/certificates?state=superseded"))


# --- certificate types and requirements --------------------------------------------------


def types_of(tx, world) -> dict[str, CertificateType]:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        found = {t.code: t for t in uow.session.scalars(sa.select(CertificateType))}
        for t in found.values():
            uow.session.expunge(t)
        return found


def test_certificate_types_are_made_and_changed_by_quality(app, tx, world):
    quality = signed_in(app, world.users["quality"])
    page = quality.get("/buyer/certificate-types")
    assert page.status_code == 200 and "No certificate types yet." in text_of(page)
    fields = {
        "csrf_token": token_in(page.data),
        "code": "ce-mdr",
        "name": "EU MDR certificate",
        "name_zh": "欧盟 MDR 证书",
        "expiry_required": "y",
        "review_required": "y",
        "accepted_issuers": "TÜV SÜD\nBSI\n\n",
        "active": "y",
    }
    made = quality.post("/buyer/certificate-types", data=fields)
    assert made.status_code == 303, text_of(made)
    html = text_of(quality.get("/buyer/certificate-types"))
    assert "Certificate type EU MDR certificate is saved." in html and "BSI, TÜV SÜD" in html
    kind = types_of(tx, world)["ce-mdr"]
    assert kind.accepted_issuers == ["BSI", "TÜV SÜD"] and kind.expiry_required and kind.review_required

    twice = quality.post("/buyer/certificate-types", data=fields | {"name": "Another"})
    assert twice.status_code == 422 and "Another certificate type has this code." in text_of(twice)
    bad = quality.post("/buyer/certificate-types", data=fields | {"code": "CE MDR!", "name": ""})
    assert bad.status_code == 422
    assert "Use 2 to 40 lower-case letters" in text_of(bad) and "This field is required." in text_of(bad)
    assert set(types_of(tx, world)) == {"ce-mdr"}

    edit = quality.get(f"/buyer/certificate-types/{kind.id}")
    html = text_of(edit)
    assert "Change ce-mdr" in html and 'value="EU MDR certificate"' in html and 'name="code"' not in html
    changed = quality.post(
        f"/buyer/certificate-types/{kind.id}",
        data={"csrf_token": token_in(edit.data), "name": "EU MDR (2017/745) certificate", "accepted_issuers": "", "active": "y"},
    )
    assert changed.status_code == 303, text_of(changed)
    kind = types_of(tx, world)["ce-mdr"]
    assert kind.name == "EU MDR (2017/745) certificate" and kind.accepted_issuers == []
    assert not kind.expiry_required and not kind.review_required  # unticked boxes


def test_a_buyer_sees_the_types_but_cannot_change_them(app, tx, world):
    buyer = signed_in(app, world.users["buyer"])
    page = buyer.get("/buyer/certificate-types")
    assert page.status_code == 200 and "Add a certificate type" not in text_of(page)
    posted = buyer.post("/buyer/certificate-types", data={"csrf_token": token_in(page.data), "code": "x1", "name": "X"})
    assert posted.status_code == 403
    assert types_of(tx, world) == {}
    supplier = signed_in(app, world.users["supplier1"])
    assert supplier.get("/buyer/certificate-types").status_code == 403


def requirement_rows(tx, world) -> list[tuple]:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return [(r.scope, r.category, r.id) for r in uow.session.scalars(sa.select(CertificateRequirement))]


def test_requirements_are_added_refused_twice_and_removed(app, tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        kind = make_type(uow, who["quality"])
        uow.commit()
    buyer = signed_in(app, world.users["buyer"])
    page = buyer.get("/buyer/certificate-requirements")
    assert page.status_code == 200 and "No requirements yet" in text_of(page)
    fields = {
        "csrf_token": token_in(page.data),
        "certificate_type_id": str(kind.id),
        "scope": "category",
        "category": "component",
    }
    added = buyer.post("/buyer/certificate-requirements", data=fields)
    assert added.status_code == 303, text_of(added)
    html = text_of(buyer.get("/buyer/certificate-requirements"))
    assert "The requirement is added." in html and "Suppliers of a category" in html and "ISO 13485" in html
    [(scope, category, requirement_id)] = requirement_rows(tx, world)
    assert (scope, category) == ("category", "component")

    twice = buyer.post("/buyer/certificate-requirements", data=fields)
    assert twice.status_code == 422 and "This requirement exists already." in text_of(twice)
    no_category = buyer.post("/buyer/certificate-requirements", data=fields | {"category": ""})
    assert no_category.status_code == 422 and "Choose a category." in text_of(no_category)
    no_type = buyer.post("/buyer/certificate-requirements", data=fields | {"certificate_type_id": ""})
    assert no_type.status_code == 422 and "Choose the type of certificate." in text_of(no_type)
    assert len(requirement_rows(tx, world)) == 1

    # Quality reads the matrix but does not change it.
    quality = signed_in(app, world.users["quality"])
    page = quality.get("/buyer/certificate-requirements")
    assert page.status_code == 200 and "Add a requirement" not in text_of(page)
    token = token_in(page.data) if 'name="csrf_token"' in text_of(page) else token_in(quality.get("/buyer/certificates").data)
    assert quality.post(f"/buyer/certificate-requirements/{requirement_id}/delete", data={"csrf_token": token}).status_code == 403
    assert len(requirement_rows(tx, world)) == 1

    removed = buyer.post(f"/buyer/certificate-requirements/{requirement_id}/delete", data={"csrf_token": fields["csrf_token"]})
    assert removed.status_code == 303
    assert "The requirement is removed." in text_of(buyer.get("/buyer/certificate-requirements"))
    assert requirement_rows(tx, world) == []
    gone = buyer.post(f"/buyer/certificate-requirements/{requirement_id}/delete", data={"csrf_token": fields["csrf_token"]})
    assert gone.status_code == 404 and "There is no such certificate requirement." in text_of(gone)


# --- the gate on issuing an order ----------------------------------------------------------


def set_gate(client, gate: str) -> None:
    page = client.get("/buyer/purchasing-settings")
    saved = client.post(
        "/buyer/purchasing-settings", data={"csrf_token": token_in(page.data), "ack_reminder_days": "3", "certificate_gate": gate}
    )
    assert saved.status_code == 303, text_of(saved)


def issue(client, po_id):
    page = client.get(f"/purchase-orders/{po_id}")
    html = text_of(page)
    version = re.search(r'name="version" value="(\d+)"', html).group(1)
    return client.post(f"/purchase-orders/{po_id}/issue", data={"csrf_token": token_in(html), "version": version})


def po_status(tx, world, po_id) -> str:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return uow.scalar(sa.select(PurchaseOrder.status).where(PurchaseOrder.id == po_id))


@pytest.fixture
def component_rule(tx, world, who):
    """ISO 13485 for suppliers of components (the world's items are components)."""
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        kind = make_type(uow, who["quality"])
        compliance.add_requirement(uow, who["buyer"], certificate_type_id=kind.id, scope="category", category="component")
        uow.commit()
        return kind


def test_the_draft_warns_and_issuing_warns_by_default(app, tx, world, who, component_rule):
    po_id = issued_order(tx, world, who, count=1, issue=False)
    buyer = signed_in(app, world.users["buyer"])
    html = text_of(buyer.get(f"/purchase-orders/{po_id}"))
    assert "The supplier lacks valid required certificates: ISO 13485 (Missing)." in html
    issued = issue(buyer, po_id)
    assert issued.status_code == 303, text_of(issued)
    html = text_of(buyer.get(f"/purchase-orders/{po_id}"))
    assert "The purchase order was issued to the supplier." in html
    assert "Note: the supplier lacks valid certificates: ISO 13485 (Missing)." in html
    assert po_status(tx, world, po_id) == "issued"


def test_the_block_setting_refuses_the_issue_until_the_certificate_is_approved(app, tx, world, who, component_rule, settings):
    po_id = issued_order(tx, world, who, count=1, issue=False)
    buyer = signed_in(app, world.users["buyer"])
    set_gate(buyer, "block")
    refused = issue(buyer, po_id)
    html = text_of(refused)
    assert refused.status_code == 422, html
    assert "Supplier 1 of alpha lacks a valid ISO 13485. Orders to this supplier are not issued until it has one." in html
    assert po_status(tx, world, po_id) == "draft"

    # A pending certificate does not open the gate; an approved one does.
    with tx.uow(tenant_id=world.tenant_id, actor=who["supplier1"]) as uow:
        certificate = upload(uow, who["supplier1"], app.extensions["traceport_vault"], component_rule)
        uow.commit()
    assert issue(buyer, po_id).status_code == 422 and po_status(tx, world, po_id) == "draft"
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        approve(uow, who["quality"], certificate, settings)
        uow.commit()
    assert "lacks valid required certificates" not in text_of(buyer.get(f"/purchase-orders/{po_id}"))
    issued = issue(buyer, po_id)
    assert issued.status_code == 303, text_of(issued)
    assert po_status(tx, world, po_id) == "issued"


def test_the_gate_asks_nothing_of_a_supplier_whose_items_need_no_certificate(app, tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        kind = make_type(uow, who["quality"])
        compliance.add_requirement(uow, who["buyer"], certificate_type_id=kind.id, scope="category", category="sterile_barrier")
        uow.commit()
    po_id = issued_order(tx, world, who, count=1, issue=False)
    buyer = signed_in(app, world.users["buyer"])
    set_gate(buyer, "block")
    assert "lacks valid required certificates" not in text_of(buyer.get(f"/purchase-orders/{po_id}"))
    assert issue(buyer, po_id).status_code == 303
    assert po_status(tx, world, po_id) == "issued"


def test_the_queue_by_state_and_who_may_open_it(app, tx, world, iso):
    certificate_id = uploaded(signed_in(app, world.users["supplier1"]), iso)
    for role in ("quality", "buyer", "viewer"):
        client = signed_in(app, world.users[role])
        html = text_of(client.get("/buyer/certificates"))
        assert f'href="/certificates/{certificate_id}"' in html, role
        assert 'aria-current="page"' in html
    quality = signed_in(app, world.users["quality"])
    assert f'href="/certificates/{certificate_id}"' not in text_of(quality.get("/buyer/certificates?state=valid"))
    assert f'href="/certificates/{certificate_id}"' in text_of(quality.get("/buyer/certificates?state=nonsense"))
    supplier = signed_in(app, world.users["supplier1"])
    assert supplier.get("/buyer/certificates").status_code == 403
    assert supplier.get("/buyer/certificate-requirements").status_code == 403
    assert quality.get("/supplier/certificates").status_code == 403
    assert quality.get("/supplier/certificates/new").status_code == 403
