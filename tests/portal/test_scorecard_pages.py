"""The scorecard pages (portal/scoring/scorecards.py and supplier.py): the buyers' list
of a period and one supplier's scorecard with its working and evidence, in both
languages; the dispute flow through the pages (the supplier disputes a late delivery,
the buyer decides, the score changes); the settings page's errors beside their fields
with what was typed kept; a supplier sees its own scorecard only."""

from __future__ import annotations

from datetime import timedelta

import pytest

from kernel.clock import utcnow
from kernel.uow import Actor
from scoring import service as scoring
from scoring.periods import period_of
from tests.portal.support import signed_in, text_of, token_in
from tests.scoring.support import Books, at


def last_month():
    return period_of("month", utcnow().date().replace(day=1) - timedelta(days=1))


@pytest.fixture
def month():
    return last_month()


@pytest.fixture
def data(tx, world, month):
    """Supplier 1 last month: two deliveries due on the 2nd, one on time and one 3 days
    late, and an inspected lot; the month's scorecards stored."""
    with tx.uow(tenant_id=world.tenant_id) as uow:
        books = Books(uow, world, world.suppliers[0])
        _, on_time = books.order(due=month.start + timedelta(days=1))
        _, late = books.order(due=month.start + timedelta(days=1))
        receipt = books.delivery(on_time, arrived=at(month.start + timedelta(days=1)))
        books.delivery(late, arrived=at(month.start + timedelta(days=4)))
        books.inspection(receipt, received="100", completed=at(month.start + timedelta(days=2)))
        scoring.recompute(uow, Actor.system("test"), period=month)
        uow.commit()
    return books


def chinese(client, path: str) -> None:
    token = token_in(client.get(path).data)
    client.post("/language", data={"locale": "zh_Hans_CN", "next": "/", "csrf_token": token})


def query(month) -> str:
    return f"kind=month&period={month.key}"


# --- buyers' pages -------------------------------------------------------------------------


def test_the_buyer_sees_the_suppliers_scorecards_of_a_period(app, world, data, month):
    client = signed_in(app, world.users["buyer"])
    response = client.get(f"/buyer/scorecards?{query(month)}")
    assert response.status_code == 200
    page = text_of(response)
    assert world.suppliers[0].code in page and world.suppliers[1].code in page
    assert f"/buyer/scorecards/{world.suppliers[0].id}?kind=month" in page
    assert "No data" in page  # supplier 2 had nothing to count: said so, not 0
    assert "Recompute now" in page
    assert "Not yet" not in page  # both stored: computed_at is shown
    # Sorted worst first on request; the other supplier's "no data" is still last.
    worst = text_of(client.get(f"/buyer/scorecards?{query(month)}&order=asc"))
    assert worst.index(world.suppliers[0].code) < worst.index(world.suppliers[1].code)


def test_the_list_in_chinese(app, world, data, month):
    client = signed_in(app, world.users["quality"])
    chinese(client, "/buyer/scorecards")
    page = text_of(client.get(f"/buyer/scorecards?{query(month)}"))
    assert 'lang="zh' in page
    assert world.suppliers[0].code in page


def test_a_period_never_computed_says_so(app, world, data):
    page = text_of(signed_in(app, world.users["buyer"]).get("/buyer/scorecards?kind=month&period=2019-01"))
    assert "No scorecards of 2019-01 have been computed yet" in page


def test_a_bad_period_is_refused_beside_the_field(app, world, data):
    response = signed_in(app, world.users["buyer"]).get("/buyer/scorecards?kind=month&period=2026-13")
    assert response.status_code == 422
    page = text_of(response)
    assert "Choose a period such as" in page and 'value="2026-13"' in page


def test_a_bad_page_link_starts_again(app, world, data, month):
    response = signed_in(app, world.users["buyer"]).get(f"/buyer/scorecards?{query(month)}&cursor=nonsense")
    assert response.status_code == 200
    assert "This page link is not valid" in text_of(response)


def test_recompute_now_is_for_managers(app, world, data, month):
    buyer = signed_in(app, world.users["buyer"])
    token = token_in(buyer.get("/buyer/scorecards").data)
    response = buyer.post("/buyer/scorecards/recompute", data={"kind": "month", "period": month.key, "csrf_token": token})
    assert response.status_code == 303
    assert f"period={month.key}" in response.headers["Location"]
    assert "are recomputed" in text_of(buyer.get(response.headers["Location"]))
    viewer = signed_in(app, world.users["viewer"])
    assert "Recompute now" not in text_of(viewer.get(f"/buyer/scorecards?{query(month)}"))
    token = token_in(viewer.get("/buyer/scorecards").data)
    assert viewer.post("/buyer/scorecards/recompute", data={"period": month.key, "csrf_token": token}).status_code == 403


