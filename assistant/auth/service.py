"""Creating users and tokens, and resolving a bearer token to its user."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from assistant.audit.service import record
from assistant.auth.models import ApiToken, Role, User
from assistant.taxonomy import get_taxonomy

TOKEN_PREFIX = "hsa_"


class AuthError(ValueError):
    """A user or token request that cannot be honoured (message is shown to the person)."""


def hash_token(token: str) -> str:
    # Tokens carry 256 random bits, so a fast hash is enough; no salt needed.
    return hashlib.sha256(token.encode()).hexdigest()


def create_user(
    session: Session, *, name: str, role: str, county: str = "420200", actor: str = "system"
) -> tuple[User, str]:
    """Create a user and their first token. The token is returned once and never stored."""
    if role not in Role.__members__:
        raise AuthError(f"未知角色 {role!r}，可选：{', '.join(Role.__members__)}")
    if county not in get_taxonomy().areas:
        raise AuthError(f"未知区划代码 {county!r}")
    if session.scalar(select(User).where(User.name == name)):
        raise AuthError(f"用户 {name!r} 已存在")
    user = User(name=name, role=role, county=county)
    session.add(user)
    session.flush()
    token = issue_token(session, user)
    record(
        session,
        actor=actor,
        action="user.create",
        entity_type="user",
        entity_id=str(user.id),
        county=county,
        detail={"name": name, "role": role},
    )
    return user, token


def issue_token(session: Session, user: User) -> str:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_hash=hash_token(token), prefix=token[:10]))
    session.flush()
    return token


def authenticate(session: Session, token: str) -> User | None:
    """The active user owning an unrevoked token, or None."""
    if not token:
        return None
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None))
    )
    if row is None or not row.user.active:
        return None
    return row.user
