"""Certificates: upload with every field checked (nothing stored on bad input), review
with an electronic signature, renewals superseding, states on a day, and isolation."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa

from auth.errors import SignatureRefused
from auth.models import SecurityEvent, Signature
from documents import certificates
from documents.errors import AlreadyReviewed, CertificateNotFound
from documents.models import Certificate, CertificateSite, StoredFile
from kernel.errors import Forbidden, ValidationFailed
from tests.documents.certificate_support import approve, days, make_type, pdf_bytes, people, today, upload
from tests.factories import site_of


def counts(uow) -> tuple[int, int]:
    return (
        uow.scalar(sa.select(sa.func.count()).select_from(Certificate)),
        uow.scalar(sa.select(sa.func.count()).select_from(StoredFile)),
    )


def test_upload_waits_for_review_then_the_signed_approval_makes_it_valid(tx, world, who, vault, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        kind = make_type(uow, who["quality"], accepted_issuers=["TÜV SÜD", "BSI"])
        uow.switch_tenant(world.tenant_id, who["supplier1"])
        site = site_of(uow, world.suppliers[0])
        cert = upload(
            uow, who["supplier1"], vault, kind, site_ids=[site], item_ids=[world.items[0].id], basic_udi_dis=["4mlx0001 "]
        )
        assert cert.status == "pending_review" and cert.version == 1
        view = certificates.get(uow, who["supplier1"], certificate_id=cert.id)
        assert view.state == "pending_review"
        assert view.site_ids == [site] and view.item_ids == [world.items[0].id]
        assert cert.basic_udi_dis == ["4MLX0001"]
        assert len(view.file.sha256) == 64 and view.file.supplier_id == world.suppliers[0].id

        uow.switch_tenant(world.tenant_id, who["quality"])
        approve(uow, who["quality"], cert, settings)
        view = certificates.get(uow, who["quality"], certificate_id=cert.id)
        assert view.state == "valid"
        assert cert.reviewed_by == who["quality"].user_id == cert.responsible_user_id
        signature = uow.session.scalars(sa.select(Signature).where(Signature.record_id == cert.id)).one()
        assert signature.meaning == "approved" and signature.supplier_id == world.suppliers[0].id


def test_a_type_without_review_counts_at_once(tx, world, who, vault):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        kind = make_type(uow, who["quality"], code="rohs", name="RoHS declaration", review_required=False, expiry_required=False)
        uow.switch_tenant(world.tenant_id, who["supplier1"])
        cert = upload(uow, who["supplier1"], vault, kind, expires_on=None)
        assert cert.status == "approved" and cert.reviewed_by is None
        assert certificates.state(cert, today()) == "valid"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"expires_on": days(-40), "valid_from": days(-10)}, "expires_on"),  # before valid-from
        ({"expires_on": None}, "expires_on"),  # the type needs one
        ({"expires_on": days(-1), "valid_from": days(-100)}, "expires_on"),  # expired already
        ({"valid_from": None}, "valid_from"),
        ({"issuing_body": "Some Lab"}, "issuing_body"),  # not an accepted issuer
        ({"number": "  "}, "number"),
        ({"basic_udi_dis": ["no spaces allowed"]}, "basic_udi_dis"),
        ({"certificate_type_id": None}, "certificate_type_id"),
        ({"content": b"MZ\x90\x00" + b"\x00" * 200, "filename": "iso.pdf"}, "file"),  # an .exe renamed .pdf
        ({"content": b"", "filename": "empty.pdf"}, "file"),
    ],
)
def test_bad_input_is_refused_and_nothing_is_stored(tx, world, who, vault, change, field):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        kind = make_type(uow, who["quality"], accepted_issuers=["TÜV SÜD"])
        uow.switch_tenant(world.tenant_id, who["supplier1"])
        before = counts(uow)
        if change.get("content") == b"":
            change = dict(change, content=None)
            with pytest.raises(ValidationFailed) as failed:
                certificates.upload(
                    uow, who["supplier1"], vault=vault, stream=__import__("io").BytesIO(b""), filename="empty.pdf",
                    certificate_type_id=kind.id, number="1", issuing_body="TÜV SÜD", valid_from=days(-1), expires_on=days(100),
                )  # fmt: skip
        else:
            with pytest.raises(ValidationFailed) as failed:
                upload(uow, who["supplier1"], vault, kind, **change)
        assert field in failed.value.errors
        assert counts(uow) == before


def test_a_site_of_another_supplier_or_of_the_tenant_is_refused(tx, world, who, vault):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        kind = make_type(uow, who["quality"])
        other_site = site_of(uow, world.suppliers[1])
        uow.switch_tenant(world.tenant_id, who["supplier1"])
        for site in (other_site, uuid.uuid4()):
            with pytest.raises(ValidationFailed) as failed:
                upload(uow, who["supplier1"], vault, kind, site_ids=[site])
            assert "site_ids" in failed.value.errors
        assert uow.scalar(sa.select(sa.func.count()).select_from(CertificateSite)) == 0


def test_an_unknown_item_is_refused(tx, world, who, vault):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        kind = make_type(uow, who["quality"])
        uow.switch_tenant(world.tenant_id, who["supplier1"])
        with pytest.raises(ValidationFailed) as failed:
            upload(uow, who["supplier1"], vault, kind, item_ids=[uuid.uuid4()])
        assert "item_ids" in failed.value.errors


def test_only_a_supplier_uploads_and_only_the_tenant_reviews(tx, world, who, vault, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        kind = make_type(uow, who["quality"])
        with pytest.raises(Forbidden):
            upload(uow, who["quality"], vault, kind)
        uow.switch_tenant(world.tenant_id, who["supplier1"])
        cert = upload(uow, who["supplier1"], vault, kind)
        with pytest.raises(Forbidden):  # a supplier approving its own certificate
            approve(uow, who["supplier1"], cert, settings)
        uow.switch_tenant(world.tenant_id, who["viewer"])
        with pytest.raises(Forbidden):
            approve(uow, who["viewer"], cert, settings)
        assert cert.status == "pending_review"


def test_a_wrong_password_refuses_the_signature_and_leaves_it_pending(tx, world, who, vault, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        kind = make_type(uow, who["quality"])
        uow.switch_tenant(world.tenant_id, who["supplier1"])
        cert = upload(uow, who["supplier1"], vault, kind)
        uow.switch_tenant(world.tenant_id, who["quality"])
        with pytest.raises(SignatureRefused):
            approve(uow, who["quality"], cert, settings, password="wrong password entirely")
        assert cert.status == "pending_review"
        assert uow.scalar(sa.select(sa.func.count()).select_from(SecurityEvent).where(SecurityEvent.kind == "signature_failed"))


def test_a_rejection_needs_a_reason_and_a_second_review_conflicts(tx, world, who, vault, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        kind = make_type(uow, who["quality"])
        uow.switch_tenant(world.tenant_id, who["supplier1"])
        cert = upload(uow, who["supplier1"], vault, kind)
        uow.switch_tenant(world.tenant_id, who["quality"])
        with pytest.raises(ValidationFailed) as failed:
            approve(uow, who["quality"], cert, settings, approve=False, reason=" ")
        assert "reason" in failed.value.errors
        approve(uow, who["quality"], cert, settings, approve=False, reason="Scope does not cover sterilisation.")
        assert cert.status == "rejected" and certificates.state(cert, today()) == "rejected"
        with pytest.raises(AlreadyReviewed):
            approve(uow, who["quality"], cert, settings)


def test_a_review_reason_over_2000_characters_is_refused_and_leaves_it_pending(tx, world, who, vault, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        kind = make_type(uow, who["quality"])
        uow.switch_tenant(world.tenant_id, who["supplier1"])
        cert = upload(uow, who["supplier1"], vault, kind)
        uow.switch_tenant(world.tenant_id, who["quality"])
        for approving in (False, True):
            with pytest.raises(ValidationFailed) as failed:
                approve(uow, who["quality"], cert, settings, approve=approving, reason="x" * 2001)
            assert failed.value.errors == {"reason": "At most 2,000 characters."}
        assert cert.status == "pending_review"
        assert uow.scalar(sa.select(sa.func.count()).select_from(Signature).where(Signature.record_id == cert.id)) == 0
        approve(uow, who["quality"], cert, settings, approve=False, reason="x" * 2000)  # at the limit
        assert cert.status == "rejected"


def test_an_inactive_type_is_refused_on_upload_and_nothing_is_stored(tx, world, who, vault):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        kind = make_type(uow, who["quality"], active=False)
        uow.switch_tenant(world.tenant_id, who["supplier1"])
        before = counts(uow)
        with pytest.raises(ValidationFailed) as failed:
            upload(uow, who["supplier1"], vault, kind)
        assert failed.value.errors == {"certificate_type_id": "Choose the type of certificate."}
        assert counts(uow) == before
        assert kind.id not in {t.id for t in certificates.list_types(uow, who["supplier1"])}


def test_a_renewal_supersedes_the_old_version_once_approved(tx, world, who, vault, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        kind = make_type(uow, who["quality"])
        uow.switch_tenant(world.tenant_id, who["supplier1"])
        first = upload(uow, who["supplier1"], vault, kind, expires_on=days(20))
        uow.switch_tenant(world.tenant_id, who["quality"])
        approve(uow, who["quality"], first, settings)
        assert certificates.state(first, today()) == "expiring"

        uow.switch_tenant(world.tenant_id, who["supplier1"])
        second = upload(uow, who["supplier1"], vault, kind, renews_id=first.id, expires_on=days(1100), content=pdf_bytes("v2"))
        assert second.version == 2 and second.supersedes_id == first.id
        assert first.status == "approved"  # still counts until the renewal is approved
        with pytest.raises(ValidationFailed) as failed:  # renewing the old one again
            upload(uow, who["supplier1"], vault, kind, renews_id=first.id)
        assert "renews_id" in failed.value.errors

        uow.switch_tenant(world.tenant_id, who["quality"])
        approve(uow, who["quality"], second, settings)
        uow.session.refresh(first)
        assert first.status == "superseded" and second.status == "approved"
        assert [c.version for c in certificates.versions(uow, certificate_id=first.id)] == [2, 1]
        listed = certificates.list_certificates(uow, who["quality"])
        assert second.id in {v.certificate.id for v in listed} and first.id not in {v.certificate.id for v in listed}


def test_a_renewal_must_keep_the_type(tx, world, who, vault, settings):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        kind = make_type(uow, who["quality"])
        other = make_type(uow, who["quality"], code="ce-mdr", name="CE certificate (MDR)")
        uow.switch_tenant(world.tenant_id, who["supplier1"])
        first = upload(uow, who["supplier1"], vault, kind)
        with pytest.raises(ValidationFailed) as failed:
            upload(uow, who["supplier1"], vault, other, renews_id=first.id)
        assert "certificate_type_id" in failed.value.errors


def test_states_on_a_day():
    cert = Certificate(status="approved", valid_from=days(-10), expires_on=days(90))
    assert certificates.state(cert, today()) == "expiring"
    assert certificates.state(cert, days(-1)) == "valid"
    assert certificates.state(cert, days(90)) == "expiring"  # the last day still counts
    assert certificates.state(cert, days(91)) == "expired"
    assert certificates.state(Certificate(status="pending_review", expires_on=days(5)), today()) == "pending_review"
    assert certificates.counts_as_valid("expiring") and not certificates.counts_as_valid("pending_review")


def test_another_supplier_and_another_tenant_cannot_see_it(tx, world, other_world, who, vault):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        kind = make_type(uow, who["quality"])
        uow.switch_tenant(world.tenant_id, who["supplier1"])
        cert = upload(uow, who["supplier1"], vault, kind)
        uow.switch_tenant(world.tenant_id, who["supplier2"])
        with pytest.raises(CertificateNotFound):
            certificates.get(uow, who["supplier2"], certificate_id=cert.id)
        assert certificates.list_certificates(uow, who["supplier2"]) == []
        outsiders = people(tx, other_world)
        uow.switch_tenant(other_world.tenant_id, outsiders["quality"])
        with pytest.raises(CertificateNotFound):
            certificates.get(uow, outsiders["quality"], certificate_id=cert.id)


def test_types_have_unique_codes_and_need_a_name(tx, world, who):
    with tx.uow(tenant_id=world.tenant_id, actor=who["quality"]) as uow:
        make_type(uow, who["quality"])
        with pytest.raises(ValidationFailed) as failed:
            make_type(uow, who["quality"])
        assert "code" in failed.value.errors
        with pytest.raises(ValidationFailed) as failed:
            make_type(uow, who["quality"], code="x y", name="")
        assert set(failed.value.errors) == {"code", "name"}
        with pytest.raises(Forbidden):
            make_type(uow, who["buyer"], code="other")