def test_one_suppliers_scorecard_shows_its_working(app, world, data, month):
    supplier_id = world.suppliers[0].id
    client = signed_in(app, world.users["quality"])
    response = client.get(f"/buyer/scorecards/{supplier_id}?{query(month)}")
    assert response.status_code == 200
    page = text_of(response)
    assert "On-time delivery" in page and "50 %" in page and "1 / 2" in page  # value, numerator / denominator
    assert "Weight applied" in page and "no data: left out" in page  # returns, SCARs... have no data
    assert "Their weight was shared among the others" in page
    assert f"/buyer/scorecards/{supplier_id}/evidence/on_time?kind=month" in page
    # The trend: the reports' chart as an image, and its numbers as a table with the average.
    assert f"/scorecards/{supplier_id}/trend/score.svg" in page and "<svg" not in page
    assert "Tenant average" in page
    assert f"/scorecards/{supplier_id}/{month.key}/scorecard.pdf" in page


def test_the_evidence_lists_the_late_delivery(app, world, data, month):
    supplier_id = world.suppliers[0].id
    client = signed_in(app, world.users["buyer"])
    page = text_of(client.get(f"/buyer/scorecards/{supplier_id}/evidence/on_time?{query(month)}"))
    assert "arrived 3 days late" in page and "Counts against" in page
    assert "on time" in page and "Counts for" in page
    assert "Dispute this line" not in page  # the buyer does not dispute
    lots = text_of(client.get(f"/buyer/scorecards/{supplier_id}/evidence/lot_acceptance?{query(month)}"))
    assert "accepted, 100 inspected" in lots
    empty = text_of(client.get(f"/buyer/scorecards/{supplier_id}/evidence/scar_responsiveness?{query(month)}"))
    assert "Nothing is recorded for this KPI yet" in empty
    assert client.get(f"/buyer/scorecards/{supplier_id}/evidence/bogus?{query(month)}").status_code == 404


def test_the_evidence_in_chinese(app, world, data, month):
    client = signed_in(app, world.users["quality"])
    chinese(client, "/buyer/scorecards")
    response = client.get(f"/buyer/scorecards/{world.suppliers[0].id}/evidence/on_time?{query(month)}")
    assert response.status_code == 200 and 'lang="zh' in text_of(response)


# --- disputes through the pages --------------------------------------------------------------


def late_line(page: str) -> tuple[str, str]:
    """The ref_id and ref_sub_id of the form on the late delivery's row."""
    row = page[page.index("arrived 3 days late") :]
    ref_id = row.split('name="ref_id" value="', 1)[1].split('"', 1)[0]
    ref_sub_id = row.split('name="ref_sub_id" value="', 1)[1].split('"', 1)[0]
    return ref_id, ref_sub_id


