"""FastAPI dependencies: bearer-token authentication and role checks (deny by default)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from assistant.auth.models import Role, User
from assistant.auth.service import authenticate

bearer = HTTPBearer(auto_error=False, description="assistant users create 生成的令牌")


def container(request: Request) -> Any:
    """The application's service container (see ``assistant.app.container``)."""
    return request.app.state.container


def current_user(
    request: Request, credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "缺少访问令牌：请在请求头中提供 Authorization: Bearer <令牌>",
            headers={"WWW-Authenticate": "Bearer"},
        )
    with container(request).db.session() as session:
        user = authenticate(session, credentials.credentials)
        if user is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED, "访问令牌无效或已停用", headers={"WWW-Authenticate": "Bearer"}
            )
        session.expunge(user)
        return user


CurrentUser = Annotated[User, Depends(current_user)]


def require_roles(*roles: Role) -> Callable[[User], User]:
    allowed = {r.value for r in roles}

    def check(user: CurrentUser) -> User:
        if user.role not in allowed:
            names = {"caseworker": "社工", "resource_manager": "资源管理员", "admin": "管理员"}
            raise HTTPException(
                status.HTTP_403_FORBIDDEN, f"此操作需要以下角色之一：{'、'.join(names[r] for r in allowed)}"
            )
        return user

    return check


ManagerUser = Annotated[User, Depends(require_roles(Role.resource_manager, Role.admin))]
CaseworkerUser = Annotated[User, Depends(require_roles(Role.caseworker, Role.admin))]
AdminUser = Annotated[User, Depends(require_roles(Role.admin))]
AnyUser = CurrentUser
