"""Error pages for people, problem details for the API, and what an error does to the
request's unit of work."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from erp.items.models import Item
from kernel.errors import Conflict
from portal.shell import request_uow
from tests.factories import make_item, unique
from tests.portal.support import login, text_of

PROBLEM_KEYS = {"type", "title", "status", "detail", "instance", "request_id"}


@pytest.fixture
def app(app):
    """The app with routes that write and then fail in different ways."""

    def write(part_number: str, outcome: str):
        make_item(request_uow(), part_number=part_number)
        if outcome == "conflict":
            raise Conflict()
        if outcome == "crash":
            raise RuntimeError("boom")
        return "written"

    app.add_url_rule("/test/write/<part_number>/<outcome>", view_func=write, methods=["POST"])
    app.add_url_rule("/api/test/write/<part_number>/<outcome>", endpoint="api_write", view_func=write, methods=["POST"])
    app.config["WTF_CSRF_ENABLED"] = False
    return app


def stored(tx, world, part_number) -> bool:
    with tx.uow(tenant_id=world.tenant_id) as uow:
        return uow.scalar(sa.select(sa.func.count()).select_from(Item).where(Item.part_number == part_number)) == 1


@pytest.mark.parametrize(("outcome", "status", "kept"), [("ok", 200, True), ("conflict", 409, False), ("crash", 500, False)])
def test_a_request_commits_only_when_it_succeeds(client, tx, world, outcome, status, kept):
    login(client, world.users["buyer"])
    part = unique("W-")
    assert client.post(f"/test/write/{part}/{outcome}").status_code == status
    assert stored(tx, world, part) is kept


def test_the_request_id_reaches_the_audit_trail(client, tx, world):
    login(client, world.users["buyer"])
    part = unique("W-")
    client.post(f"/test/write/{part}/ok", headers={"X-Request-ID": "trace-42"})
    with tx.uow(tenant_id=world.tenant_id) as uow:
        row = uow.execute(
            sa.text("select actor, request_id from audit.event where table_name = 'item' and new_values->>'part_number' = :p"),
            {"p": part},
        ).one()
    assert row.request_id == "trace-42" and row.actor == world.users["buyer"].email


def test_an_unexpected_error_is_a_friendly_page(client, world):
    login(client, world.users["buyer"])
    response = client.post(f"/test/write/{unique('W-')}/crash")
    page = text_of(response)
    assert response.status_code == 500 and "Something went wrong" in page and "boom" not in page
    assert world.users["buyer"].full_name in page  # the layout still knows who is signed in


def test_api_errors_are_problem_details(client, world):
    login(client, world.users["buyer"])
    for path, status in ((f"/api/test/write/{unique('W-')}/crash", 500), (f"/api/test/write/{unique('W-')}/conflict", 409)):
        response = client.post(path)
        assert response.status_code == status and response.mimetype == "application/problem+json"
        body = response.json
        assert set(body) >= PROBLEM_KEYS and body["status"] == status and body["instance"] == path
        assert body["request_id"] == response.headers["X-Request-ID"]
        assert "boom" not in response.get_data(as_text=True)
    assert client.post(path).json["type"] == "urn:traceport:problem:conflict"


def test_unknown_api_paths_are_problems_too(client):
    response = client.get("/api/v1/nothing-here", headers={"X-Request-ID": "r-1"})
    assert response.status_code == 404 and response.mimetype == "application/problem+json"
    assert response.json == {
        "type": "about:blank",
        "title": "Page not found",
        "status": 404,
        "detail": "There is nothing at this address.",
        "instance": "/api/v1/nothing-here",
        "request_id": "r-1",
    }


def test_not_found_and_not_allowed_pages(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404 and "Page not found" in text_of(response)
    assert response.mimetype == "text/html"
    response = client.delete("/login")
    assert response.status_code == 405 and "GET" in response.headers["Allow"]