def test_a_dispute_through_the_pages_changes_the_score(app, world, data, month):
    supplier = signed_in(app, world.users["supplier1"])
    own = text_of(supplier.get(f"/supplier/scorecard?{query(month)}"))
    assert "Our scorecard" in own and "50 %" in own
    assert "Tenant average" not in own  # the core hides it from suppliers
    evidence = text_of(supplier.get(f"/supplier/scorecard/evidence/on_time?{query(month)}"))
    assert "Dispute this line" in evidence
    ref_id, ref_sub_id = late_line(evidence)
    form = {"kind": "month", "period": month.key, "ref_id": ref_id, "ref_sub_id": ref_sub_id, "csrf_token": token_in(evidence)}
    # The comment is required: said beside the field, nothing saved.
    refused = supplier.post("/supplier/scorecard/evidence/on_time/dispute", data={**form, "comment": "   "})
    assert refused.status_code == 422
    assert 'class="field-error"' in text_of(refused)
    assert "You have not disputed anything" in text_of(supplier.get("/supplier/scorecard/disputes"))
    sent = supplier.post(
        "/supplier/scorecard/evidence/on_time/dispute", data={**form, "comment": "Your dock moved our slot by three days."}
    )
    assert sent.status_code == 303
    assert "is with the buyer" in text_of(supplier.get(sent.headers["Location"]))
    mine = text_of(supplier.get("/supplier/scorecard/disputes"))
    assert "Your dock moved our slot" in mine and "Open" in mine
    again = supplier.post("/supplier/scorecard/evidence/on_time/dispute", data={**form, "comment": "again"})
    assert again.status_code == 409 and "disputed already" in text_of(again)

    buyer = signed_in(app, world.users["buyer"])
    queue = text_of(buyer.get("/buyer/scorecards/disputes"))
    assert "Your dock moved our slot" in queue
    link = queue.split('href="/buyer/scorecards/disputes/', 1)[1].split('"', 1)[0]
    path = f"/buyer/scorecards/disputes/{link}"
    token = token_in(buyer.get(path).data)
    no_reason = buyer.post(path, data={"decision": "accept", "reason": "", "csrf_token": token})
    assert no_reason.status_code == 422
    page = text_of(no_reason)
    assert 'id="reason-error"' in page and 'value="accept" checked' in page  # the choice is kept
    no_choice = buyer.post(path, data={"reason": "Our dock", "csrf_token": token})
    assert no_choice.status_code == 422 and "Choose to accept or to reject" in text_of(no_choice)
    assert ">Our dock</textarea>" in text_of(no_choice)
    decided = buyer.post(path, data={"decision": "accept", "reason": "Our dock rescheduled it.", "csrf_token": token})
    assert decided.status_code == 303
    assert "no longer counts" in text_of(buyer.get(decided.headers["Location"]))
    assert "No open disputes" in text_of(buyer.get("/buyer/scorecards/disputes"))
    assert "Our dock rescheduled it." in text_of(buyer.get("/buyer/scorecards/disputes?status=accepted"))

    after = text_of(supplier.get(f"/supplier/scorecard?{query(month)}"))
    assert "100 %" in after and "1 / 1" in after  # the excluded delivery no longer counts
    outcome = text_of(supplier.get("/supplier/scorecard/disputes"))
    assert "Accepted" in outcome and "Our dock rescheduled it." in outcome
    assert "Excluded" in text_of(supplier.get(f"/supplier/scorecard/evidence/on_time?{query(month)}"))


def test_a_rejected_dispute_still_counts(app, world, data, month):
    supplier = signed_in(app, world.users["supplier1"])
    evidence = text_of(supplier.get(f"/supplier/scorecard/evidence/on_time?{query(month)}"))
    ref_id, ref_sub_id = late_line(evidence)
    supplier.post(
        "/supplier/scorecard/evidence/on_time/dispute",
        data={"kind": "month", "period": month.key, "ref_id": ref_id, "ref_sub_id": ref_sub_id, "comment": "Not late",
              "csrf_token": token_in(evidence)},
    )
    buyer = signed_in(app, world.users["quality"])
    queue = text_of(buyer.get("/buyer/scorecards/disputes"))
    path = "/buyer/scorecards/disputes/" + queue.split('href="/buyer/scorecards/disputes/', 1)[1].split('"', 1)[0]
    token = token_in(buyer.get(path).data)
    rejected = buyer.post(path, data={"decision": "reject", "reason": "The receipt time is right.", "csrf_token": token})
    assert rejected.status_code == 303
    outcome = text_of(supplier.get("/supplier/scorecard/disputes"))
    assert "Rejected" in outcome and "The receipt time is right." in outcome
    assert "50 %" in text_of(supplier.get(f"/supplier/scorecard?{query(month)}"))
    assert buyer.post(path, data={"decision": "accept", "reason": "changed my mind", "csrf_token": token}).status_code == 409


def test_a_supplier_cannot_dispute_another_suppliers_line(app, world, data, month):
    evidence = text_of(signed_in(app, world.users["supplier1"]).get(f"/supplier/scorecard/evidence/on_time?{query(month)}"))
    ref_id, ref_sub_id = late_line(evidence)
    other = signed_in(app, world.users["supplier2"])
    token = token_in(other.get("/supplier/scorecard").data)
    response = other.post(
        "/supplier/scorecard/evidence/on_time/dispute",
        data={"kind": "month", "period": month.key, "ref_id": ref_id, "ref_sub_id": ref_sub_id, "comment": "mine?",
              "csrf_token": token},
    )
    assert response.status_code == 404


# --- settings -----------------------------------------------------------------------------------


