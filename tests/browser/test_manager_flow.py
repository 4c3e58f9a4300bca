"""Manager flow in a real browser: log in, import an Excel file with a bad row (nothing imported, row errors
shown), fix it, import, find the new resource in the catalog table; edit with a version conflict; gap report."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
from openpyxl import Workbook
from playwright.sync_api import Page, expect

from tests.browser.conftest import Shots, login
from tests.utils.live_server import LiveServer

pytestmark = pytest.mark.browser

YX = "420222"
HEADER = [
    "编号",
    "名称",
    "服务内容",
    "服务机构",
    "服务类别",
    "服务区域",
    "救助对象",
    "最小年龄",
    "状态",
    "可用名额",
    "总名额",
    "服务时间",
    "联系电话",
]


def _xlsx(path: Path, rows: list[list[object]]) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "资源目录"
    sheet.append(HEADER)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    path.write_bytes(buffer.getvalue())
    return path


GOOD_ROW = [
    "yx-test-bath-901",
    "富池镇流动助浴车",
    "助浴车每月进村两次，为失能老人上门助浴。",
    "阳新县民政局",
    "助浴",
    "阳新县",
    "老年人；残疾人",
    60,
    "在服务",
    10,
    40,
    "每月第一、三周周三",
    "0714-7321234",
]
BAD_PHONE = "123"


def test_manager_imports_excel_after_fixing_row_errors(
    page: Page, server: LiveServer, tmp_path: Path
) -> None:
    token = server.user("阳新资源管理员", "resource_manager", YX)
    shot = Shots(page, "manager")
    login(page, server.url, token)
    expect(page.locator("#catalog-table")).to_be_visible()
    expect(page.locator(".nav-link.active")).to_have_text("资源目录")
    shot("catalog")

    second = [
        "yx-test-meal-902",
        "兴国镇社区助餐点",
        "午餐堂食。",
        "兴国镇",
        "助餐",
        "阳新县",
        "老年人",
        60,
        "在服务",
        5,
        20,
        "周一至周五",
        "0714-7325678",
    ]
    bad = _xlsx(tmp_path / "bad.xlsx", [[*GOOD_ROW[:-1], BAD_PHONE], second])
    page.click("a.nav-link[href='#/import']")
    page.set_input_files("#import-file", str(bad))
    page.click("#import-run")
    errors = page.locator("#row-errors .row-error")
    expect(errors).to_have_count(1)
    expect(errors.first).to_contain_text("第 2 行")
    expect(errors.first).to_contain_text("联系电话")
    expect(page.locator("#import-result")).to_contain_text("未导入任何数据")
    shot("import-row-errors", full_page=True)

    headers = {"Authorization": f"Bearer {token}"}
    for rid in ("yx-test-bath-901", "yx-test-meal-902"):
        assert httpx.get(f"{server.url}/api/resources/{rid}", headers=headers).status_code == 404

    fixed = _xlsx(tmp_path / "fixed.xlsx", [GOOD_ROW, second])
    page.set_input_files("#import-file", str(fixed))
    page.click("#import-check")
    expect(page.locator("#import-result")).to_contain_text("校验通过")
    page.click("#import-run")
    expect(page.locator("#import-result")).to_contain_text("导入成功")
    expect(page.locator("#import-result")).to_contain_text("新增 2 条")
    shot("import-success")

    page.click("#import-result a.btn")
    page.fill("input[name=q]", "富池镇流动助浴车")
    page.press("input[name=q]", "Enter")
    row = page.locator("#catalog-table tbody tr")
    expect(row).to_have_count(1)
    expect(row.first).to_contain_text("yx-test-bath-901")
    expect(row.first).to_contain_text("助浴")
    expect(row.first).to_contain_text("10 / 40")
    shot("catalog-imported")


def test_manager_edit_shows_version_conflict(page: Page, server: LiveServer) -> None:
    token = server.user("阳新资源管理员二", "resource_manager", YX)
    shot = Shots(page, "manager-edit")
    headers = {"Authorization": f"Bearer {token}"}
    listing = httpx.get(
        f"{server.url}/api/resources", params={"area": YX, "q": "yx-"}, headers=headers
    ).json()
    resource = next(r for r in listing["items"] if r["service_areas"] == [YX])

    login(page, server.url, token)
    page.goto(f"{server.url}/#/catalog/{resource['id']}")
    expect(page.locator("#resource-version")).to_have_text(f"版本 {resource['version']}")

    # Someone else saves first.
    other = {k: v for k, v in resource.items() if k not in ("last_modified", "version")}
    other["schedule_description"] = "周一至周日 全天"
    put = httpx.put(
        f"{server.url}/api/resources/{resource['id']}",
        json={**other, "version": resource["version"]},
        headers=headers,
    )
    assert put.status_code == 200

    page.fill("input[name=cost_description]", "免费")
    page.click("#save-resource")
    status = page.locator("#form-status")
    expect(status).to_contain_text("版本冲突")
    expect(status).to_contain_text("已被他人修改")
    shot("conflict")

    page.click("#reload-latest")
    expect(page.locator("#resource-version")).to_have_text(f"版本 {resource['version'] + 1}")
    expect(page.locator("input[name=schedule_description]")).to_have_value("周一至周日 全天")
    page.fill("input[name=cost_description]", "免费")
    page.click("#save-resource")
    expect(page.locator("#form-status")).to_contain_text("已保存")
    expect(page.locator("#resource-version")).to_have_text(f"版本 {resource['version'] + 2}")
    shot("saved", full_page=True)
    saved = httpx.get(f"{server.url}/api/resources/{resource['id']}", headers=headers).json()
    assert saved["cost_description"] == "免费"
    assert saved["target_groups"] == resource["target_groups"]  # the form keeps the stored order
    assert saved["categories"] == resource["categories"]

    page.fill("input[name=phone]", "12")
    page.click("#save-resource")
    expect(page.locator("#form-status")).to_contain_text("电话号码格式不正确")
    expect(page.locator(".field.invalid[data-field=phone]")).to_be_visible()


def test_manager_sees_gap_report_with_chart(page: Page, server: LiveServer) -> None:
    from assistant.matching.models import UnmetNeedRecord

    with server.container.db.session() as session:
        for n, (category, code) in enumerate(
            [("psychological_support", "no_resource_in_area")] * 3
            + [("respite_care", "all_full")] * 2
            + [("legal_aid", "no_resource_for_group")]
        ):
            session.add(
                UnmetNeedRecord(
                    county=YX,
                    category=category,
                    reason_code=code,
                    reason="测试",
                    need_text="测试需求",
                    case_id=f"case-gap-{n}",
                )
            )
    token = server.user("阳新资源管理员三", "resource_manager", YX)
    shot = Shots(page, "manager-gaps")
    login(page, server.url, token)
    page.click("a.nav-link[href='#/gaps']")
    chart = page.locator("#gap-chart")
    expect(chart).to_be_visible()
    expect(chart.locator(".chart-row")).to_have_count(3)
    expect(chart.locator(".chart-label").first).to_have_text("心理疏导")
    rows = page.locator("#gap-table tbody tr")
    expect(rows).to_have_count(3)
    expect(rows.first).to_contain_text("阳新县")
    expect(rows.first).to_contain_text("3")
    expect(page.locator("#gap-county")).to_be_disabled()  # a county manager sees their county only
    shot("report")


def test_login_refuses_a_bad_token_and_logout_forgets_it(page: Page, server: LiveServer) -> None:
    page.goto(server.url + "/")
    page.fill("#token", "hsa_not-a-real-token")
    page.click("button[type=submit]")
    expect(page.locator(".login-status")).to_contain_text("令牌无效")
    assert page.evaluate("sessionStorage.getItem('hsa.token')") is None

    token = server.user("阳新资源管理员四", "resource_manager", YX)
    login(page, server.url, token)
    assert page.evaluate("sessionStorage.getItem('hsa.token')") == token
    page.reload()
    expect(page.locator("#user-name")).to_have_text("阳新资源管理员四")  # the tab keeps its login
    page.click("#logout")
    expect(page.locator("#token")).to_be_visible()
    assert page.evaluate("sessionStorage.getItem('hsa.token')") is None
    # A caseworker page is refused to a manager, with a message instead of data.
    login(page, server.url, token)
    page.goto(server.url + "/#/cases/new")
    expect(page.locator("#view")).to_contain_text("无权使用此页面")
