"""The FastAPI application: routers of every domain, error mapping, health check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from assistant import __version__
from assistant.app.container import Container
from assistant.cases.router import router as cases_router
from assistant.catalog.router import router as catalog_router
from assistant.chat.openai_compat import router as openai_router
from assistant.chat.router import router as chat_router
from assistant.config import Settings, get_settings
from assistant.errors import DomainError
from assistant.matching.router import router as matching_router
from assistant.privacy.log_redaction import install_log_redaction
from assistant.web import STATIC_DIR
from assistant.web.router import pages as web_pages
from assistant.web.router import router as web_router

FIELD_NAMES = {"body": "请求体", "query": "查询参数", "path": "路径参数", "header": "请求头"}


def _validation_message(exc: RequestValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        loc = [str(p) for p in err.get("loc", ())]
        where = FIELD_NAMES.get(loc[0], loc[0]) if loc else ""
        field = ".".join(loc[1:])
        msg = str(err.get("msg", "")).removeprefix("Value error, ")
        parts.append(f"{where} {field}：{msg}".strip())
    return "请求数据有误：" + "；".join(parts)


def create_app(settings: Settings | None = None, container: Container | None = None) -> FastAPI:
    """Build the app. Tests pass their own settings or container; ``serve`` uses the environment."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        install_log_redaction()
        if getattr(app.state, "container", None) is None:
            app.state.container = Container(settings or get_settings())
            app.state.container.seed_if_empty()
            _ = app.state.container.matcher  # load the embedder and the index once, at start-up
        yield
        if container is None:
            app.state.container.close()

    app = FastAPI(
        title="黄石市服务类社会救助匹配助手",
        version=__version__,
        description="需求评估 → 资源匹配 → 服务方案 → 转介工单。除 /healthz 与静态资源外，所有接口需 Bearer 令牌。",
        lifespan=lifespan,
    )
    app.state.container = container

    @app.exception_handler(DomainError)
    async def _domain_error(_request: Request, exc: DomainError) -> JSONResponse:
        return JSONResponse({"detail": exc.message, **exc.extra}, status_code=exc.status_code)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(_request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {"detail": _validation_message(exc), "errors": jsonable_errors(exc)}, status_code=422
        )

    @app.get("/healthz", tags=["health"], summary="健康检查（无需令牌）")
    def healthz(request: Request) -> dict[str, Any]:
        c: Container = request.app.state.container
        return {"status": "ok", "version": __version__, "resources": c.catalog.count()}

    app.include_router(catalog_router)
    app.include_router(cases_router)
    app.include_router(matching_router)
    app.include_router(chat_router)
    app.include_router(openai_router)
    app.include_router(web_router)
    app.include_router(web_pages)
    app.mount("/static", StaticFiles(directory=STATIC_DIR), name="static")
    return app


def jsonable_errors(exc: RequestValidationError) -> list[dict[str, Any]]:
    return [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": e.get("type")}
        for e in exc.errors()
    ]
