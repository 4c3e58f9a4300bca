"""Imports every domain's ORM models so that ``Base.metadata`` (and Alembic) sees all tables."""

from assistant.audit.models import AuditEvent
from assistant.auth.models import ApiToken, User
from assistant.cases.models import Case, FollowUpTask, Plan, PlanVersion, Referral, ReferralEvent
from assistant.catalog.models import Resource, ResourceChange
from assistant.chat.models import ChatConversation, ChatMessage
from assistant.matching.models import UnmetNeedRecord

__all__ = [
    "ApiToken",
    "AuditEvent",
    "Case",
    "ChatConversation",
    "ChatMessage",
    "FollowUpTask",
    "Plan",
    "PlanVersion",
    "Referral",
    "ReferralEvent",
    "Resource",
    "ResourceChange",
    "UnmetNeedRecord",
    "User",
]
