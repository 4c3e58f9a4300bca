"""Resource API: the role × route matrix, area scope, optimistic concurrency, soft delete, change log."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient

from tests.utils.factories import UserFactory, resource_payload

YX, DY = "420222", "420281"


def test_healthz_needs_no_token(client: TestClient) -> None:
    assert client.get("/healthz").json()["status"] == "ok"


@pytest.mark.parametrize(
    "method,path",
    [
        ("get", "/api/resources"),
        ("post", "/api/resources"),
        ("get", "/api/resources/x"),
        ("put", "/api/resources/x"),
        ("delete", "/api/resources/x"),
        ("post", "/api/resources/import"),
        ("get", "/api/resources/x/changes"),
        ("get", "/api/resources/export"),
    ],
)
def test_every_resource_route_refuses_missing_or_bad_token(
    client: TestClient, method: str, path: str
) -> None:
    assert getattr(client, method)(path).status_code == 401
    bad = {"Authorization": "Bearer hsa_not-a-real-token"}
    assert client.request(method.upper(), path, headers=bad).status_code == 401


def test_caseworker_reads_catalog_but_cannot_edit(client: TestClient, users: UserFactory) -> None:
    manager = users.headers("resource_manager", YX)
    assert client.post("/api/resources", json=resource_payload(county=YX), headers=manager).status_code == 201
    worker = users.headers("caseworker", YX)
    assert client.get("/api/resources", headers=worker).status_code == 200
    assert client.get("/api/resources/test-meal-001", headers=worker).status_code == 200
    assert client.post("/api/resources", json=resource_payload("w-1"), headers=worker).status_code == 403
    put = client.put(
        "/api/resources/test-meal-001", json={**resource_payload(), "version": 1}, headers=worker
    )
    assert put.status_code == 403
    assert client.delete("/api/resources/test-meal-001", headers=worker).status_code == 403
    files = {"file": ("r.json", b"[]", "application/json")}
    assert client.post("/api/resources/import", files=files, headers=worker).status_code == 403


def test_manager_changes_only_own_area(client: TestClient, users: UserFactory) -> None:
    yx = users.headers("resource_manager", YX)
    dy = users.headers("resource_manager", DY)
    assert (
        client.post("/api/resources", json=resource_payload("yx-1", county=YX), headers=yx).status_code == 201
    )
    assert (
        client.post("/api/resources", json=resource_payload("dy-1", county=YX), headers=dy).status_code == 403
    )
    assert (
        client.post(
            "/api/resources", json=resource_payload("city-1", county="420200"), headers=yx
        ).status_code
        == 403
    )
    assert client.delete("/api/resources/yx-1", headers=dy).status_code == 403
    moved = {**resource_payload("yx-1", county=DY), "version": 1}
    assert client.put("/api/resources/yx-1", json=moved, headers=yx).status_code == 403
    admin = users.headers("admin", YX)
    assert (
        client.post(
            "/api/resources", json=resource_payload("city-1", county="420200"), headers=admin
        ).status_code
        == 201
    )


def test_stale_update_gets_409_not_silent_overwrite(client: TestClient, users: UserFactory) -> None:
    h = users.headers("resource_manager", YX)
    created = client.post("/api/resources", json=resource_payload(county=YX), headers=h).json()
    first = client.put(
        f"/api/resources/{created['id']}",
        json={**resource_payload(county=YX, name="甲改"), "version": created["version"]},
        headers=h,
    )
    assert first.status_code == 200 and first.json()["version"] == created["version"] + 1
    stale = client.put(
        f"/api/resources/{created['id']}",
        json={**resource_payload(county=YX, name="乙改"), "version": created["version"]},
        headers=h,
    )
    assert stale.status_code == 409
    assert "已被他人修改" in stale.json()["detail"]
    assert client.get(f"/api/resources/{created['id']}", headers=h).json()["name"] == "甲改"
    no_version = client.put(f"/api/resources/{created['id']}", json=resource_payload(county=YX), headers=h)
    assert no_version.status_code == 428


def test_delete_is_soft_and_history_is_kept(client: TestClient, users: UserFactory) -> None:
    h = users.headers("resource_manager", YX)
    client.post("/api/resources", json=resource_payload(county=YX), headers=h)
    gone = client.delete("/api/resources/test-meal-001", headers=h)
    assert gone.status_code == 200 and gone.json()["status"] == "defunct"
    changes = client.get("/api/resources/test-meal-001/changes", headers=h).json()
    status_change = [c for c in changes if c["field"] == "status"][-1]
    assert (status_change["old_value"], status_change["new_value"]) == ("active", "defunct")
    assert status_change["actor"].startswith("resource_manager")


def test_change_log_records_field_old_and_new(client: TestClient, users: UserFactory) -> None:
    h = users.headers("resource_manager", YX)
    client.post("/api/resources", json=resource_payload(county=YX), headers=h)
    client.put(
        "/api/resources/test-meal-001",
        json={**resource_payload(county=YX, capacity={"available": 2, "maximum": 30}), "version": 1},
        headers=h,
    )
    changes = client.get("/api/resources/test-meal-001/changes", headers=h).json()
    updates = [c for c in changes if c["action"] == "update"]
    assert [(c["field"], c["old_value"], c["new_value"]) for c in updates] == [
        ("capacity_available", "5", "2")
    ]


def test_list_filters_by_area_category_group_status_and_text(client: TestClient, users: UserFactory) -> None:
    admin = users.headers("admin")
    client.post("/api/resources", json=resource_payload("f-1", county=YX), headers=admin)
    client.post(
        "/api/resources",
        json=resource_payload(
            "f-2", county=DY, categories=["legal_aid"], target_groups=["disabled"], name="法援站"
        ),
        headers=admin,
    )
    client.post(
        "/api/resources", json=resource_payload("f-3", county="420200", status="inactive"), headers=admin
    )

    def ids(**params: str) -> set[str]:
        page = client.get("/api/resources", params={**params, "limit": 500}, headers=admin).json()
        return {r["id"] for r in page["items"]} & {"f-1", "f-2", "f-3"}

    assert ids(area=YX) == {"f-1", "f-3"}  # citywide resources serve every county
    assert ids(category="legal_aid") == {"f-2"}
    assert ids(group="disabled") == {"f-2"}
    assert ids(status="inactive") == {"f-3"}
    assert ids(q="法援") == {"f-2"}


def test_import_endpoint_rejects_whole_file_with_row_errors(client: TestClient, users: UserFactory) -> None:
    h = users.headers("resource_manager", YX)
    before = client.get("/api/resources", headers=h).json()["total"]
    csv_text = "编号,名称,服务类别,服务区域\nok-1,甲,助餐,阳新县\nbad-1,,助餐,阳新县\n"
    files = {"file": ("r.csv", io.BytesIO(csv_text.encode()), "text/csv")}
    response = client.post("/api/resources/import", files=files, headers=h)
    assert response.status_code == 422
    errors = response.json()["detail"]["errors"]
    assert [(e["row"], e["field"]) for e in errors] == [(3, "name")]
    assert client.get("/api/resources", headers=h).json()["total"] == before


def test_import_outside_own_area_is_refused_per_row(client: TestClient, users: UserFactory) -> None:
    h = users.headers("resource_manager", YX)
    csv_text = "编号,名称,服务类别,服务区域\nok-1,甲,助餐,阳新县\nx-2,乙,助餐,大冶市\n"
    files = {"file": ("r.csv", io.BytesIO(csv_text.encode()), "text/csv")}
    response = client.post("/api/resources/import", files=files, headers=h)
    assert response.status_code == 422
    assert [(e["row"], e["field"]) for e in response.json()["detail"]["errors"]] == [(3, "service_areas")]


def test_bad_body_gets_readable_422(client: TestClient, users: UserFactory) -> None:
    h = users.headers("admin")
    response = client.post("/api/resources", json=resource_payload(categories=["nope"]), headers=h)
    assert response.status_code == 422
    assert "未知服务类别" in response.json()["detail"]
