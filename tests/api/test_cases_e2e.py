"""The whole loop on the real container: seed catalog, real matcher and offline planner, over HTTP."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.utils.factories import UserFactory

YX = "420222"

ASSESSMENT = {
    "text": (
        "王大爷，82岁，独居，低保户，身份证420222194401011234，联系电话13986541234。"
        "腿脚不便做不了饭，洗澡也困难，希望有人上门帮忙。孙子10岁留守在家，功课跟不上。"
    ),
    "county": YX,
    "groups": ["elderly", "dibao"],
    "age": 82,
    "members": [{"relation": "孙子", "age": 10, "groups": ["left_behind_child"]}],
    "name": "王大爷",
}


@pytest.mark.integration
def test_case_to_closure_on_the_real_matcher_and_planner_with_an_audit_trail(
    client: TestClient, users: UserFactory
) -> None:
    worker = users.headers("caseworker", YX)
    admin = users.headers("admin", "420200")

    case = client.post("/api/cases", json=ASSESSMENT, headers=worker)
    assert case.status_code == 201, case.text
    case_id = case.json()["id"]
    assert "13986541234" not in case.text and "420222194401011234" not in case.text

    drafted = client.post(f"/api/cases/{case_id}/plan", headers=worker)
    assert drafted.status_code == 201, drafted.text
    plan = drafted.json()
    assert plan["version"] == 1 and plan["status"] == "draft" and plan["author"] == "offline"
    offered = {m["resource_id"] for need in plan["matches"] for m in need["matches"]}
    assert plan["items"] and all(i["resource_id"] in offered for i in plan["items"])
    assert "王大爷" not in drafted.text and "13986541234" not in drafted.text

    # The caseworker swaps one provider for another candidate of the same need and keeps the rest.
    planned = {i["resource_id"] for i in plan["items"]}
    need = next(
        n for n in plan["matches"] if len(n["matches"]) >= 2 and n["matches"][0]["resource_id"] in planned
    )
    chosen, alternative = need["matches"][0], need["matches"][1]
    items = [
        {**item, "resource_id": alternative["resource_id"], "resource_name": alternative["name"]}
        if item["resource_id"] == chosen["resource_id"]
        else item
        for item in plan["items"]
    ]
    edited = client.put(
        f"/api/plans/{plan['id']}",
        json={"base_version": 1, "items": items, "notes": "改为离家更近的食堂"},
        headers=worker,
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["version"] == 2

    before = client.get(f"/api/resources/{alternative['resource_id']}", headers=worker).json()["capacity"][
        "available"
    ]
    confirmed = client.post(f"/api/plans/{plan['id']}/confirm", json={"version": 2}, headers=worker)
    assert confirmed.status_code == 200, confirmed.text
    referrals = confirmed.json()["referrals"]
    assert len(referrals) == len(items) and {r["status"] for r in referrals} == {"pending"}
    assert alternative["resource_id"] in {r["resource_id"] for r in referrals}
    assert chosen["resource_id"] not in {r["resource_id"] for r in referrals}
    after = client.get(f"/api/resources/{alternative['resource_id']}", headers=worker).json()["capacity"][
        "available"
    ]
    if before is not None:
        assert after == before - 1
    assert confirmed.json()["follow_up_tasks"]

    for referral in referrals:
        for status in ("accepted", "in_service", "completed"):
            moved = client.post(
                f"/api/referrals/{referral['id']}/status", json={"status": status}, headers=worker
            )
            assert moved.status_code == 200, moved.text
    assert client.get(f"/api/cases/{case_id}", headers=worker).json()["status"] == "in_service"

    closed = client.post(f"/api/cases/{case_id}/close", json={}, headers=worker)
    assert closed.status_code == 200, closed.text
    assert (closed.json()["status"], closed.json()["close_reason"]) == ("closed", "services_completed")

    trail = client.get("/api/audit?limit=1000", headers=admin).json()["items"]
    steps = [(e["action"], e["entity_id"]) for e in trail]
    for expected in (
        ("case.create", case_id),
        ("plan.draft", plan["id"]),
        ("plan.edit", plan["id"]),
        ("plan.confirm", plan["id"]),
        ("case.close", case_id),
    ):
        assert expected in steps
    assert [a for a, _ in steps].count("referral.create") == len(referrals)
    assert [a for a, _ in steps].count("referral.status") == 3 * len(referrals)
    order = [a for a, _ in steps if a.startswith(("case.", "plan."))]
    assert order == ["case.create", "plan.draft", "plan.edit", "plan.confirm", "case.close"]
