"""``POST /api/match``: needs and eligible resources for an assessment (the ``match --json`` shape)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request

from assistant.auth.deps import CurrentUser, container
from assistant.matching.types import MatchRequest

router = APIRouter(prefix="/api", tags=["matching"])


@router.post("/match", summary="需求识别与资源匹配（不保存个案）")
def match(body: MatchRequest, request: Request, user: CurrentUser) -> dict[str, Any]:
    if not user.can_act_in(body.county):
        raise HTTPException(403, "只能为本辖区的对象匹配资源")
    try:
        result = container(request).matcher.match(body)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    return result.to_json()
