"""Caseworker flow in a real browser: log in → new assessment → needs and matches with reasons → edit the
draft plan → confirm → referrals visible → a chat question answered with cited resources."""

from __future__ import annotations

import re

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.conftest import Shots, login
from tests.utils.live_server import LiveServer

pytestmark = pytest.mark.browser

HSG = "420202"
ASSESSMENT = (
    "张奶奶，82岁，独居在黄石港区花湖街道，低保对象。老伴去世后不会做饭，一日三餐没有着落，经常吃剩饭剩菜；"
    "腿脚不便，住五楼没有电梯，半年没下过楼；子女在外地，平时没人来看她，常说一个人很孤单。"
)
RESOURCE_ID = re.compile(r"（[a-z]+-[a-z]+-\d{3}）")


def test_caseworker_assesses_edits_confirms_and_chats(page: Page, server: LiveServer) -> None:
    token = server.user("黄石港社工", "caseworker", HSG)
    shot = Shots(page, "caseworker")
    page.on("dialog", lambda dialog: dialog.accept())
    login(page, server.url, token, shot)
    expect(page.locator(".nav-link.active")).to_have_text("新建需求评估")

    page.fill("#assessment", ASSESSMENT)
    page.fill("#age", "82")
    page.check(".applicant-groups input[value=elderly]")
    page.check(".applicant-groups input[value=dibao]")
    expect(page.locator("#county")).to_have_value(HSG)
    shot("assessment")
    page.click("#submit-assessment")

    needs = page.locator("#needs .need")
    expect(needs.first).to_be_visible(timeout=60_000)
    meal = page.locator("#needs .need[data-category=meal_assistance]")
    expect(meal).to_have_count(1)
    expect(meal.locator(".match").first).to_contain_text("助餐")
    expect(meal.locator(".reasons li").first).to_be_visible()
    expect(page.locator("#plan-state")).to_have_text("草稿")
    expect(page.locator("#case-status")).to_have_text("方案待确认")
    items = page.locator("#plan-items .plan-item")
    drafted = items.count()
    assert drafted >= 1
    shot("needs-and-plan")

    # Edit: set a frequency, add a candidate that is not yet in the plan, save as version 2.
    items.first.locator("input").nth(1).fill("每周5次")
    page.locator("#needs .add-to-plan").first.click()
    expect(items).to_have_count(drafted + 1)
    page.click("#save-plan")
    expect(page.locator("#plan-status")).to_contain_text("已保存为第 2 版")
    expect(items.first.locator("input").nth(1)).to_have_value("每周5次")

    # Remove the added item again and confirm (a confirm() dialog is accepted).
    items.last.locator(".remove-item").click()
    expect(items).to_have_count(drafted)
    page.click("#confirm-plan")
    expect(page.locator("#plan-state")).to_have_text("已确认", timeout=30_000)
    referrals = page.locator("#referral-table tbody tr")
    expect(referrals).to_have_count(drafted)
    expect(referrals.first.locator(".referral-state")).to_have_text("待接单")
    expect(page.locator("#case-status")).to_have_text("方案已确认")
    shot("confirmed-referrals", full_page=True)

    # Move the first referral on: 待接单 → 已接单.
    referrals.first.locator("select").first.select_option("accepted")
    referrals.first.locator("button").click()
    expect(page.locator("#referral-table tbody tr").first.locator(".referral-state")).to_have_text("已接单")

    # Chat: ask for a nearer meal service; the answer cites resources by name and id.
    page.fill("#chat-input", "有没有离家近一点的助餐点")
    page.click("#chat-send")
    answer = page.locator("#chat-log .msg-assistant").last
    expect(answer.locator(".msg-meta")).to_contain_text("离线规则", timeout=30_000)
    expect(answer).to_contain_text("助餐")
    text = answer.locator(".msg-body").inner_text()
    assert RESOURCE_ID.search(text), text
    cited = RESOURCE_ID.search(text).group(0).strip("（）")  # type: ignore[union-attr]
    headers = {"Authorization": f"Bearer {token}"}
    assert httpx.get(f"{server.url}/api/resources/{cited}", headers=headers).json()["categories"][0] == (
        "meal_assistance"
    )
    page.fill("#chat-input", "为什么推荐第一个")
    page.press("#chat-input", "Enter")
    expect(page.locator("#chat-log .msg-assistant")).to_have_count(2)
    expect(page.locator("#chat-log .msg-assistant").last).to_contain_text("理由", timeout=30_000)
    shot("chat")

    page.click("a.nav-link[href='#/cases']")
    expect(page.locator("#case-table tbody tr")).to_have_count(1)
    expect(page.locator("#case-table")).to_contain_text("方案已确认")
    expect(page.locator("#followups")).to_be_visible()
    shot("case-list")
