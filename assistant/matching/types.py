"""What goes into and comes out of matching. ``MatchResult.to_json()`` is the ``match --json`` contract."""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel, Field


class Member(BaseModel):
    """Another person in the household a need may be for (孙子, 儿子 …)."""

    relation: str
    age: int | None = Field(default=None, ge=0, le=130)
    groups: list[str] = Field(default_factory=list)


class MatchRequest(BaseModel):
    """An assessment and the applicant's structured facts."""

    text: str = Field(min_length=1, max_length=20_000, description="需求评估原文")
    county: str = Field(description="区县代码，如 420222")
    groups: list[str] = Field(default_factory=list, description="救助对象类别代码")
    age: int | None = Field(default=None, ge=0, le=130)
    members: list[Member] = Field(default_factory=list, description="家庭中其他需要服务的成员")
    top_k: int = Field(default=5, ge=1, le=20)


class Person(BaseModel):
    """Whom a need is for: the applicant or a member. Eligibility is judged on this person."""

    relation: str = "申请人"
    age: int | None = None
    groups: list[str] = Field(default_factory=list)


class Need(BaseModel):
    """One distinct need found in the text."""

    text: str = Field(description="评估原文中体现该需求的语句")
    category: str
    confidence: float = 1.0
    person: Person = Field(default_factory=Person)
    cues: list[str] = Field(default_factory=list, description="触发该类别判断的词语")


class Match(BaseModel):
    resource_id: str
    name: str
    categories: list[str]
    service_areas: list[str]
    target_groups: list[str]
    score: float
    reasons: list[str] = Field(default_factory=list)
    organization: str = ""
    schedule_description: str = ""
    cost_description: str = ""
    address: str = ""
    phone: str = ""
    capacity_available: int | None = None


class NeedMatches(BaseModel):
    need: Need
    matches: list[Match]


class Unmet(BaseModel):
    text: str
    category: str
    reason: str
    reason_code: str = (
        "no_resource"  # no_resource_in_area | all_full | no_resource_for_group | low_relevance …
    )
    person: Person = Field(default_factory=Person)


class MatchResult(BaseModel):
    needs: list[NeedMatches] = Field(default_factory=list)
    unmet: list[Unmet] = Field(default_factory=list)
    config: str = "hybrid"
    timings_ms: dict[str, float] = Field(default_factory=dict)

    def eligible_ids(self) -> set[str]:
        """Every resource id this result offers (a plan may cite only these)."""
        return {m.resource_id for n in self.needs for m in n.matches}

    def to_json(self) -> dict[str, Any]:
        """The ``match --json`` / ``POST /api/match`` contract shape (extra keys are additive)."""
        return {
            "needs": [
                {
                    "text": n.need.text,
                    "category": n.need.category,
                    "person": n.need.person.model_dump(),
                    "matches": [m.model_dump() for m in n.matches],
                }
                for n in self.needs
            ],
            "unmet": [u.model_dump() for u in self.unmet],
        }


class NeedExtractor(Protocol):
    """Finds the distinct needs in an assessment. The rule-based one is the default; an LLM one may wrap it."""

    def extract(self, request: MatchRequest) -> list[Need]: ...