def settings_form(client) -> dict:
    page = text_of(client.get("/buyer/scorecards/settings"))
    form = {"csrf_token": token_in(page)}
    for chunk in page.split('<input type="text" id="')[1:]:
        name = chunk.split('"', 1)[0]
        form[name] = chunk.split('value="', 1)[1].split('"', 1)[0]
    for chunk in page.split('<select id="')[1:]:
        name = chunk.split('"', 1)[0]
        form[name] = chunk.split("selected", 1)[0].rsplit('value="', 1)[1].split('"', 1)[0]
    return form


def test_the_settings_save_with_weights_adding_up_to_100(app, world, data):
    client = signed_in(app, world.users["buyer"])
    form = settings_form(client)
    assert form["weight_on_time"] == "20" and form["action_d"] == "approval"
    form |= {"weight_on_time": "25", "weight_otif": "5", "action_d": "block"}
    response = client.post("/buyer/scorecards/settings", data=form)
    assert response.status_code == 303
    again = settings_form(client)
    assert again["weight_on_time"] == "25" and again["action_d"] == "block"


def test_weights_not_adding_up_to_100_are_refused_with_what_was_typed(app, world, data):
    client = signed_in(app, world.users["buyer"])
    form = settings_form(client) | {"weight_on_time": "30"}
    response = client.post("/buyer/scorecards/settings", data=form)
    assert response.status_code == 422
    page = text_of(response)
    assert "The weights must add up to 100." in page and 'id="weights-error"' in page
    assert 'id="weight_on_time" name="weight_on_time" value="30"' in page  # kept
    assert "110" in page  # the total typed
    assert settings_form(client)["weight_on_time"] == "20"  # nothing saved


def test_a_threshold_over_100_is_refused_beside_its_field(app, world, data):
    client = signed_in(app, world.users["quality"])
    form = settings_form(client) | {"threshold_ppm": "150", "grade_a_min": "50", "grade_b_min": "80"}
    response = client.post("/buyer/scorecards/settings", data=form)
    assert response.status_code == 422
    page = text_of(response)
    assert 'id="threshold_ppm-error"' in page and "Enter a threshold from 0 to 100." in page
    assert 'value="150"' in page
    assert 'id="grade_a_min-error"' in page  # both forms' errors at once
    chinese(client, "/buyer/scorecards")
    token = settings_form(client)["csrf_token"]
    chinese_page = text_of(client.post("/buyer/scorecards/settings", data=form | {"csrf_token": token}))
    assert 'lang="zh' in chinese_page and 'id="threshold_ppm-error"' in chinese_page
    assert settings_form(client)["threshold_ppm"] == "80"


def test_settings_and_disputes_are_for_managers(app, world, data):
    viewer = signed_in(app, world.users["viewer"])
    assert viewer.get("/buyer/scorecards/settings").status_code == 403
    assert viewer.get("/buyer/scorecards/disputes").status_code == 403
    assert viewer.get("/buyer/scorecards").status_code == 200


# --- suppliers: their own only -------------------------------------------------------------------


def test_a_supplier_sees_its_own_scorecard_only(app, world, data, month):
    mine, theirs = world.suppliers[1], world.suppliers[0]
    client = signed_in(app, world.users["supplier2"])
    page = text_of(client.get(f"/supplier/scorecard?{query(month)}"))
    assert mine.name in page and theirs.name not in page
    assert "No data" in page  # supplier 2 had nothing to count
    assert "Tenant average" not in page
    # Another supplier's id: the buyers' pages refuse the side (403); the scorecard
    # routes that take an id (the reports' trends and PDF) answer "not found" from the
    # service (404); naming supplier_id in the query is refused by the shell's
    # isolation guard (403).
    assert client.get(f"/buyer/scorecards/{theirs.id}").status_code == 403
    assert client.get(f"/buyer/scorecards/{theirs.id}/evidence/on_time").status_code == 403
    assert client.get(f"/scorecards/{theirs.id}/trends").status_code == 404
    assert client.get(f"/supplier/scorecard?supplier_id={theirs.id}").status_code == 403
    assert client.get("/buyer/scorecards").status_code == 403


def test_the_supplier_page_in_chinese(app, world, data, month):
    client = signed_in(app, world.users["supplier1"])
    chinese(client, "/supplier/scorecard")
    response = client.get(f"/supplier/scorecard?{query(month)}")
    assert response.status_code == 200 and 'lang="zh' in text_of(response)
    assert client.get("/supplier/scorecard/disputes").status_code == 200


def test_buyers_do_not_open_the_supplier_pages(app, world, data):
    client = signed_in(app, world.users["buyer"])
    assert client.get("/supplier/scorecard").status_code == 403
