"""Workbench pages (served without a token; all data comes from the token-protected API) and the
two small read-only APIs the pages need: who am I, and the taxonomy labels."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import FileResponse

from assistant.auth.deps import CurrentUser
from assistant.catalog.schemas import STATUS_LABELS
from assistant.taxonomy import get_taxonomy
from assistant.taxonomy.model import CITYWIDE
from assistant.web import STATIC_DIR

pages = APIRouter(include_in_schema=False)
router = APIRouter(prefix="/api", tags=["workbench"])

ROLE_LABELS = {"caseworker": "社工", "resource_manager": "资源管理员", "admin": "管理员"}


@pages.get("/")
def workbench() -> FileResponse:
    """The single-page workbench; views are chosen by the URL fragment (#/cases, #/catalog …)."""
    return FileResponse(STATIC_DIR / "index.html", headers={"Cache-Control": "no-cache"})


@pages.get("/favicon.ico")
def favicon() -> FileResponse:
    return FileResponse(STATIC_DIR / "favicon.svg", media_type="image/svg+xml")


@router.get("/me", summary="当前用户（姓名、角色、辖区）")
def me(user: CurrentUser) -> dict[str, Any]:
    taxonomy = get_taxonomy()
    return {
        "id": user.id,
        "name": user.name,
        "role": user.role,
        "role_label": ROLE_LABELS.get(user.role, user.role),
        "county": user.county,
        "county_label": taxonomy.area_label(user.county),
        "citywide": user.citywide,
    }


@router.get("/taxonomy", summary="服务类别、救助对象、区划代码及中文名称")
def taxonomy(_user: CurrentUser) -> dict[str, Any]:
    tax = get_taxonomy()
    return {
        "categories": [
            {"code": c.code, "label": c.label, "description": c.description} for c in tax.categories.values()
        ],
        "groups": [{"code": g.code, "label": g.label} for g in tax.groups.values()],
        "areas": [
            {"code": a.code, "label": a.label, "short": a.short, "citywide": a.code == CITYWIDE}
            for a in tax.areas.values()
        ],
        "statuses": [
            {"code": code, "label": STATUS_LABELS[code]}
            for code in ("active", "temporarily closed", "inactive", "defunct")
        ],
    }
