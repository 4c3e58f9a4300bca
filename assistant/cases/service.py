"""Case use cases: assessment → draft plan → edits → confirmation → referrals → follow-ups → closure.

Nothing reaches a provider until a caseworker confirms. Every change is written to the audit log in
the same transaction as the change itself. The original assessment stays in the store: matching,
planning, responses and the audit log see only the redacted copy.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from assistant.audit.models import AuditEvent
from assistant.audit.service import list_events, record
from assistant.auth.models import Role, User
from assistant.cases import referrals as referral_rules
from assistant.cases import views
from assistant.cases.gaps import GapReport, gap_report, local_today
from assistant.cases.models import Case, FollowUpTask, Plan, PlanVersion, Referral, ReferralEvent, new_id
from assistant.cases.plan_checks import (
    ItemCheck,
    check_item,
    duplicate_problem,
    full_problem,
    household,
    persons_for,
)
from assistant.cases.schemas import (
    CASE_STATUS_LABELS,
    CLOSE_REASONS,
    OPEN_PLAN_STATUSES,
    PLAN_STATUS_LABELS,
    CaseClose,
    CaseCreate,
    CaseOut,
    CasePage,
    FollowUpOut,
    FollowUpPage,
    ItemProblem,
    PlanEdit,
    PlanOut,
    PlanVersionOut,
    ReferralOut,
    ReferralPage,
    ReferralStatusUpdate,
)
from assistant.catalog.io import resource_dict
from assistant.catalog.models import Resource
from assistant.catalog.service import CatalogService
from assistant.db import Database, utcnow
from assistant.errors import Conflict, Forbidden, Invalid, NotFound
from assistant.matching.types import MatchRequest, MatchResult, Member, Person
from assistant.planning.schemas import DraftPlan, PlanItem
from assistant.privacy import redact
from assistant.taxonomy import get_taxonomy

log = logging.getLogger(__name__)

CASEWORK_ROLES = frozenset({Role.caseworker.value, Role.admin.value})


class Matcher(Protocol):
    """What cases need of the matching engine."""

    def match(
        self,
        request: MatchRequest,
        *,
        config: str = "hybrid",
        record_unmet: bool = True,
        case_id: str | None = None,
    ) -> MatchResult: ...

    def eligible(self, resource: dict[str, Any], person: Person, county: str) -> bool: ...


class Planner(Protocol):
    """What cases need of the planning service."""

    def draft(self, request: MatchRequest, result: MatchResult, *, names: list[str] = ...) -> DraftPlan: ...

    def revise(
        self, plan: DraftPlan, instruction: str, request: MatchRequest, result: MatchResult
    ) -> DraftPlan: ...


def _area(code: str) -> str:
    return get_taxonomy().area_label(code)


def _stale(what: str) -> Conflict:
    return Conflict(f"{what}刚被他人修改，请刷新后重试")


class CaseService:
    """Use cases over cases, plans, referrals, follow-ups, gap reports and the audit log."""

    def __init__(self, db: Database, catalog: CatalogService, matcher: Matcher, planner: Planner) -> None:
        self.db = db
        self.catalog = catalog
        self.matcher = matcher
        self.planner = planner

    # -- access ------------------------------------------------------------------------------------

    @staticmethod
    def _require_casework(user: User) -> None:
        if user.role not in CASEWORK_ROLES:
            raise Forbidden("个案、方案与工单仅限社工和管理员办理")

    @staticmethod
    def _require_scope(user: User, county: str, what: str = "个案") -> None:
        if not user.can_act_in(county):
            raise Forbidden(f"该{what}属于{_area(county)}，您只能办理{_area(user.county)}的{what}")

    @contextmanager
    def _unit(self) -> Iterator[Session]:
        """A transaction whose optimistic-lock failures become a 409 the caseworker can act on."""
        try:
            with self.db.session() as session:
                yield session
        except StaleDataError as exc:
            raise _stale("该记录") from exc

    def _case(self, session: Session, case_id: str, user: User) -> Case:
        self._require_casework(user)
        case = session.get(Case, case_id)
        if case is None:
            raise NotFound(f"个案 {case_id} 不存在")
        self._require_scope(user, case.county)
        return case

    def _plan(self, session: Session, plan_id: str, user: User) -> Plan:
        self._require_casework(user)
        plan = session.get(Plan, plan_id)
        if plan is None:
            raise NotFound(f"服务方案 {plan_id} 不存在")
        self._require_scope(user, plan.county, "服务方案")
        return plan

    def _referral(self, session: Session, referral_id: str, user: User) -> Referral:
        self._require_casework(user)
        referral = session.get(Referral, referral_id)
        if referral is None:
            raise NotFound(f"工单 {referral_id} 不存在")
        self._require_scope(user, referral.county, "工单")
        return referral

    @staticmethod
    def _listing_counties(user: User, county: str | None) -> list[str] | None:
        """Counties a listing may show: the asked one if allowed; None means every county."""
        if county:
            if not user.can_act_in(county):
                raise Forbidden(f"您只能查看{_area(user.county)}的数据，不能查看{_area(county)}的数据")
            return [county]
        return None if user.citywide else [user.county]

    # -- cases -------------------------------------------------------------------------------------

    def create_case(self, data: CaseCreate, user: User) -> CaseOut:
        """Store an assessment: the original in ``text``, a redacted copy for everything else."""
        self._require_casework(user)
        self._require_scope(user, data.county)
        names = [data.name] if data.name else []
        with self._unit() as session:
            case = Case(
                id=new_id("case"),
                county=data.county,
                groups=list(data.groups),
                age=data.age,
                members=[m.model_dump() for m in data.members],
                name=data.name or None,
                notes=data.notes,
                text=data.text,
                text_redacted=redact(data.text, names),
                caseworker_id=user.id,
                caseworker=user.name,
                status="open",
            )
            session.add(case)
            session.flush()
            record(
                session,
                actor=user.name,
                action="case.create",
                entity_type="case",
                entity_id=case.id,
                county=case.county,
                detail={"groups": case.groups, "age": case.age, "members": len(case.members)},
            )
            return views.case_out(session, case, detail=True)

    def list_cases(
        self,
        user: User,
        *,
        status: str | None = None,
        county: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> CasePage:
        self._require_casework(user)
        if status and status not in CASE_STATUS_LABELS:
            raise Invalid(f"未知的个案状态 {status!r}，可选：{'、'.join(CASE_STATUS_LABELS)}")
        counties = self._listing_counties(user, county)
        with self._unit() as session:
            query = select(Case)
            if counties is not None:
                query = query.where(Case.county.in_(counties))
            if status:
                query = query.where(Case.status == status)
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(
                query.order_by(Case.created_at.desc(), Case.id).offset(offset).limit(limit)
            )
            items = [views.case_out(session, case, detail=False) for case in rows]
            return CasePage(items=items, total=total, limit=limit, offset=offset)

    def get_case(self, case_id: str, user: User) -> CaseOut:
        with self._unit() as session:
            return views.case_out(session, self._case(session, case_id, user), detail=True)

    def close_case(self, case_id: str, data: CaseClose, user: User) -> CaseOut:
        """Close a case; open referrals must be cancelled explicitly (their places go back)."""
        released: list[str] = []
        with self._unit() as session:
            case = self._case(session, case_id, user)
            if case.status == "closed":
                raise Conflict(f"个案 {case_id} 已于 {case.closed_at:%Y-%m-%d} 结案")
            referrals = list(session.scalars(select(Referral).where(Referral.case_id == case.id)))
            active = [r for r in referrals if r.status in referral_rules.ACTIVE]
            if active and not data.cancel_open_referrals:
                raise Conflict(
                    f"个案还有 {len(active)} 张进行中的工单，请先办结，或在结案时选择一并取消（cancel_open_referrals）",
                    extra={"active_referrals": [r.id for r in active]},
                )
            reason = data.reason
            if reason is None and referrals and all(r.status == "completed" for r in referrals):
                reason = "services_completed"
            if reason is None:
                raise Invalid(
                    "请选择结案原因：" + "、".join(f"{k}（{v}）" for k, v in CLOSE_REASONS.items()),
                    extra={"reasons": list(CLOSE_REASONS)},
                )
            if reason not in CLOSE_REASONS:
                raise Invalid(f"未知的结案原因 {reason!r}，可选：{'、'.join(CLOSE_REASONS)}")
            if reason == "other" and not data.note.strip():
                raise Invalid("结案原因为“其他”时请填写说明")
            for referral in active:
                if referral_rules.apply_transition(
                    session,
                    self.catalog,
                    referral,
                    "cancelled",
                    actor=user.name,
                    reason_code="case_closed",
                    note="个案结案，工单一并取消",
                ):
                    released.append(referral.resource_id)
            session.execute(
                update(Plan)
                .where(Plan.case_id == case.id, Plan.status.in_(OPEN_PLAN_STATUSES))
                .values(status="withdrawn", updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            for task in session.scalars(
                select(FollowUpTask).where(FollowUpTask.case_id == case.id, FollowUpTask.status == "open")
            ):
                task.status = "cancelled"
                task.note = "个案已结案"
            case.status = "closed"
            case.close_reason = reason
            case.close_note = data.note
            case.closed_at = utcnow()
            case.closed_by = user.name
            case.updated_at = utcnow()
            record(
                session,
                actor=user.name,
                action="case.close",
                entity_type="case",
                entity_id=case.id,
                county=case.county,
                detail={"reason": reason, "cancelled_referrals": [r.id for r in active]},
            )
            session.flush()
            out = views.case_out(session, case, detail=True)
        self.catalog.publish_capacity(released)
        return out

    # -- plans -------------------------------------------------------------------------------------

    def draft_plan(self, case_id: str, user: User, *, config: str = "hybrid") -> PlanOut:
        """Match the case, draft a plan (version 1), store both. Earlier unconfirmed plans are superseded."""
        with self._unit() as session:
            case = self._case(session, case_id, user)
            if case.status == "closed":
                raise Conflict(f"个案 {case_id} 已结案，不能再制定方案")
            request = self._match_request(case)
            names = [case.name] if case.name else []
        # Matching and drafting may be slow (embeddings, an LLM): no transaction is held meanwhile.
        result = self.matcher.match(request, config=config, case_id=case_id)
        draft = self.planner.draft(request, result, names=names)
        draft = self._grounded(draft, result)
        with self._unit() as session:
            case = self._case(session, case_id, user)
            if case.status == "closed":
                raise Conflict(f"个案 {case_id} 已结案，不能再制定方案")
            superseded = list(
                session.scalars(
                    select(Plan.id).where(Plan.case_id == case.id, Plan.status.in_(OPEN_PLAN_STATUSES))
                )
            )
            if superseded:
                session.execute(
                    update(Plan)
                    .where(Plan.id.in_(superseded), Plan.status.in_(OPEN_PLAN_STATUSES))
                    .values(status="superseded", updated_at=utcnow())
                    .execution_options(synchronize_session=False)
                )
            plan = Plan(
                id=new_id("plan"),
                case_id=case.id,
                county=case.county,
                status="draft",
                current_version=1,
                created_by=user.name,
                request=request.model_dump(),
                match_result=result.model_dump(),
            )
            session.add(plan)
            session.flush()
            session.add(
                PlanVersion(
                    plan_id=plan.id, version=1, kind="draft", created_by=user.name, content=draft.model_dump()
                )
            )
            case.updated_at = utcnow()
            record(
                session,
                actor=user.name,
                action="plan.draft",
                entity_type="plan",
                entity_id=plan.id,
                county=plan.county,
                detail={
                    "case_id": case.id,
                    "version": 1,
                    "author": draft.author,
                    "items": [i.resource_id for i in draft.items],
                    "unmet": [u.category for u in draft.unmet],
                    "superseded": superseded,
                },
            )
            session.flush()
            return views.plan_out(session, plan)

    def get_plan(self, plan_id: str, user: User) -> PlanOut:
        with self._unit() as session:
            return views.plan_out(session, self._plan(session, plan_id, user), with_referrals=True)

    def plan_versions(self, plan_id: str, user: User) -> list[PlanVersionOut]:
        with self._unit() as session:
            plan = self._plan(session, plan_id, user)
            rows = session.scalars(
                select(PlanVersion).where(PlanVersion.plan_id == plan.id).order_by(PlanVersion.version)
            )
            return [views.version_out(row) for row in rows]

    def edit_plan(self, plan_id: str, data: PlanEdit, user: User) -> PlanOut:
        """Store the caseworker's edited plan as a new version; new or changed items must be eligible now."""
        with self._unit() as session:
            plan = self._plan(session, plan_id, user)
            self._require_editable(plan)
            if data.base_version != plan.current_version:
                raise self._version_conflict(plan, data.base_version)
            base = self._content(session, plan)
            case = session.get(Case, plan.case_id)
            assert case is not None
            result = MatchResult.model_validate(plan.match_result)
            people = household(case.age, case.groups, case.members)
            old_keys = {(i.resource_id, i.need.strip()) for i in base.items}
            new_items = [self._filled(item) for item in data.items]
            resources = self._resources(session, {i.resource_id for i in new_items})
            problems: list[ItemProblem] = []
            seen: set[tuple[str, str]] = set()
            for index, item in enumerate(new_items):
                key = (item.resource_id, item.need.strip())
                resource = resources.get(item.resource_id)
                if key in seen:
                    problems.append(duplicate_problem(index, item, item.resource_name))
                    continue
                seen.add(key)
                if resource is not None and not item.resource_name:
                    item.resource_name = resource["name"]
                if key in old_keys:
                    continue  # unchanged items are re-checked at confirmation
                check = check_item(
                    index,
                    item,
                    resource,
                    persons_for(item, result, people),
                    case.county,
                    self.matcher.eligible,
                )
                if check.problem:
                    problems.append(check.problem)
            if problems:
                raise Invalid(
                    "以下条目不能保存：" + "；".join(p.message for p in problems),
                    extra={"items": [p.model_dump() for p in problems]},
                )
            content = base.model_copy(
                update={
                    "items": new_items,
                    "goals": data.goals if data.goals is not None else base.goals,
                    "follow_ups": data.follow_ups if data.follow_ups is not None else base.follow_ups,
                    "unmet": data.unmet if data.unmet is not None else base.unmet,
                    "summary": data.summary if data.summary is not None else base.summary,
                }
            )
            version = self._next_version(session, plan, data.base_version, "edited")
            session.add(
                PlanVersion(
                    plan_id=plan.id,
                    version=version,
                    kind="edit",
                    created_by=user.name,
                    content=content.model_dump(),
                    notes=data.notes,
                )
            )
            new_keys = {(i.resource_id, i.need.strip()) for i in new_items}
            record(
                session,
                actor=user.name,
                action="plan.edit",
                entity_type="plan",
                entity_id=plan.id,
                county=plan.county,
                detail={
                    "case_id": plan.case_id,
                    "version": version,
                    "based_on": data.base_version,
                    "added": sorted({rid for rid, _ in new_keys - old_keys}),
                    "removed": sorted({rid for rid, _ in old_keys - new_keys}),
                    "items": [i.resource_id for i in new_items],
                },
            )
            session.flush()
            return views.plan_out(session, plan)

    def revise_plan(self, plan_id: str, instruction: str, base_version: int, user: User) -> PlanOut:
        """Let the planner rewrite the current version after an instruction (grounded in the stored matches)."""
        with self._unit() as session:
            plan = self._plan(session, plan_id, user)
            self._require_editable(plan)
            if base_version != plan.current_version:
                raise self._version_conflict(plan, base_version)
            base = self._content(session, plan)
            request = MatchRequest.model_validate(plan.request)
            result = MatchResult.model_validate(plan.match_result)
            instruction = redact(instruction, self._names(session, plan.case_id))
        revised = self._grounded(self.planner.revise(base, instruction, request, result), result)
        with self._unit() as session:
            plan = self._plan(session, plan_id, user)
            self._require_editable(plan)
            version = self._next_version(session, plan, base_version, "edited")
            session.add(
                PlanVersion(
                    plan_id=plan.id,
                    version=version,
                    kind="revise",
                    created_by=user.name,
                    content=revised.model_dump(),
                    notes=instruction,
                )
            )
            record(
                session,
                actor=user.name,
                action="plan.revise",
                entity_type="plan",
                entity_id=plan.id,
                county=plan.county,
                detail={
                    "case_id": plan.case_id,
                    "version": version,
                    "based_on": base_version,
                    "author": revised.author,
                    "items": [i.resource_id for i in revised.items],
                },
            )
            session.flush()
            return views.plan_out(session, plan)

    def confirm_plan(
        self, plan_id: str, user: User, *, skip_invalid: bool = False, version: int | None = None
    ) -> PlanOut:
        """Confirm against the catalog as it is now: re-check every item and reserve one place per item.

        All in one transaction, so a failure leaves nothing reserved. The plan row is claimed first
        (SQLite then serialises competing confirmations; PostgreSQL re-checks capacity on the row lock).
        """
        reserved: list[str] = []
        with self._unit() as session:
            plan = self._plan(session, plan_id, user)
            self._require_editable(plan)
            if version is not None and version != plan.current_version:
                raise self._version_conflict(plan, version)
            claimed = session.execute(
                update(Plan)
                .where(
                    Plan.id == plan.id,
                    Plan.status.in_(OPEN_PLAN_STATUSES),
                    Plan.current_version == plan.current_version,
                )
                .values(status="confirmed", decided_at=utcnow(), decided_by=user.name, updated_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if claimed.rowcount == 0:  # type: ignore[attr-defined]
                raise _stale("该服务方案")
            session.refresh(plan)
            case = session.get(Case, plan.case_id, populate_existing=True)
            assert case is not None
            if case.status == "closed":
                raise Conflict(f"个案 {case.id} 已结案，不能确认方案")
            content = self._content(session, plan)
            if not content.items:
                raise Invalid("方案中没有服务条目，无法确认；请先添加条目，或驳回该方案")
            result = MatchResult.model_validate(plan.match_result)
            people = household(case.age, case.groups, case.members)

            accepted: list[tuple[int, PlanItem, Person, bool]] = []
            problems: list[ItemProblem] = []
            seen: set[tuple[str, str]] = set()
            # A later plan for the same case must not book the same service for the same person twice.
            running = {
                (r.resource_id, r.person_relation)
                for r in session.scalars(
                    select(Referral).where(
                        Referral.case_id == case.id, Referral.status.in_(referral_rules.ACTIVE)
                    )
                )
            }
            for index, item in enumerate(content.items):
                key = (item.resource_id, item.need.strip())
                if key in seen:
                    problems.append(duplicate_problem(index, item, item.resource_name))
                    continue
                seen.add(key)
                check = self._check_now(session, index, item, persons_for(item, result, people), case.county)
                if check.problem is not None or check.person is None:
                    problems.append(check.problem or full_problem(index, item, item.resource_name))
                    continue
                if (item.resource_id, check.person.relation) in running:
                    problems.append(
                        duplicate_problem(index, item, item.resource_name, "本个案已有该资源进行中的工单")
                    )
                    continue
                counted = self._capacity_counted(session, item.resource_id)
                try:
                    self.catalog.reserve_place(session, item.resource_id, user.name)
                except (Conflict, NotFound):
                    problems.append(full_problem(index, item, item.resource_name))
                    continue
                accepted.append((index, item, check.person, counted))

            if problems and (not skip_invalid or not accepted):
                what = "所有条目均已失效" if not accepted else f"{len(problems)} 个条目已不满足条件"
                raise Conflict(
                    f"方案未确认：{what}（资源目录在起草后有变化）。"
                    + "；".join(p.message for p in problems)
                    + ("。可修改方案后重新确认，或选择跳过失效条目（skip_invalid）" if accepted else ""),
                    extra={"invalid": [p.model_dump() for p in problems]},
                )

            if problems:
                kept = [item for _, item, _, _ in accepted]
                new_version = plan.current_version + 1
                session.add(
                    PlanVersion(
                        plan_id=plan.id,
                        version=new_version,
                        kind="confirm",
                        created_by=user.name,
                        content=content.model_copy(update={"items": kept}).model_dump(),
                        notes="确认时跳过失效条目：" + "；".join(p.message for p in problems),
                    )
                )
                plan.current_version = new_version

            referrals = []
            # Positions in the confirmed version (the same as the draft's unless items were skipped).
            for position, (_, item, person, counted) in enumerate(accepted):
                referral = referral_rules.open_referral(
                    session, plan, position, item, person, counted=counted, actor=user.name
                )
                referrals.append(referral)
                if counted:
                    reserved.append(item.resource_id)
            tasks = self._follow_ups(session, plan, case, content)
            if case.status == "open":
                case.status = "planned"
            case.updated_at = utcnow()
            record(
                session,
                actor=user.name,
                action="plan.confirm",
                entity_type="plan",
                entity_id=plan.id,
                county=plan.county,
                detail={
                    "case_id": case.id,
                    "version": plan.current_version,
                    "referrals": [r.id for r in referrals],
                    "skipped": [
                        p.model_dump(include={"index", "resource_id", "reason_code"}) for p in problems
                    ],
                    "follow_ups": [t.id for t in tasks],
                },
            )
            session.flush()
            out = views.plan_out(session, plan, with_referrals=True)
            out.skipped = problems
        self.catalog.publish_capacity(reserved)
        return out

    def reject_plan(self, plan_id: str, reason: str, user: User) -> PlanOut:
        with self._unit() as session:
            plan = self._plan(session, plan_id, user)
            self._require_editable(plan)
            if not reason.strip():
                raise Invalid("请填写驳回原因")
            done = session.execute(
                update(Plan)
                .where(Plan.id == plan.id, Plan.status.in_(OPEN_PLAN_STATUSES))
                .values(
                    status="rejected",
                    decided_at=utcnow(),
                    decided_by=user.name,
                    reject_reason=reason.strip(),
                    updated_at=utcnow(),
                )
                .execution_options(synchronize_session=False)
            )
            if done.rowcount == 0:  # type: ignore[attr-defined]
                raise _stale("该服务方案")
            session.refresh(plan)
            record(
                session,
                actor=user.name,
                action="plan.reject",
                entity_type="plan",
                entity_id=plan.id,
                county=plan.county,
                detail={
                    "case_id": plan.case_id,
                    "version": plan.current_version,
                    "reason": redact(reason, self._names(session, plan.case_id)),
                },
            )
            return views.plan_out(session, plan)

    # -- referrals ---------------------------------------------------------------------------------

    def list_referrals(
        self,
        user: User,
        *,
        status: str | None = None,
        county: str | None = None,
        case_id: str | None = None,
        plan_id: str | None = None,
        resource_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> ReferralPage:
        self._require_casework(user)
        if status and status not in referral_rules.STATUS_LABELS:
            raise Invalid(f"未知的工单状态 {status!r}，可选：{'、'.join(referral_rules.STATUS_LABELS)}")
        counties = self._listing_counties(user, county)
        with self._unit() as session:
            query = select(Referral)
            if counties is not None:
                query = query.where(Referral.county.in_(counties))
            for column, value in (
                (Referral.status, status),
                (Referral.case_id, case_id),
                (Referral.plan_id, plan_id),
                (Referral.resource_id, resource_id),
            ):
                if value:
                    query = query.where(column == value)
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(
                query.order_by(Referral.created_at.desc(), Referral.id).offset(offset).limit(limit)
            )
            return ReferralPage(
                items=[views.referral_out(r) for r in rows], total=total, limit=limit, offset=offset
            )

    def get_referral(self, referral_id: str, user: User) -> ReferralOut:
        with self._unit() as session:
            referral = self._referral(session, referral_id, user)
            return views.referral_out(referral, self._events(session, referral.id))

    def update_referral(self, referral_id: str, data: ReferralStatusUpdate, user: User) -> ReferralOut:
        """Move a referral along its life cycle; declined / cancelled give the place back."""
        released = False
        with self._unit() as session:
            referral = self._referral(session, referral_id, user)
            released = referral_rules.apply_transition(
                session,
                self.catalog,
                referral,
                data.status,
                actor=user.name,
                reason_code=data.reason_code,
                note=data.note,
            )
            if data.status == "in_service":
                case = session.get(Case, referral.case_id)
                if case is not None and case.status in ("open", "planned"):
                    case.status = "in_service"
                    case.updated_at = utcnow()
            session.flush()
            out = views.referral_out(referral, self._events(session, referral.id))
            resource_id = referral.resource_id
        if released:
            self.catalog.publish_capacity([resource_id])
        return out

    # -- follow-ups --------------------------------------------------------------------------------

    def list_followups(
        self,
        user: User,
        *,
        due_before: date | None = None,
        status: str | None = "open",
        case_id: str | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> FollowUpPage:
        """A caseworker's own follow-ups (admins see everyone's), soonest first."""
        self._require_casework(user)
        if status and status not in ("open", "done", "cancelled"):
            raise Invalid("回访状态应为 open、done 或 cancelled")
        with self._unit() as session:
            query = select(FollowUpTask)
            if not user.is_admin:
                query = query.where(FollowUpTask.assignee_id == user.id)
            if status:
                query = query.where(FollowUpTask.status == status)
            if due_before:
                query = query.where(FollowUpTask.due_date <= due_before)
            if case_id:
                query = query.where(FollowUpTask.case_id == case_id)
            total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
            rows = session.scalars(
                query.order_by(FollowUpTask.due_date, FollowUpTask.id).offset(offset).limit(limit)
            )
            return FollowUpPage(
                items=[views.followup_out(t) for t in rows], total=total, limit=limit, offset=offset
            )

    def complete_followup(self, followup_id: str, note: str, user: User) -> FollowUpOut:
        with self._unit() as session:
            self._require_casework(user)
            task = session.get(FollowUpTask, followup_id)
            if task is None:
                raise NotFound(f"回访任务 {followup_id} 不存在")
            self._require_scope(user, task.county, "回访任务")
            if task.status != "open":
                raise Conflict(f"回访任务 {followup_id} 已{'完成' if task.status == 'done' else '取消'}")
            task.status = "done"
            task.done_at = utcnow()
            task.done_by = user.name
            task.note = note
            record(
                session,
                actor=user.name,
                action="followup.done",
                entity_type="followup",
                entity_id=task.id,
                county=task.county,
                detail={
                    "case_id": task.case_id,
                    "plan_id": task.plan_id,
                    "due_date": task.due_date.isoformat(),
                },
            )
            session.flush()
            return views.followup_out(task)

    # -- reports and audit -------------------------------------------------------------------------

    def gap_report(
        self, user: User, *, date_from: date | None, date_to: date | None, county: str | None
    ) -> GapReport:
        return gap_report(self.db, user, date_from=date_from, date_to=date_to, county=county)

    def audit_events(self, user: User, **filters: Any) -> list[AuditEvent]:
        return audit_events(self.db, user, **filters)

    # -- helpers -----------------------------------------------------------------------------------

    @staticmethod
    def _match_request(case: Case) -> MatchRequest:
        return MatchRequest(
            text=case.text_redacted,
            county=case.county,
            groups=list(case.groups),
            age=case.age,
            members=[Member.model_validate(m) for m in case.members],
        )

    @staticmethod
    def _grounded(draft: DraftPlan, result: MatchResult) -> DraftPlan:
        """Belt and braces: a stored draft cites only this case's eligible matches."""
        allowed = result.eligible_ids()
        kept = [i for i in draft.items if i.resource_id in allowed]
        if len(kept) == len(draft.items):
            return draft
        dropped = [
            {"resource_id": i.resource_id, "reason": "不在本案的合格匹配结果中"}
            for i in draft.items
            if i.resource_id not in allowed
        ]
        log.warning("draft cited %d resources outside the match result", len(dropped))
        return draft.model_copy(update={"items": kept, "dropped": [*draft.dropped, *dropped]})

    @staticmethod
    def _names(session: Session, case_id: str) -> list[str]:
        """The applicant's name, to mask in free text a caseworker writes about the case."""
        name = session.scalar(select(Case.name).where(Case.id == case_id))
        return [name] if name else []

    @staticmethod
    def _require_editable(plan: Plan) -> None:
        if plan.status not in OPEN_PLAN_STATUSES:
            raise Conflict(
                f"服务方案 {plan.id} {PLAN_STATUS_LABELS.get(plan.status, plan.status)}，不能再修改、确认或驳回",
                extra={"status": plan.status},
            )

    @staticmethod
    def _version_conflict(plan: Plan, asked: int) -> Conflict:
        return Conflict(
            f"服务方案已更新到第 {plan.current_version} 版，您编辑的是第 {asked} 版；请刷新后在最新版本上修改",
            extra={"current_version": plan.current_version},
        )

    @staticmethod
    def _next_version(session: Session, plan: Plan, base: int, status: str) -> int:
        """Claim version ``base + 1`` atomically; a concurrent editor who claimed it first wins."""
        done = session.execute(
            update(Plan)
            .where(Plan.id == plan.id, Plan.current_version == base, Plan.status.in_(OPEN_PLAN_STATUSES))
            .values(current_version=base + 1, status=status, updated_at=utcnow())
            .execution_options(synchronize_session=False)
        )
        if done.rowcount == 0:  # type: ignore[attr-defined]
            raise _stale("该服务方案")
        session.refresh(plan)
        return base + 1

    @staticmethod
    def _content(session: Session, plan: Plan) -> DraftPlan:
        row = session.scalar(
            select(PlanVersion).where(
                PlanVersion.plan_id == plan.id, PlanVersion.version == plan.current_version
            )
        )
        assert row is not None, f"plan {plan.id} lacks version {plan.current_version}"
        return DraftPlan.model_validate(row.content)

    @staticmethod
    def _filled(item: PlanItem) -> PlanItem:
        return item.model_copy(update={"resource_id": item.resource_id.strip()})

    @staticmethod
    def _resources(session: Session, ids: set[str]) -> dict[str, dict[str, Any]]:
        if not ids:
            return {}
        rows = session.scalars(
            select(Resource).where(Resource.id.in_(ids)).execution_options(populate_existing=True)
        )
        return {r.id: resource_dict(r) for r in rows}

    def _check_now(
        self, session: Session, index: int, item: PlanItem, people: list[Person], county: str
    ) -> ItemCheck:
        resource = self._resources(session, {item.resource_id}).get(item.resource_id)
        if resource is not None and not item.resource_name:
            item.resource_name = resource["name"]
        return check_item(index, item, resource, people, county, self.matcher.eligible)

    @staticmethod
    def _capacity_counted(session: Session, resource_id: str) -> bool:
        """Whether the resource keeps a count of places (None = unlimited; nothing to reserve)."""
        available = session.scalar(select(Resource.capacity_available).where(Resource.id == resource_id))
        return available is not None

    @staticmethod
    def _follow_ups(session: Session, plan: Plan, case: Case, content: DraftPlan) -> list[FollowUpTask]:
        today = local_today()
        tasks = []
        for follow_up in content.follow_ups:
            task = FollowUpTask(
                id=new_id("fu"),
                plan_id=plan.id,
                case_id=case.id,
                county=case.county,
                assignee_id=case.caseworker_id,
                assignee=case.caseworker,
                due_date=today + timedelta(days=follow_up.due_in_days),
                method=follow_up.method,
                focus=follow_up.focus,
                success_criteria=follow_up.success_criteria,
                status="open",
            )
            session.add(task)
            tasks.append(task)
        session.flush()
        return tasks

    @staticmethod
    def _events(session: Session, referral_id: str) -> list[ReferralEvent]:
        return list(
            session.scalars(
                select(ReferralEvent)
                .where(ReferralEvent.referral_id == referral_id)
                .order_by(ReferralEvent.id)
            )
        )


# -- reports and audit need no matcher: the routes call these directly -----------------------------------


def audit_events(
    db: Database,
    user: User,
    *,
    entity_type: str | None = None,
    entity_id: str | None = None,
    actor: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 200,
    offset: int = 0,
) -> list[AuditEvent]:
    """The audit log, oldest first; admins only."""
    if not user.is_admin:
        raise Forbidden("审计日志仅限管理员查看")
    with db.session() as session:
        return list_events(
            session,
            entity_type=entity_type,
            entity_id=entity_id,
            actor=actor,
            since=since,
            until=until,
            limit=limit,
            offset=offset,
        )
