"""Item revisions on the pages: the current and next revision and the history on the
item, the revision column of the list, adding one (errors on the form, nothing saved),
cancelling a scheduled one (asked first), and who may."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from erp.items.models import ItemRevision
from erp.items.revisions import add_revision, today
from erp.items.service import create_item
from tests.factories import actor_in, unique
from tests.portal.support import login, text_of, token_in


def make(tx, world, *, scheduled: int | None = None):
    """An item made by the buyer (revision A today), with revision B `scheduled` days on."""
    with tx.uow() as lookup:
        actor = actor_in(lookup, world, "buyer")
    with tx.uow(tenant_id=world.tenant_id, actor=actor) as uow:
        item = create_item(uow, actor, part_number=unique("RP-"), name="Cap", category="component", uom="EA")
        later = None
        if scheduled is not None:
            later = add_revision(
                uow,
                actor,
                item_id=item.id,
                revision="B",
                effective_from=today() + timedelta(days=scheduled),
                description="New moulding",
            )
        uow.commit()
    return item, later


def stored(tx, world, item) -> list[tuple[str, str]]:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        rows = uow.execute(
            sa.select(ItemRevision.revision, ItemRevision.description)
            .where(ItemRevision.item_id == item.id)
            .order_by(ItemRevision.effective_from)
        ).all()
    return [tuple(r) for r in rows]


def add_form(client, item, data: dict):
    page = client.get(f"/items/{item.id}")
    assert page.status_code == 200
    return client.post(f"/items/{item.id}/revisions", data={"csrf_token": token_in(page.data), **data})


def test_the_item_shows_its_current_and_next_revision_and_the_history(client, tx, world):
    item, later = make(tx, world, scheduled=14)
    login(client, world.users["buyer"])
    page = text_of(client.get(f"/items/{item.id}"))
    assert "Current revision" in page and '<strong class="revision-code">A</strong>' in page
    assert "Next: revision B from" in page
    assert "In effect" in page and "Scheduled" in page and "New moulding" in page and "Initial release" in page
    assert f"/items/{item.id}/revisions/{later.id}/cancel" in page  # only the scheduled one can be cancelled
    assert len(re.findall(r"/revisions/[0-9a-f-]+/cancel", page)) == 1
    assert "Add a revision" in page
    listing = text_of(client.get(f"/items?q={item.part_number}"))
    assert re.search(r'data-label="Revision">A</td>', listing)


def test_a_viewer_sees_the_revisions_but_no_form_and_may_not_post(client, tx, world):
    item, later = make(tx, world, scheduled=14)
    login(client, world.users["viewer"])
    page = client.get(f"/items/{item.id}")
    text = text_of(page)
    assert page.status_code == 200 and "New moulding" in text
    assert "Add a revision" not in text and "/cancel" not in text
    token = token_in(page.data)
    data = {
        "csrf_token": token,
        "revision": "C",
        "effective_from": (today() + timedelta(days=30)).isoformat(),
        "description": "x",
    }
    assert client.post(f"/items/{item.id}/revisions", data=data).status_code == 403
    assert client.post(f"/items/{item.id}/revisions/{later.id}/cancel", data={"csrf_token": token}).status_code == 403
    assert stored(tx, world, item) == [("A", "Initial release"), ("B", "New moulding")]


def test_a_revision_is_added_through_the_form(client, tx, world):
    item, _ = make(tx, world)
    login(client, world.users["buyer"])
    when = today() + timedelta(days=21)
    response = add_form(client, item, {"revision": "b", "effective_from": when.isoformat(), "description": "Wall 2 mm"})
    assert response.status_code == 303 and response.headers["Location"].endswith(f"/items/{item.id}#revisions")
    assert stored(tx, world, item) == [("A", "Initial release"), ("B", "Wall 2 mm")]
    page = text_of(client.get(f"/items/{item.id}"))
    assert "Revision B of item" in page and "was saved" in page and "Next: revision B from" in page


def test_bad_input_is_shown_on_the_form_and_nothing_is_saved(client, tx, world):
    item, _ = make(tx, world)
    login(client, world.users["buyer"])
    yesterday = (today() - timedelta(days=1)).isoformat()
    response = add_form(client, item, {"revision": "A", "effective_from": yesterday, "description": " "})
    page = text_of(response)
    assert response.status_code == 422
    assert "<details open>" in page and 'role="alert"' in page
    errors = re.findall(r'<p class="field-error" id="([a-z_]+)-error">([^<]+)</p>', page)
    assert dict(errors) == {
        "revision": "This item already has a revision with this code.",
        "effective_from": "A revision cannot take effect in the past. Choose today or a later date.",
        "description": "This field is required.",
    }
    assert 'value="A"' in page  # what was typed stays in the form
    assert stored(tx, world, item) == [("A", "Initial release")]


def test_a_form_without_its_token_is_refused(client, tx, world):
    item, _ = make(tx, world)
    login(client, world.users["buyer"])
    data = {"revision": "B", "effective_from": (today() + timedelta(days=3)).isoformat(), "description": "x"}
    assert client.post(f"/items/{item.id}/revisions", data=data).status_code == 400
    assert stored(tx, world, item) == [("A", "Initial release")]


def test_a_scheduled_revision_is_cancelled_after_asking(client, tx, world):
    item, later = make(tx, world, scheduled=5)
    login(client, world.users["buyer"])
    path = f"/items/{item.id}/revisions/{later.id}/cancel"
    ask = client.get(path)
    assert ask.status_code == 200 and "Cancel revision B of item" in text_of(ask)
    assert stored(tx, world, item) == [("A", "Initial release"), ("B", "New moulding")]  # asking changes nothing
    done = client.post(path, data={"csrf_token": token_in(ask.data)})
    assert done.status_code == 303 and done.headers["Location"].endswith(f"/items/{item.id}#revisions")
    assert stored(tx, world, item) == [("A", "Initial release")]
    assert "was cancelled" in text_of(client.get(f"/items/{item.id}"))
    assert client.get(path).status_code == 404  # gone


def test_a_revision_in_effect_cannot_be_cancelled_from_the_page(client, tx, world):
    item, _ = make(tx, world)
    with tx.uow(tenant_id=world.tenant_id) as uow:
        first = uow.scalar(sa.select(ItemRevision.id).where(ItemRevision.item_id == item.id))
    login(client, world.users["buyer"])
    path = f"/items/{item.id}/revisions/{first}/cancel"
    ask = client.get(path)
    assert ask.status_code == 200 and "already taken effect" in text_of(ask) and "Cancel the revision" not in text_of(ask)
    refused = client.post(path, data={"csrf_token": token_in(ask.data)})
    assert refused.status_code == 409 and "Revision A has already taken effect" in text_of(refused)
    assert stored(tx, world, item) == [("A", "Initial release")]


def test_a_revision_of_another_item_or_tenant_is_not_found(client, tx, world, other_world):
    item, later = make(tx, world, scheduled=5)
    other, _ = make(tx, world)
    foreign, foreign_later = make(tx, other_world, scheduled=5)
    login(client, world.users["buyer"])
    assert client.get(f"/items/{other.id}/revisions/{later.id}/cancel").status_code == 404
    assert client.get(f"/items/{item.id}/revisions/{foreign_later.id}/cancel").status_code == 404
    assert client.get(f"/items/{foreign.id}").status_code == 404
    assert stored(tx, other_world, foreign) == [("A", "Initial release"), ("B", "New moulding")]


# --- the API --------------------------------------------------------------------------------------


def test_the_api_gives_the_revision_in_effect_and_takes_the_first_one(client, tx, world):
    item, _ = make(tx, world, scheduled=3)
    login(client, world.users["buyer"])
    assert client.get(f"/api/v1/items/{item.id}").json["revision"] == "A"
    headers = {"X-CSRFToken": client.get("/api/v1/me").json["csrf_token"]}
    body = {"part_number": unique("API-"), "name": "Cap", "category": "component", "uom": "EA", "revision": "02"}
    created = client.post("/api/v1/items", json=body, headers=headers)
    assert created.status_code == 201 and created.json["revision"] == "02"
    bad = client.post("/api/v1/items", json=body | {"part_number": unique("API-"), "revision": "0 2"}, headers=headers)
    assert bad.status_code == 422 and set(bad.json["errors"]) == {"revision"}
