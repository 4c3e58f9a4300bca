"""Chat bound to a case, offline mode (no LLM configured): answers come from the matcher, the catalog and
the stored plan; every resource is cited by name and id; plan edits become new plan versions."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from assistant.app.container import Container
from assistant.matching.types import Person
from tests.chat.conftest import HSG, ask
from tests.utils.factories import UserFactory

CITED = re.compile(r"「([^」]+)」（([A-Za-z0-9_.-]+)）")
WEEKEND = re.compile(
    r"周六|周日|周末|星期六|星期日|星期天|每天|每日|全年|无休|365|7\s*天|七天|节假日|全天候|随叫随到"
)


def cited(text: str) -> list[str]:
    return [rid for _, rid in CITED.findall(text)]


def test_why_answer_gives_the_matchers_reasons(
    api: TestClient, worker: dict[str, str], new_case: Callable[..., Any]
) -> None:
    made = new_case()
    first = made["plan"]["items"][0]
    reply = ask(api, made["case"]["id"], "为什么推荐第一个", worker)["answer"]
    assert cited(reply["content"])[0] == first["resource_id"]
    match = next(
        m for n in made["plan"]["matches"] for m in n["matches"] if m["resource_id"] == first["resource_id"]
    )
    assert match["reasons"][1] in reply["content"]
    assert reply["meta"]["mode"] == "offline"
    assert reply["meta"]["intent"] == "why"


def test_nearer_meal_services_are_eligible_and_not_already_planned(
    api: TestClient, worker: dict[str, str], new_case: Callable[..., Any], chat_container: Container
) -> None:
    made = new_case()
    planned = {i["resource_id"] for i in made["plan"]["items"]}
    reply = ask(api, made["case"]["id"], "有没有离家近一点的助餐点", worker)["answer"]
    ids = reply["meta"]["proposed"]
    assert ids and ids == cited(reply["content"])[: len(ids)]
    assert not planned & set(ids)
    applicant = Person(age=82, groups=["elderly", "dibao"])
    for rid in ids:
        resource = chat_container.catalog.get(rid)
        assert "meal_assistance" in resource["categories"]
        assert chat_container.matcher.eligible(resource, applicant, HSG)
    # The assessment says 花湖街道: the 花湖 dining hall is already in the plan, or it is offered first.
    in_huahu = {rid for rid in planned | set(ids) if "花湖" in chat_container.catalog.get(rid)["address"]}
    assert in_huahu and (in_huahu & planned or ids[0] in in_huahu)


def test_weekend_follow_up_keeps_the_category_and_filters_by_schedule(
    api: TestClient, worker: dict[str, str], new_case: Callable[..., Any], chat_container: Container
) -> None:
    made = new_case()
    ask(api, made["case"]["id"], "有没有离家近一点的助餐点", worker)
    reply = ask(api, made["case"]["id"], "换一个周末也开的", worker)["answer"]
    assert reply["meta"]["category"] == "meal_assistance"
    assert reply["meta"]["proposed"]
    for rid in reply["meta"]["proposed"]:
        assert WEEKEND.search(chat_container.catalog.get(rid)["schedule_description"])


def test_adding_and_dropping_items_saves_new_plan_versions(
    api: TestClient, worker: dict[str, str], new_case: Callable[..., Any]
) -> None:
    made = new_case()
    case_id, plan_id = made["case"]["id"], made["plan"]["id"]
    proposal = ask(api, case_id, "她能申请助浴吗", worker)["answer"]
    assert proposal["meta"]["proposed"], proposal["content"]
    added = ask(api, case_id, "加上第一个", worker)
    assert added["plan_changed"] is True
    plan = api.get(f"/api/plans/{plan_id}", headers=worker).json()
    assert plan["version"] == 2
    assert proposal["meta"]["proposed"][0] in {i["resource_id"] for i in plan["items"]}

    dropped = ask(api, case_id, "把助浴去掉", worker)
    assert dropped["plan_changed"] is True
    plan = api.get(f"/api/plans/{plan_id}", headers=worker).json()
    assert plan["version"] == 3
    assert "bathing_assistance" not in {i["category"] for i in plan["items"]}
    assert "已从方案中删除" in dropped["answer"]["content"]


def test_use_the_first_alternative_replaces_the_planned_one(
    api: TestClient, worker: dict[str, str], new_case: Callable[..., Any]
) -> None:
    made = new_case()
    case_id, plan_id = made["case"]["id"], made["plan"]["id"]
    old = next(i["resource_id"] for i in made["plan"]["items"] if i["category"] == "meal_assistance")
    options = ask(api, case_id, "有没有周末也开的助餐点", worker)["answer"]["meta"]["proposed"]
    reply = ask(api, case_id, "就用第一个", worker)
    assert reply["plan_changed"]
    items = api.get(f"/api/plans/{plan_id}", headers=worker).json()["items"]
    meals = [i["resource_id"] for i in items if i["category"] == "meal_assistance"]
    assert meals == [options[0]]
    assert old not in {i["resource_id"] for i in items}


def test_eligibility_question_explains_why_not(
    api: TestClient, worker: dict[str, str], new_case: Callable[..., Any], chat_container: Container
) -> None:
    made = new_case()
    children, _ = chat_container.catalog.list(_filter(HSG, "child_care"))
    child_only = next(r for r in children if r.get("maximum_age") is not None and r["maximum_age"] < 18)
    reply = ask(api, made["case"]["id"], f"她符合 {child_only['id']} 的条件吗", worker)["answer"]
    assert reply["meta"]["intent"] == "eligibility"
    assert "不符合" in reply["content"]
    assert "82岁" in reply["content"]


def test_confirmed_plan_is_not_changed_by_chat(
    api: TestClient, worker: dict[str, str], new_case: Callable[..., Any]
) -> None:
    made = new_case()
    plan_id = made["plan"]["id"]
    assert api.post(f"/api/plans/{plan_id}/confirm", headers=worker).status_code == 200
    reply = ask(api, made["case"]["id"], "把助餐去掉", worker)
    assert reply["plan_changed"] is False
    assert "不能在对话中修改" in reply["answer"]["content"]
    assert api.get(f"/api/plans/{plan_id}", headers=worker).json()["status"] == "confirmed"


def test_messages_are_stored_in_order(
    api: TestClient, worker: dict[str, str], new_case: Callable[..., Any]
) -> None:
    made = new_case()
    case_id = made["case"]["id"]
    ask(api, case_id, "现在的方案是什么", worker)
    ask(api, case_id, "你好", worker)
    listed = api.get(f"/api/cases/{case_id}/messages", headers=worker).json()
    assert [m["role"] for m in listed] == ["user", "assistant", "user", "assistant"]
    assert listed[0]["content"] == "现在的方案是什么"
    assert made["case"]["id"] in listed[1]["content"]
    assert all(m["case_id"] == case_id for m in listed)


def test_streamed_answer_sends_deltas_then_the_stored_exchange(
    api: TestClient, worker: dict[str, str], new_case: Callable[..., Any]
) -> None:
    made = new_case()
    with api.stream(
        "POST",
        f"/api/cases/{made['case']['id']}/messages?stream=true",
        json={"content": "为什么推荐这些资源"},
        headers=worker,
    ) as response:
        assert response.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[5:]) for line in response.iter_lines() if line.startswith("data:")]
    text = "".join(e.get("delta", "") for e in events)
    done = events[-1]
    assert done["done"] is True
    assert done["answer"]["content"] == text
    assert set(cited(text)) >= {i["resource_id"] for i in made["plan"]["items"]}


def test_chat_is_limited_to_the_caseworkers_county(
    api: TestClient, staff: UserFactory, new_case: Callable[..., Any]
) -> None:
    made = new_case()
    case_id = made["case"]["id"]
    elsewhere = staff.headers("caseworker", "420222")
    manager = staff.headers("resource_manager", HSG)
    for headers, code in ((elsewhere, 403), (manager, 403), ({}, 401)):
        assert api.get(f"/api/cases/{case_id}/messages", headers=headers).status_code == code
        assert (
            api.post(f"/api/cases/{case_id}/messages", json={"content": "你好"}, headers=headers).status_code
            == code
        )
    assert (
        api.get("/api/cases/case-missing/messages", headers=staff.headers("caseworker", HSG)).status_code
        == 404
    )


def test_empty_question_is_refused_in_chinese(
    api: TestClient, worker: dict[str, str], new_case: Callable[..., Any]
) -> None:
    made = new_case()
    response = api.post(f"/api/cases/{made['case']['id']}/messages", json={"content": ""}, headers=worker)
    assert response.status_code == 422
    assert "请求数据有误" in response.json()["detail"]


def _filter(area: str, category: str) -> Any:
    from assistant.catalog.service import ResourceFilter

    return ResourceFilter(area=area, category=category, limit=500)
