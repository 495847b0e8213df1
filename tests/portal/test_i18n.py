"""English and Simplified Chinese: how the language is chosen, and what changes."""

from __future__ import annotations

import pytest

from auth.models import User
from tests.portal.support import csrf, login, text_of, token_in

ZH = {"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.5"}


def switch_language(client, locale: str, page: str = "/login"):
    token = token_in(client.get(page).data)
    return client.post("/language", data={"locale": locale, "next": page, "csrf_token": token})


def test_the_browser_language_is_used_before_sign_in(client):
    page = text_of(client.get("/login", headers=ZH))
    assert '<html lang="zh-Hans-CN">' in page and "登录" in page and "电子邮箱" in page
    page = text_of(client.get("/login", headers={"Accept-Language": "fr-FR,fr;q=0.9"}))
    assert '<html lang="en">' in page and "Sign in" in page


def test_the_not_found_page_is_translated(client):
    response = client.get("/no-such-page", headers=ZH)
    page = text_of(response)
    assert response.status_code == 404 and "页面不存在" in page and "返回首页" in page


def test_choosing_a_language_before_sign_in_lasts_for_the_session(client):
    response = switch_language(client, "zh_Hans_CN")
    assert response.status_code == 303 and response.headers["Location"] == "/login"
    assert "登录" in text_of(client.get("/login", headers={"Accept-Language": "en"}))


def test_a_language_that_is_not_offered_is_refused(client):
    token = csrf(client)
    assert client.post("/language", data={"locale": "xx", "csrf_token": token}).status_code == 400


def test_a_signed_in_users_choice_is_saved_and_wins_over_the_browser(client, world, tx):
    user = world.users["quality"]
    login(client, user)
    switch_language(client, "zh_Hans_CN", page="/buyer/")
    with tx.uow() as uow:
        assert uow.session.get(User, user.id).locale == "zh_Hans_CN"
    # A new session in a browser that asks for English still gets the saved language.
    client.post("/logout", data={"csrf_token": token_in(client.get("/buyer/").data)})
    with client.session_transaction() as session:
        session.clear()
    login(client, user)
    page = text_of(client.get("/buyer/", headers={"Accept-Language": "en"}))
    assert "概览" in page and "未结采购订单" in page and "质量工程师" in page


def test_names_and_numbers_follow_the_language(client, world):
    login(client, world.users["buyer"])
    switch_language(client, "zh_Hans_CN", page="/buyer/")
    page = text_of(client.get("/buyer/purchase-orders"))
    assert f"租户 {world.slug}" in page  # the tenant's Chinese name in the header
    assert "已下达" in page and "2026年11月1日" in page and "€150.00" in page
    switch_language(client, "en", page="/buyer/")
    page = text_of(client.get("/buyer/purchase-orders"))
    assert f"Tenant {world.slug}" in page and "Nov 1, 2026" in page


def test_api_problems_speak_the_users_language(client, world):
    login(client, world.users["buyer"])
    switch_language(client, "zh_Hans_CN", page="/buyer/")
    token = client.get("/api/v1/me").json["csrf_token"]
    response = client.post("/api/v1/items", json={"name": "x"}, headers={"X-CSRFToken": token})
    problem = response.json
    assert problem["title"] == "无效" and problem["detail"] == "部分字段无效。"
    assert problem["errors"]["part_number"] == "此项为必填项。"


@pytest.mark.parametrize(
    ("header", "expected"), [("zh-TW", "zh-Hans-CN"), ("en-GB,zh;q=0.8", "en"), ("de, zh-CN;q=0.5", "zh-Hans-CN")]
)
def test_accept_language_is_read_in_order_of_preference(client, header, expected):
    assert f'<html lang="{expected}">' in text_of(client.get("/login", headers={"Accept-Language": header}))
