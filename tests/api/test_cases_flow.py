"""The closed loop over HTTP on fakes: case → draft → edit → confirm → referrals → status → closed; audit; reports."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from assistant.app.container import Container
from assistant.app.main import create_app
from assistant.catalog.schemas import ResourceData
from tests.cases.fakes import YX, add_resource, fake_cases
from tests.utils.factories import UserFactory, resource_payload

CASE = {
    "text": "李秀英，80岁，独居，电话13907145678。做饭困难，洗澡也需要人帮忙。",
    "county": YX,
    "groups": ["elderly", "dibao"],
    "age": 80,
    "name": "李秀英",
    "notes": "女儿在武汉，电话13807140000",
}


@pytest.fixture
def client(container: Container) -> Iterator[TestClient]:
    add_resource(container, "yx-meal-1")
    add_resource(
        container, "yx-bath-1", categories=["bathing_assistance"], capacity={"available": 1, "maximum": 5}
    )
    fake_cases(container)
    with TestClient(create_app(container=container)) as test_client:
        yield test_client


def test_closed_loop_over_http_is_audited_step_by_step(
    client: TestClient, container: Container, users: UserFactory
) -> None:
    worker = users.headers("caseworker", YX)
    admin = users.headers("admin", YX)

    created = client.post("/api/cases", json=CASE, headers=worker)
    assert created.status_code == 201, created.text
    case = created.json()
    assert "13907145678" not in created.text and "李秀英，80岁" not in created.text
    assert case["status"] == "open" and case["text"].startswith("[姓名]")

    drafted = client.post(f"/api/cases/{case['id']}/plan", headers=worker)
    assert drafted.status_code == 201, drafted.text
    plan = drafted.json()
    assert plan["version"] == 1 and plan["status"] == "draft" and plan["author"] == "offline"
    assert [i["resource_id"] for i in plan["items"]] == ["yx-meal-1"]
    assert plan["matches"][0]["matches"][0]["resource_id"] == "yx-meal-1"

    bath = {
        "need": "洗澡需要人帮忙",
        "category": "bathing_assistance",
        "resource_id": "yx-bath-1",
        "frequency": "每周1次",
    }
    edited = client.put(
        f"/api/plans/{plan['id']}",
        json={**plan, "items": [*plan["items"], bath], "notes": "增加助浴"},
        headers=worker,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["version"] == 2
    stale = client.put(f"/api/plans/{plan['id']}", json={**plan, "notes": "旧版本"}, headers=worker)
    assert stale.status_code == 409 and stale.json()["current_version"] == 2
    assert [v["version"] for v in client.get(f"/api/plans/{plan['id']}/versions", headers=worker).json()] == [
        1,
        2,
    ]

    confirmed = client.post(f"/api/plans/{plan['id']}/confirm", json={"version": 2}, headers=worker)
    assert confirmed.status_code == 200, confirmed.text
    body = confirmed.json()
    assert body["status"] == "confirmed"
    referrals = {r["resource_id"]: r for r in body["referrals"]}
    assert set(referrals) == {"yx-meal-1", "yx-bath-1"} and all(
        r["status"] == "pending" for r in body["referrals"]
    )
    assert container.catalog.get("yx-bath-1")["capacity"]["available"] == 0
    assert len(body["follow_up_tasks"]) == 2

    meal, bath_ref = referrals["yx-meal-1"]["id"], referrals["yx-bath-1"]["id"]
    for status in ("accepted", "in_service", "completed"):
        moved = client.post(f"/api/referrals/{meal}/status", json={"status": status}, headers=worker)
        assert moved.status_code == 200, moved.text
    illegal = client.post(f"/api/referrals/{meal}/status", json={"status": "accepted"}, headers=worker)
    assert illegal.status_code == 409 and illegal.json()["allowed"] == []
    declined = client.post(
        f"/api/referrals/{bath_ref}/status",
        json={"status": "declined", "reason_code": "couldnt_contact", "note": "三次上门未遇"},
        headers=worker,
    )
    assert declined.status_code == 200 and declined.json()["reason_label"] == "无法联系"
    assert container.catalog.get("yx-bath-1")["capacity"]["available"] == 1
    assert (
        client.get(f"/api/referrals/{meal}", headers=worker).json()["events"][-1]["to_status"] == "completed"
    )
    assert client.get(f"/api/referrals?case_id={case['id']}", headers=worker).json()["total"] == 2

    followups = client.get("/api/followups", headers=worker).json()["items"]
    done = client.post(f"/api/followups/{followups[0]['id']}/done", json={"note": "送餐准时"}, headers=worker)
    assert done.status_code == 200 and done.json()["status"] == "done"

    closed = client.post(
        f"/api/cases/{case['id']}/close", json={"reason": "services_completed"}, headers=worker
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert client.get("/api/cases?status=closed", headers=worker).json()["total"] == 1

    trail = client.get(f"/api/audit?entity_id={case['id']}", headers=admin).json()["items"]
    assert [e["action"] for e in trail] == ["case.create", "case.close"]
    plan_trail = client.get(f"/api/audit?entity_type=plan&entity_id={plan['id']}", headers=admin).json()[
        "items"
    ]
    assert [e["action"] for e in plan_trail] == ["plan.draft", "plan.edit", "plan.confirm"]
    assert plan_trail[1]["detail"]["added"] == ["yx-bath-1"]
    referral_actions = [
        e["action"] for e in client.get("/api/audit?entity_type=referral", headers=admin).json()["items"]
    ]
    assert referral_actions.count("referral.create") == 2 and referral_actions.count("referral.status") == 4
    resource_actions = [
        e["action"]
        for e in client.get("/api/audit?entity_type=resource&entity_id=yx-bath-1", headers=admin).json()[
            "items"
        ]
    ]
    assert resource_actions == ["resource.create", "resource.reserve", "resource.release"]
    everything = client.get("/api/audit?limit=1000", headers=admin).text
    assert "13907145678" not in everything and "李秀英" not in everything and "13807140000" not in everything
    assert client.get("/api/audit?actor=nobody", headers=admin).json()["items"] == []
    assert client.get("/api/audit?from=2000-01-01&to=2000-01-02", headers=admin).json()["items"] == []
    assert client.get("/api/audit?from=yesterday", headers=admin).status_code == 422


def test_confirm_after_catalog_change_answers_409_with_the_list_or_skips(
    client: TestClient, container: Container, users: UserFactory
) -> None:
    worker = users.headers("caseworker", YX)
    case = client.post("/api/cases", json=CASE, headers=worker).json()
    plan = client.post(f"/api/cases/{case['id']}/plan", headers=worker).json()
    bath = {"need": "洗澡", "category": "bathing_assistance", "resource_id": "yx-bath-1"}
    client.put(
        f"/api/plans/{plan['id']}", json={"base_version": 1, "items": [*plan["items"], bath]}, headers=worker
    )
    closed = resource_payload("yx-bath-1", categories=["bathing_assistance"], status="temporarily closed")
    container.catalog.update("yx-bath-1", ResourceData.model_validate(closed), None)

    refused = client.post(f"/api/plans/{plan['id']}/confirm", headers=worker)
    assert refused.status_code == 409
    assert [p["resource_id"] for p in refused.json()["invalid"]] == ["yx-bath-1"]
    assert "暂停服务" in refused.json()["detail"]
    assert client.get(f"/api/referrals?plan_id={plan['id']}", headers=worker).json()["total"] == 0

    partial = client.post(f"/api/plans/{plan['id']}/confirm", json={"skip_invalid": True}, headers=worker)
    assert partial.status_code == 200, partial.text
    assert [r["resource_id"] for r in partial.json()["referrals"]] == ["yx-meal-1"]
    assert [s["resource_id"] for s in partial.json()["skipped"]] == ["yx-bath-1"]


def test_adding_an_ineligible_resource_over_http_is_422_naming_it(
    client: TestClient, container: Container, users: UserFactory
) -> None:
    add_resource(container, "dy-meal-1", county="420281")
    worker = users.headers("caseworker", YX)
    case = client.post("/api/cases", json=CASE, headers=worker).json()
    plan = client.post(f"/api/cases/{case['id']}/plan", headers=worker).json()
    far = {"need": "助餐", "category": "meal_assistance", "resource_id": "dy-meal-1"}
    response = client.put(
        f"/api/plans/{plan['id']}", json={"base_version": 1, "items": [far]}, headers=worker
    )
    assert response.status_code == 422
    assert "dy-meal-1" in response.json()["detail"] and "大冶" in response.json()["detail"]
    assert response.json()["items"][0]["reason_code"] == "not_eligible"
    rejected = client.post(f"/api/plans/{plan['id']}/reject", json={"reason": "重新评估"}, headers=worker)
    assert rejected.json()["status"] == "rejected"


def test_gap_report_downloads_json_csv_and_xlsx(client: TestClient, users: UserFactory) -> None:
    worker = users.headers("caseworker", YX)
    case = client.post("/api/cases", json=CASE, headers=worker).json()
    plan = client.post(f"/api/cases/{case['id']}/plan", headers=worker).json()
    referral = client.post(f"/api/plans/{plan['id']}/confirm", headers=worker).json()["referrals"][0]
    client.post(
        f"/api/referrals/{referral['id']}/status",
        json={"status": "declined", "reason_code": "no_capacity"},
        headers=worker,
    )
    manager = users.headers("resource_manager", YX)
    report = client.get("/api/reports/gaps", headers=manager)
    assert report.status_code == 200
    data = report.json()
    assert {"from", "to", "rows", "totals"} <= set(data)
    assert data["rows"] == [
        {
            "county": YX,
            "county_label": "阳新县",
            "category": "meal_assistance",
            "category_label": "助餐",
            "unmet": 0,
            "unmet_by_reason": {},
            "capacity_declines": 1,
            "total": 1,
        }
    ]
    as_csv = client.get(f"/api/reports/gaps?format=csv&county={YX}&from=2020-01-01", headers=manager)
    assert as_csv.headers["content-type"].startswith("text/csv")
    assert "attachment" in as_csv.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(as_csv.content.decode("utf-8-sig"))))
    assert rows[1][1] == "阳新县" and rows[1][3] == "助餐"
    as_xlsx = client.get("/api/reports/gaps?format=xlsx", headers=users.headers("admin", YX))
    sheet = load_workbook(io.BytesIO(as_xlsx.content)).active
    assert sheet is not None and sheet.cell(row=3, column=4).value == "助餐"
    assert client.get("/api/reports/gaps?format=pdf", headers=manager).status_code == 422
    assert client.get("/api/reports/gaps?from=2026-13-01", headers=manager).status_code == 422
