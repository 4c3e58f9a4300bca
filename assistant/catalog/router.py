"""Resource API for managers (everyone signed in may read; managers write within their area)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Header, HTTPException, Query, Request, UploadFile
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from assistant.auth.deps import CurrentUser, ManagerUser, container
from assistant.catalog.io import CatalogFileError, detect_format, export_bytes, parse_bytes, validate_rows
from assistant.catalog.schemas import (
    STATUSES,
    ImportReport,
    ResourceChangeOut,
    ResourceData,
    ResourceOut,
    ResourcePage,
    ResourceUpdate,
    RowError,
)
from assistant.catalog.service import CatalogService, ResourceFilter

router = APIRouter(prefix="/api/resources", tags=["resources"])

MEDIA = {
    "json": "application/json",
    "yaml": "application/yaml",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def catalog_service(request: Request) -> CatalogService:
    return container(request).catalog  # type: ignore[no-any-return]


Catalog = Annotated[CatalogService, Depends(catalog_service)]


def _filter(
    area: str | None = None,
    category: str | None = None,
    group: str | None = None,
    status: str | None = Query(default=None, description=" | ".join(STATUSES)),
    q: str | None = Query(default=None, description="名称、机构、描述中的文字"),
    limit: int = Query(default=50, ge=1, le=500),
    offset: int = Query(default=0, ge=0),
) -> ResourceFilter:
    return ResourceFilter(
        area=area, category=category, group=group, status=status, text=q, limit=limit, offset=offset
    )


@router.get("", response_model=ResourcePage, summary="资源列表（可按区域、类别、对象、状态、文字筛选）")
def list_resources(
    catalog: Catalog, _user: CurrentUser, flt: Annotated[ResourceFilter, Depends(_filter)]
) -> Any:
    items, total = catalog.list(flt)
    return {"items": items, "total": total, "limit": flt.limit, "offset": flt.offset}


@router.post("", response_model=ResourceOut, status_code=201, summary="新增资源")
def create_resource(data: ResourceData, catalog: Catalog, user: ManagerUser) -> Any:
    return catalog.create(data, user)


@router.get("/export", summary="导出资源目录（json / yaml / csv / xlsx）")
def export_resources(
    catalog: Catalog,
    _user: CurrentUser,
    flt: Annotated[ResourceFilter, Depends(_filter)],
    format: str = Query(default="json", pattern="^(json|yaml|csv|xlsx)$"),
) -> Response:
    flt.limit, flt.offset = 1_000_000, 0
    items, _ = catalog.list(flt)
    return Response(
        export_bytes(items, format),
        media_type=MEDIA[format],
        headers={"Content-Disposition": f'attachment; filename="resources.{format}"'},
    )


@router.post("/import", response_model=ImportReport, summary="批量导入（全部成功或全部不写入）")
async def import_resources(
    catalog: Catalog,
    user: ManagerUser,
    file: Annotated[UploadFile, File(description="YAML/JSON/CSV/XLSX")],
    dry_run: bool = Query(default=False, description="只校验，不写入"),
) -> Any:
    try:
        fmt = detect_format(file.filename or "", None)
        rows = parse_bytes(await file.read(), fmt)
    except CatalogFileError as exc:
        raise HTTPException(422, str(exc)) from exc
    valid, errors = validate_rows(rows)
    if errors:
        _reject(errors)
    if dry_run:
        return ImportReport(ok=True, total_rows=len(rows))
    numbers = [r.row for r in rows]
    report = await run_in_threadpool(catalog.import_resources, valid, user, "import", None, numbers)
    if not report.ok:
        _reject(report.errors)
    return report


def _reject(errors: list[RowError]) -> None:
    raise HTTPException(
        422,
        {
            "message": f"{len({e.row for e in errors})} 行有错误，未导入任何数据，请修改后重新导入",
            "errors": [e.model_dump() for e in errors],
        },
    )


@router.get("/{resource_id}", response_model=ResourceOut, summary="资源详情")
def get_resource(resource_id: str, catalog: Catalog, _user: CurrentUser, response: Response) -> Any:
    resource = catalog.get(resource_id)
    response.headers["ETag"] = f'"{resource["version"]}"'
    return resource


@router.put("/{resource_id}", response_model=ResourceOut, summary="修改资源（版本不符时 409）")
def update_resource(
    resource_id: str,
    data: ResourceUpdate,
    catalog: Catalog,
    user: ManagerUser,
    if_match: Annotated[str | None, Header()] = None,
) -> Any:
    version = data.version
    if if_match:
        try:
            version = int(if_match.strip('W/"'))
        except ValueError as exc:
            raise HTTPException(400, "If-Match 应为资源版本号") from exc
    if version is None:
        raise HTTPException(
            428, "请提供所编辑的版本号（请求体 version 字段或 If-Match 头），以免覆盖他人修改"
        )
    payload = ResourceData.model_validate(data.model_dump(exclude={"version"}))
    return catalog.update(resource_id, payload, version, user)


@router.delete("/{resource_id}", response_model=ResourceOut, summary="撤销资源（状态改为 defunct，保留历史）")
def delete_resource(resource_id: str, catalog: Catalog, user: ManagerUser) -> Any:
    return catalog.delete(resource_id, user)


@router.get("/{resource_id}/changes", response_model=list[ResourceChangeOut], summary="字段级变更记录")
def resource_changes(resource_id: str, catalog: Catalog, _user: CurrentUser) -> Any:
    return catalog.changes(resource_id)
