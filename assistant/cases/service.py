"""Case use cases: assessment → draft plan → edits → confirmation → referrals → follow-ups → closure.

Nothing reaches a provider until a caseworker confirms. Every change is written to the audit log in
the same transaction as the change itself. The original assessment stays in the store: matching,
planning, responses and the audit log see only the redacted copy.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any, Protocol, TypeVar

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session
from sqlalchemy.orm.exc import StaleDataError

from assistant.auth.models import User
from assistant.cases import plans, views
from assistant.cases import referrals as referral_rules
from assistant.cases.access import listing_counties, load, require_casework, require_scope
from assistant.cases.audit_trail import log_change
from assistant.cases.errors import stale, unknown
from assistant.cases.gaps import local_today
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
from assistant.errors import Conflict, Invalid, NotFound
from assistant.matching.types import MatchRequest, MatchResult, Member, Person
from assistant.planning.schemas import DraftPlan, PlanItem
from assistant.privacy import redact

log = logging.getLogger(__name__)

Row = TypeVar("Row")


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


def advance_case(case: Case, status: str) -> None:
    """Move the case forward to ``status`` (open → drafted → planned → in_service); never back."""
    order = list(CASE_STATUS_LABELS)
    if order.index(case.status) < order.index(status):
        case.status = status
        case.updated_at = utcnow()


def _page(
    session: Session,
    query: Select[Row],
    order: Sequence[ColumnElement[Any] | InstrumentedAttribute[Any]],
    limit: int,
    offset: int,
) -> tuple[int, list[Row]]:
    """The number of rows ``query`` finds and those from ``offset`` on, in ``order``."""
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    return total, list(session.scalars(query.order_by(*order).offset(offset).limit(limit)))


class CaseService:
    """Use cases over cases, plans, referrals and follow-ups."""

    def __init__(self, db: Database, catalog: CatalogService, matcher: Matcher, planner: Planner) -> None:
        self.db = db
        self.catalog = catalog
        self.matcher = matcher
        self.planner = planner

    @contextmanager
    def _unit(self) -> Iterator[Session]:
        """A transaction whose optimistic-lock failures become a 409 the caseworker can act on."""
        try:
            with self.db.session() as session:
                yield session
        except StaleDataError as exc:
            raise stale("该记录") from exc

    # -- cases -------------------------------------------------------------------------------------

    def create_case(self, data: CaseCreate, user: User) -> CaseOut:
        """Store an assessment: the original in ``text``, a redacted copy for everything else."""
        require_casework(user)
        require_scope(user, data.county)
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
            log_change(
                session,
                user.name,
                "case.create",
                case,
                {"groups": case.groups, "age": case.age, "members": len(case.members)},
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
        require_casework(user)
        if status and status not in CASE_STATUS_LABELS:
            raise unknown("个案状态", status, CASE_STATUS_LABELS)
        counties = listing_counties(user, county)
        with self._unit() as session:
            query = select(Case)
            if counties is not None:
                query = query.where(Case.county.in_(counties))
            if status:
                query = query.where(Case.status == status)
            total, rows = _page(session, query, (Case.created_at.desc(), Case.id), limit, offset)
            items = [views.case_out(session, case, detail=False) for case in rows]
            return CasePage(items=items, total=total, limit=limit, offset=offset)

    def get_case(self, case_id: str, user: User) -> CaseOut:
        with self._unit() as session:
            return views.case_out(session, load(session, Case, case_id, user), detail=True)

    def close_case(self, case_id: str, data: CaseClose, user: User) -> CaseOut:
        """Close a case; open referrals must be cancelled explicitly (their places go back)."""
        released: list[str] = []
        with self._unit() as session:
            case = load(session, Case, case_id, user)
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
                raise unknown("结案原因", reason, CLOSE_REASONS)
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
            plans.retire_open(session, case.id, "withdrawn")
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
            log_change(
                session,
                user.name,
                "case.close",
                case,
                {"reason": reason, "cancelled_referrals": [r.id for r in active]},
            )
            session.flush()
            out = views.case_out(session, case, detail=True)
        self.catalog.publish_capacity(released)
        return out

    # -- plans -------------------------------------------------------------------------------------

    def draft_plan(self, case_id: str, user: User, *, config: str = "hybrid") -> PlanOut:
        """Match the case, draft a plan (version 1), store both. Earlier unconfirmed plans are superseded."""
        with self._unit() as session:
            case = self._open_case(session, case_id, user)
            request = self._match_request(case)
            names = [case.name] if case.name else []
        # Matching and drafting may be slow (embeddings, an LLM): no transaction is held meanwhile.
        result = self.matcher.match(request, config=config, case_id=case_id)
        draft = self.planner.draft(request, result, names=names)
        draft = self._grounded(draft, result)
        with self._unit() as session:
            case = self._open_case(session, case_id, user)
            superseded = plans.retire_open(session, case.id, "superseded")
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
            plans.add_version(session, plan, 1, "draft", user.name, draft)
            case.updated_at = utcnow()
            advance_case(case, "drafted")
            log_change(
                session,
                user.name,
                "plan.draft",
                plan,
                {
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
            return views.plan_out(session, load(session, Plan, plan_id, user), with_referrals=True)

    def plan_versions(self, plan_id: str, user: User) -> list[PlanVersionOut]:
        with self._unit() as session:
            plan = load(session, Plan, plan_id, user)
            rows = session.scalars(
                select(PlanVersion).where(PlanVersion.plan_id == plan.id).order_by(PlanVersion.version)
            )
            return [views.version_out(row) for row in rows]

    def edit_plan(self, plan_id: str, data: PlanEdit, user: User) -> PlanOut:
        """Store the caseworker's edited plan as a new version; new or changed items must be eligible now."""
        with self._unit() as session:
            plan = self._open_plan(session, plan_id, user, data.base_version)
            base = plans.current_content(session, plan)
            case = self._case_of(session, plan)
            old_keys = {self._key(i) for i in base.items}
            new_items = [self._filled(item) for item in data.items]
            # Unchanged items are re-checked at confirmation.
            problems = [
                check.problem
                for _, _, check in self._checks(session, new_items, case, plan, unchanged=old_keys)
                if check.problem
            ]
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
            version = plans.next_version(session, plan, data.base_version, "edited")
            plans.add_version(session, plan, version, "edit", user.name, content, data.notes)
            new_keys = {self._key(i) for i in new_items}
            log_change(
                session,
                user.name,
                "plan.edit",
                plan,
                {
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
            plan = self._open_plan(session, plan_id, user, base_version)
            base = plans.current_content(session, plan)
            request = MatchRequest.model_validate(plan.request)
            result = MatchResult.model_validate(plan.match_result)
            instruction = redact(instruction, self._names(session, plan.case_id))
        revised = self._grounded(self.planner.revise(base, instruction, request, result), result)
        with self._unit() as session:
            # A version that moved on meanwhile is caught by the claim of the next one.
            plan = self._open_plan(session, plan_id, user)
            version = plans.next_version(session, plan, base_version, "edited")
            plans.add_version(session, plan, version, "revise", user.name, revised, instruction)
            log_change(
                session,
                user.name,
                "plan.revise",
                plan,
                {
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
            plan = self._open_plan(session, plan_id, user, version)
            plans.claim(
                session,
                plan,
                version=plan.current_version,
                status="confirmed",
                decided_at=utcnow(),
                decided_by=user.name,
            )
            case = session.get(Case, plan.case_id, populate_existing=True)
            assert case is not None
            if case.status == "closed":
                raise Conflict(f"个案 {case.id} 已结案，不能确认方案")
            content = plans.current_content(session, plan)
            if not content.items:
                raise Invalid("方案中没有服务条目，无法确认；请先添加条目，或驳回该方案")

            accepted: list[tuple[PlanItem, Person, bool]] = []
            problems: list[ItemProblem] = []
            # A later plan for the same case must not book the same service for the same person twice.
            running = {
                (r.resource_id, r.person_relation)
                for r in session.scalars(
                    select(Referral).where(
                        Referral.case_id == case.id, Referral.status.in_(referral_rules.ACTIVE)
                    )
                )
            }
            for index, item, check in self._checks(session, content.items, case, plan):
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
                accepted.append((item, check.person, counted))

            if problems and (not skip_invalid or not accepted):
                what = "所有条目均已失效" if not accepted else f"{len(problems)} 个条目已不满足条件"
                raise Conflict(
                    f"方案未确认：{what}（资源目录在起草后有变化）。"
                    + "；".join(p.message for p in problems)
                    + ("。可修改方案后重新确认，或选择跳过失效条目（skip_invalid）" if accepted else ""),
                    extra={"invalid": [p.model_dump() for p in problems]},
                )

            if problems:
                kept = content.model_copy(update={"items": [item for item, _, _ in accepted]})
                notes = "确认时跳过失效条目：" + "；".join(p.message for p in problems)
                plans.add_version(session, plan, plan.current_version + 1, "confirm", user.name, kept, notes)
                plan.current_version += 1

            referrals = []
            # Positions in the confirmed version (the same as the draft's unless items were skipped).
            for position, (item, person, counted) in enumerate(accepted):
                referral = referral_rules.open_referral(
                    session, plan, position, item, person, counted=counted, actor=user.name
                )
                referrals.append(referral)
                if counted:
                    reserved.append(item.resource_id)
            tasks = self._follow_ups(session, plan, case, content)
            case.updated_at = utcnow()
            advance_case(case, "planned")
            log_change(
                session,
                user.name,
                "plan.confirm",
                plan,
                {
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
        """Reject an open plan; a case left with no open plan waits for a new one again."""
        with self._unit() as session:
            plan = self._open_plan(session, plan_id, user)
            if not reason.strip():
                raise Invalid("请填写驳回原因")
            plans.claim(
                session,
                plan,
                status="rejected",
                decided_at=utcnow(),
                decided_by=user.name,
                reject_reason=reason.strip(),
            )
            case = self._case_of(session, plan)
            if case.status == "drafted" and not plans.open_ids(session, case.id):
                case.status = "open"
                case.updated_at = utcnow()
            log_change(
                session,
                user.name,
                "plan.reject",
                plan,
                {
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
        require_casework(user)
        if status and status not in referral_rules.STATUS_LABELS:
            raise unknown("工单状态", status, referral_rules.STATUS_LABELS)
        counties = listing_counties(user, county)
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
            total, rows = _page(session, query, (Referral.created_at.desc(), Referral.id), limit, offset)
            return ReferralPage(
                items=[views.referral_out(r) for r in rows], total=total, limit=limit, offset=offset
            )

    def get_referral(self, referral_id: str, user: User) -> ReferralOut:
        with self._unit() as session:
            referral = load(session, Referral, referral_id, user)
            return views.referral_out(referral, self._events(session, referral.id))

    def update_referral(self, referral_id: str, data: ReferralStatusUpdate, user: User) -> ReferralOut:
        """Move a referral along its life cycle; declined / cancelled give the place back."""
        released = False
        with self._unit() as session:
            referral = load(session, Referral, referral_id, user)
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
                if case is not None:
                    advance_case(case, "in_service")
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
        require_casework(user)
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
            total, rows = _page(session, query, (FollowUpTask.due_date, FollowUpTask.id), limit, offset)
            return FollowUpPage(
                items=[views.followup_out(t) for t in rows], total=total, limit=limit, offset=offset
            )

    def complete_followup(self, followup_id: str, note: str, user: User) -> FollowUpOut:
        with self._unit() as session:
            task = load(session, FollowUpTask, followup_id, user)
            if task.status != "open":
                raise Conflict(f"回访任务 {followup_id} 已{'完成' if task.status == 'done' else '取消'}")
            task.status = "done"
            task.done_at = utcnow()
            task.done_by = user.name
            task.note = note
            log_change(
                session,
                user.name,
                "followup.done",
                task,
                {"case_id": task.case_id, "plan_id": task.plan_id, "due_date": task.due_date.isoformat()},
            )
            session.flush()
            return views.followup_out(task)

    # -- helpers -----------------------------------------------------------------------------------

    @staticmethod
    def _open_case(session: Session, case_id: str, user: User) -> Case:
        case = load(session, Case, case_id, user)
        if case.status == "closed":
            raise Conflict(f"个案 {case_id} 已结案，不能再制定方案")
        return case

    @staticmethod
    def _open_plan(session: Session, plan_id: str, user: User, version: int | None = None) -> Plan:
        """A plan that may still be edited, confirmed or rejected (and, if asked, is still at ``version``)."""
        plan = load(session, Plan, plan_id, user)
        plans.require_open(plan, version)
        return plan

    @staticmethod
    def _case_of(session: Session, plan: Plan) -> Case:
        case = session.get(Case, plan.case_id)
        assert case is not None
        return case

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
    def _key(item: PlanItem) -> tuple[str, str]:
        """What makes two plan items the same: the resource and the need it serves."""
        return item.resource_id, item.need.strip()

    @staticmethod
    def _filled(item: PlanItem) -> PlanItem:
        return item.model_copy(update={"resource_id": item.resource_id.strip()})

    def _checks(
        self,
        session: Session,
        items: list[PlanItem],
        case: Case,
        plan: Plan,
        *,
        unchanged: set[tuple[str, str]] | None = None,
    ) -> Iterator[tuple[int, PlanItem, ItemCheck]]:
        """Each item checked against the catalog as it is now; a repeated item is a duplicate.

        Lazy, so the check of an item sees the places reserved for the items before it. Items whose key
        is in ``unchanged`` are not checked, only given the resource's name when they lack one.
        """
        result = MatchResult.model_validate(plan.match_result)
        people = household(case.age, case.groups, case.members)
        seen: set[tuple[str, str]] = set()
        for index, item in enumerate(items):
            key = self._key(item)
            if key in seen:
                yield index, item, ItemCheck(None, duplicate_problem(index, item, item.resource_name))
                continue
            seen.add(key)
            resource = self._resource(session, item.resource_id)
            if resource is not None and not item.resource_name:
                item.resource_name = resource["name"]
            if unchanged is not None and key in unchanged:
                continue
            served = persons_for(item, result, people)
            yield index, item, check_item(index, item, resource, served, case.county, self.matcher.eligible)

    @staticmethod
    def _resource(session: Session, resource_id: str) -> dict[str, Any] | None:
        row = session.scalar(
            select(Resource).where(Resource.id == resource_id).execution_options(populate_existing=True)
        )
        return resource_dict(row) if row is not None else None

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
