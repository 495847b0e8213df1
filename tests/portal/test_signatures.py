"""Electronic signatures on pages: the shared partial (name, meaning, time in both zones,
"no longer matches"), and signing from a view, where a refusal keeps its trace but
nothing else of the request."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import sqlalchemy as sa
from flask import render_template_string, request

from auth import signatures
from auth.models import SecurityEvent, Signature
from erp.items.models import Item
from erp.items.service import create_item
from kernel.uow import Actor
from portal.shell import permission_required, request_uow
from portal.shell.signatures import sign_record
from tests.auth.support import member
from tests.factories import PASSWORD, unique
from tests.portal.support import csrf, login, text_of

PARTIAL = '{% from "shell/signatures.html" import signature_list %}{{ signature_list(signatures) }}'


def test_the_partial_shows_who_what_when_and_whether_it_still_matches(app, tx, world, settings):
    when = datetime(2026, 3, 1, 8, 30, tzinfo=UTC)
    with tx.uow() as uow:
        user = member(uow, world, role="quality")
        user.timezone = "Asia/Shanghai"
        uow.switch_tenant(world.tenant_id, actor=Actor.system())
        item = create_item(uow, Actor.system(), part_number=unique("SIG-"), name="Pouch", category="packaging", uom="EA")
        content = signatures.content_of(item)
        uow.add(
            Signature(
                tenant_id=world.tenant_id,
                record_type="item",
                record_id=item.id,
                content_hash=signatures.content_hash(content),
                meaning="approved",
                user_id=user.id,
                printed_name="Li Wei",
                email=user.email,
                signed_at=when,
                time_zone="Asia/Shanghai",
                method="password",
            )
        )
        uow.flush()
        current = signatures.signatures_for(uow, record_type="item", record_id=item.id, content=content)
        changed = signatures.signatures_for(uow, record_type="item", record_id=item.id, content={**content, "name": "Bag"})

    with app.test_request_context("/"):
        html = render_template_string(PARTIAL, signatures=current)
        assert "Li Wei" in html and "Approved" in html and user.email in html
        assert "8:30:00" in html  # the viewer's zone (UTC here)
        assert "4:30:00" in html and "(Asia/Shanghai)" in html  # the signer's: 16:30 in Shanghai
        assert 'datetime="2026-03-01T08:30:00+00:00"' in html
        assert "Signed content unchanged" in html and "no longer matches" not in html
        stale = render_template_string(PARTIAL, signatures=changed)
        assert "Content changed since signing: this signature no longer matches the record" in stale
        assert "signature-stale" in stale
        assert "Not signed yet." in render_template_string(PARTIAL, signatures=[])


def add_signing_route(app, tx):
    """A page that changes an item and signs it in one request, as later issues' views
    (certificate review, batch release) will."""

    @permission_required("items.manage", side="buyer")
    def sign_item(item_id):
        uow = request_uow()
        item = uow.session.scalar(sa.select(Item).where(Item.id == item_id))
        item.name = request.form["name"]
        uow.flush()
        signature = sign_record(
            record_type="item",
            record_id=item.id,
            content=signatures.content_of(item),
            meaning="approved",
            password=request.form.get("password", ""),
        )
        return str(signature.id)

    app.add_url_rule("/test/items/<uuid:item_id>/sign", view_func=sign_item, methods=["POST"])


def test_a_refused_signature_in_a_view_keeps_only_its_trace(client, app, tx, world):
    add_signing_route(app, tx)
    with tx.uow() as uow:
        user = member(uow, world, role="buyer")
        uow.switch_tenant(world.tenant_id, actor=Actor.system())
        item = create_item(uow, Actor.system(), part_number=unique("SIG-"), name="Pouch", category="packaging", uom="EA")
        uow.commit()
    login(client, user)
    token = csrf(client, "/buyer/")

    refused = client.post(f"/test/items/{item.id}/sign", data={"name": "Bag", "password": "wrong", "csrf_token": token})
    assert refused.status_code == 403 and "The signature was not recorded" in text_of(refused)
    with tx.uow(tenant_id=world.tenant_id) as uow:
        assert uow.scalar(sa.select(Item.name).where(Item.id == item.id)) == "Pouch"  # the change is gone
        assert uow.scalar(sa.select(sa.func.count()).select_from(Signature).where(Signature.record_id == item.id)) == 0
        event = uow.execute(
            sa.select(SecurityEvent.__table__).where(SecurityEvent.user_id == user.id, SecurityEvent.kind == "signature_failed")
        ).one()
        assert event.detail["record_id"] == str(item.id) and event.detail["reason"] == "wrong_credentials"
        uow.switch_tenant(None, actor=Actor(user_id=user.id, name="test"))
        assert uow.scalar(sa.text("select failed_logins from user_account where id = :id"), {"id": user.id}) == 1

    signed = client.post(f"/test/items/{item.id}/sign", data={"name": "Bag", "password": PASSWORD, "csrf_token": token})
    assert signed.status_code == 200
    with tx.uow(tenant_id=world.tenant_id) as uow:
        row = uow.session.get(Signature, (world.tenant_id, uuid.UUID(text_of(signed))))
        item_now = uow.session.scalar(sa.select(Item).where(Item.id == item.id))
        assert item_now.name == "Bag" and row.printed_name == user.full_name
        assert row.content_hash == signatures.content_hash(signatures.content_of(item_now))
