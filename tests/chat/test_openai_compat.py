"""The OpenAI-compatible face: models, chat completions (streaming and not), conversations mapped to cases.

The last test drives the real server (uvicorn on 127.0.0.1) with the official ``openai`` client."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from openai import OpenAI

from tests.chat.conftest import ASSESSMENT, HSG
from tests.utils.factories import UserFactory
from tests.utils.live_server import live_server

RESOURCE = re.compile(r"「[^」]+」（[a-z]+-[a-z]+-\d{3}）")


def completion(
    api: TestClient, headers: dict[str, str], messages: list[dict[str, str]], **extra: Any
) -> dict[str, Any]:
    response = api.post(
        "/v1/chat/completions",
        json={"model": "huangshi-assistant", "messages": messages, **extra},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def sse(api: TestClient, headers: dict[str, str], body: dict[str, Any]) -> list[str]:
    with api.stream("POST", "/v1/chat/completions", json=body, headers=headers) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        return [line[len("data: ") :] for line in response.iter_lines() if line.startswith("data: ")]


def test_models_need_a_token_and_list_the_assistant(api: TestClient, worker: dict[str, str]) -> None:
    assert api.get("/v1/models").status_code == 401
    body = api.get("/v1/models", headers=worker).json()
    assert body["object"] == "list"
    assert body["data"][0]["id"] == "huangshi-assistant"
    assert all(m["object"] == "model" for m in body["data"])


def test_first_message_opens_a_case_and_follow_ups_continue_it(
    api: TestClient, worker: dict[str, str]
) -> None:
    first = completion(api, worker, [{"role": "user", "content": ASSESSMENT}])
    case_id = first["case_id"]
    assert case_id and first["model"] == f"huangshi-assistant:{case_id}"
    opening = first["choices"][0]["message"]["content"]
    assert case_id in opening and RESOURCE.search(opening)
    assert "离线规则回答" in opening
    case = api.get(f"/api/cases/{case_id}", headers=worker).json()
    assert case["county"] == HSG  # the caseworker's own county
    assert "elderly" in case["groups"] and "dibao" in case["groups"] and case["age"] == 82

    history = [
        {"role": "user", "content": ASSESSMENT},
        {"role": "assistant", "content": opening},
        {"role": "user", "content": "有没有离家近一点的助餐点"},
    ]
    second = completion(api, worker, history)
    assert second["case_id"] == case_id
    answer = second["choices"][0]["message"]["content"]
    assert "助餐" in answer and RESOURCE.search(answer)
    assert second["usage"]["completion_tokens"] > 0
    stored = api.get(f"/api/cases/{case_id}/messages", headers=worker).json()
    assert [m["role"] for m in stored] == ["user", "assistant", "user", "assistant"]
    assert {m["source"] for m in stored} == {"openai"}
    listed = [m["id"] for m in api.get("/v1/models", headers=worker).json()["data"]]
    assert f"huangshi-assistant:{case_id}" in listed


def test_case_in_model_name_binds_the_conversation(api: TestClient, worker: dict[str, str]) -> None:
    case_id = completion(api, worker, [{"role": "user", "content": ASSESSMENT + "（第二户）"}])["case_id"]
    response = api.post(
        "/v1/chat/completions",
        json={
            "model": f"huangshi-assistant:{case_id}",
            "messages": [{"role": "user", "content": "为什么推荐第一个"}],
        },
        headers=worker,
    ).json()
    assert response["case_id"] == case_id
    assert "理由" in response["choices"][0]["message"]["content"]


def test_citywide_user_is_asked_for_the_county_first(api: TestClient, staff: UserFactory) -> None:
    city = staff.headers("caseworker", "420200")
    text = "李大爷，75岁，独居，做饭困难，想找个吃饭的地方。"
    asked = completion(api, city, [{"role": "user", "content": text}])
    assert asked["case_id"] is None
    assert "区县" in asked["choices"][0]["message"]["content"]
    answered = completion(
        api,
        city,
        [
            {"role": "user", "content": text},
            {"role": "assistant", "content": asked["choices"][0]["message"]["content"]},
            {"role": "user", "content": "阳新县"},
        ],
    )
    assert answered["case_id"]
    assert api.get(f"/api/cases/{answered['case_id']}", headers=city).json()["county"] == "420222"


def test_county_may_come_from_metadata_or_the_user_field(api: TestClient, staff: UserFactory) -> None:
    city = staff.headers("admin", "420200")
    by_metadata = completion(
        api, city, [{"role": "user", "content": "王奶奶80岁，不会做饭。"}], metadata={"county": "420281"}
    )
    by_user = completion(
        api, city, [{"role": "user", "content": "刘爷爷78岁，洗澡困难。"}], user='{"county": "420204"}'
    )
    counties = [
        api.get(f"/api/cases/{r['case_id']}", headers=city).json()["county"] for r in (by_metadata, by_user)
    ]
    assert counties == ["420281", "420204"]


def test_stream_is_openai_sse_ending_with_done(api: TestClient, worker: dict[str, str]) -> None:
    body = {
        "model": "huangshi-assistant",
        "messages": [{"role": "user", "content": ASSESSMENT + "（流式）"}],
        "stream": True,
        "stream_options": {"include_usage": True},
    }
    events = sse(api, worker, body)
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert {c["object"] for c in chunks} == {"chat.completion.chunk"}
    assert len({c["id"] for c in chunks}) == 1
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert chunks[-2]["choices"][0]["finish_reason"] == "stop"
    assert chunks[-1]["choices"] == [] and chunks[-1]["usage"]["total_tokens"] > 0
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert RESOURCE.search(text)


def test_requests_without_user_message_or_for_foreign_cases_are_refused(
    api: TestClient, worker: dict[str, str], staff: UserFactory
) -> None:
    empty = api.post(
        "/v1/chat/completions",
        json={"model": "huangshi-assistant", "messages": [{"role": "system", "content": "x"}]},
        headers=worker,
    )
    assert empty.status_code == 422
    case_id = completion(api, worker, [{"role": "user", "content": ASSESSMENT + "（第三户）"}])["case_id"]
    other = staff.headers("caseworker", "420222")
    foreign = api.post(
        "/v1/chat/completions",
        json={"model": f"huangshi-assistant:{case_id}", "messages": [{"role": "user", "content": "你好"}]},
        headers=other,
    )
    assert foreign.status_code == 403
    manager = staff.headers("resource_manager", HSG)
    assert (
        api.post(
            "/v1/chat/completions",
            json={"messages": [{"role": "user", "content": ASSESSMENT}]},
            headers=manager,
        ).status_code
        == 403
    )


@pytest.mark.integration
def test_official_openai_client_against_the_real_server(tmp_path: Path) -> None:
    with live_server(tmp_path / "data") as server:
        token = server.user("openai-client-caseworker", "caseworker", HSG)
        client = OpenAI(base_url=f"{server.url}/v1", api_key=token, max_retries=0, timeout=120)
        assert "huangshi-assistant" in [m.id for m in client.models.list()]

        first = client.chat.completions.create(
            model="huangshi-assistant", messages=[{"role": "user", "content": ASSESSMENT}]
        )
        opening = first.choices[0].message.content or ""
        assert first.model.startswith("huangshi-assistant:case-") and RESOURCE.search(opening)
        case_model = first.model

        stream = client.chat.completions.create(
            model="huangshi-assistant",
            messages=[
                {"role": "user", "content": ASSESSMENT},
                {"role": "assistant", "content": opening},
                {"role": "user", "content": "有没有离家近一点的助餐点"},
            ],
            stream=True,
        )
        chunks = list(stream)
        assert all(c.object == "chat.completion.chunk" for c in chunks)
        streamed = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert chunks[-1].choices[0].finish_reason == "stop"
        assert "助餐" in streamed and RESOURCE.search(streamed)
        assert {c.model for c in chunks} == {case_model}

        again = client.chat.completions.create(
            model=case_model, messages=[{"role": "user", "content": "为什么推荐第一个？"}]
        )
        assert "理由" in (again.choices[0].message.content or "")
        assert case_model in [m.id for m in client.models.list()]

        raw = httpx.post(
            f"{server.url}/v1/chat/completions",
            json={
                "model": case_model,
                "stream": True,
                "messages": [{"role": "user", "content": "现在的方案是什么"}],
            },
            headers={"Authorization": f"Bearer {token}"},
            timeout=120,
        )
        assert raw.text.endswith("data: [DONE]\n\n")
        assert all(block.startswith("data: ") for block in raw.text.strip().split("\n\n"))


def test_front_end_title_requests_do_not_open_cases(api: TestClient, worker: dict[str, str]) -> None:
    before = api.get("/api/cases", headers=worker).json()["total"]
    prompt = (
        "### Task:\nGenerate a concise, 3-5 word title with an emoji summarizing the chat history.\n"
        f'### Output:\nJSON format: {{ "title": "your concise title here" }}\n<chat_history>\nUSER: {ASSESSMENT}\n</chat_history>'
    )
    reply = completion(api, worker, [{"role": "user", "content": prompt}])
    assert reply["case_id"] is None
    assert json.loads(reply["choices"][0]["message"]["content"]) == {"title": "救助个案对话"}
    assert api.get("/api/cases", headers=worker).json()["total"] == before
