"""POST /api/v1/gs1/parse: a code read into its data, or a problem detail saying what is wrong."""

from __future__ import annotations

import pytest

from tests.portal.api.test_items_api import csrf_header
from tests.portal.api.test_oauth import bearer, register, token_for
from tests.portal.support import login

GTIN = "09506000134352"
URL = "/api/v1/gs1/parse"
ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


@pytest.mark.parametrize("who", ["buyer", "supplier1", "warehouse", "viewer"])
def test_buyers_and_suppliers_read_a_scanned_code(client, world, who):
    login(client, world.users[who])
    response = client.post(URL, json={"text": f"]d201{GTIN}17261200" + "10ABC123\x1d21S1"}, headers=csrf_header(client))
    assert response.status_code == 200, response.get_data(as_text=True)
    body = response.json
    assert (body["kind"], body["symbology"], body["gtin"], body["lot"], body["serial"]) == ("gs1", "]d2", GTIN, "ABC123", "S1")
    assert body["expiry_date"].endswith("-12-31")
    assert body["element_string"] == f"(01){GTIN}(17)261200(10)ABC123(21)S1"
    assert [a["ai"] for a in body["ais"]] == ["01", "17", "10", "21"]
    [warning] = body["warnings"]
    assert warning["code"] == "gs1-day-00" and "last day of the month" in warning["message"]


def test_a_wrong_check_digit_is_a_problem_detail_naming_the_right_one(client, world):
    login(client, world.users["buyer"])
    response = client.post(URL, json={"text": "(01)09506000134353"}, headers=csrf_header(client))
    assert response.status_code == 422 and response.mimetype == "application/problem+json"
    body = response.json
    assert body["type"] == "urn:traceport:problem:gs1-check-digit"
    assert body["detail"] == "The check digit of GTIN 09506000134353 in AI (01) is wrong: it should be 2."
    assert body["errors"] == {"gs1-check-digit": body["detail"]}


def test_month_13_is_refused(client, world):
    login(client, world.users["supplier1"])
    response = client.post(URL, json={"text": f"(01){GTIN}(17)261300"}, headers=csrf_header(client))
    assert response.status_code == 422
    assert response.json["detail"] == "AI (17) holds 261300, which is not a date: there is no month 13."


def test_a_body_without_text_is_refused(client, world):
    login(client, world.users["buyer"])
    response = client.post(URL, json={"code": GTIN}, headers=csrf_header(client))
    assert response.status_code == 422 and response.json["errors"]["text"] == "This field is required."


def test_a_scanner_api_client_reads_a_digital_link(client, tx, world):
    token = token_for(client, register(tx, world, scopes=["receipt.scan"], name="Dock scanner"))
    uri = f"https://id.gs1.org/01/{GTIN}/10/ABC123/21/S1?17=261231"
    read = client.post(URL, json={"text": uri}, headers=bearer(token))
    assert read.status_code == 200 and (read.json["lot"], read.json["expiry_date"]) == ("ABC123", "2026-12-31")


def test_problems_come_in_the_callers_language(client, tx, world):
    token = token_for(client, register(tx, world, scopes=["items.view"]))
    response = client.post(URL, json={"text": "(10)ABCDEFGHIJKLMNOPQRSTU"}, headers=bearer(token) | ZH)
    assert response.status_code == 422 and response.json["type"] == "urn:traceport:problem:gs1-too-long"
    assert response.json["detail"] == "AI (10) 最多允许 20 个字符；ABCDEFGHIJKLMNOPQRSTU 有 21 个。"


def test_a_client_without_a_reading_permission_is_refused(client, tx, world):
    token = token_for(client, register(tx, world, scopes=["po.view"]))
    response = client.post(URL, json={"text": f"(01){GTIN}"}, headers=bearer(token))
    assert response.status_code == 403


def test_signed_out_is_refused(client):
    response = client.post(URL, json={"text": f"(01){GTIN}"}, headers=bearer("nope"))
    assert response.status_code == 401


def test_the_operation_is_in_the_openapi_document(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["paths"]["/api/v1/gs1/parse"]["post"]["operationId"] == "api_parse_gs1"
