"""Gap report (资源缺口) for managers: unmet needs and capacity refusals by area × category over dates."""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta, timezone

from openpyxl import Workbook
from openpyxl.styles import Font, PatternFill
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from assistant.auth.models import Role, User
from assistant.cases.models import Referral
from assistant.cases.referrals import RELEASING
from assistant.db import Database
from assistant.errors import Forbidden, Invalid
from assistant.matching.models import UnmetNeedRecord
from assistant.taxonomy import get_taxonomy
from assistant.taxonomy.model import CITYWIDE

# Dates in the pilot are Huangshi dates (China has one zone and no daylight saving).
LOCAL_TZ = timezone(timedelta(hours=8), "Asia/Shanghai")

REPORT_ROLES = frozenset({Role.resource_manager.value, Role.admin.value})

UNMET_REASON_LABELS: dict[str, str] = {
    "no_resource": "无对应资源",
    "no_resource_in_area": "本辖区无此类资源",
    "no_resource_for_group": "无面向该对象的资源",
    "age_out_of_range": "年龄不符",
    "all_full": "名额已满",
    "all_inactive": "资源暂停或停用",
    "low_relevance": "无足够相关的资源",
}


def local_today() -> date:
    return datetime.now(LOCAL_TZ).date()


def local_day_start(day: date) -> datetime:
    """The UTC instant at which ``day`` begins in Huangshi."""
    return datetime.combine(day, time.min, tzinfo=LOCAL_TZ).astimezone(UTC)


def reason_label(code: str) -> str:
    return UNMET_REASON_LABELS.get(code, code)


class GapRow(BaseModel):
    county: str
    county_label: str
    category: str
    category_label: str
    unmet: int = Field(description="未满足的需求数（同一个案同一需求多次匹配只计一次）")
    unmet_by_reason: dict[str, int] = Field(default_factory=dict)
    capacity_declines: int = Field(description="因名额不足被退回或取消的工单数")
    total: int


class GapReport(BaseModel):
    date_from: date = Field(serialization_alias="from")
    date_to: date = Field(serialization_alias="to")
    county: str | None
    county_label: str
    generated_at: datetime
    rows: list[GapRow]
    totals: dict[str, int]
    reason_labels: dict[str, str]


def build_gap_report(
    session: Session, date_from: date, date_to: date, counties: Sequence[str] | None
) -> GapReport:
    """Count over ``[date_from, date_to]`` (Huangshi dates, inclusive); ``counties`` None means all."""
    taxonomy = get_taxonomy()
    start, end = local_day_start(date_from), local_day_start(date_to + timedelta(days=1))

    unmet_query = select(UnmetNeedRecord).where(UnmetNeedRecord.at >= start, UnmetNeedRecord.at < end)
    declines_query = select(Referral.county, Referral.category).where(
        Referral.status.in_(RELEASING),
        Referral.reason_code == "no_capacity",
        Referral.updated_at >= start,
        Referral.updated_at < end,
    )
    if counties is not None:
        unmet_query = unmet_query.where(UnmetNeedRecord.county.in_(counties))
        declines_query = declines_query.where(Referral.county.in_(counties))

    # Drafting a plan again re-runs matching; one case's same need counts once.
    seen: set[tuple[str, str, str]] = set()
    unmet: Counter[tuple[str, str]] = Counter()
    by_reason: dict[tuple[str, str], Counter[str]] = {}
    for rec in session.scalars(unmet_query.order_by(UnmetNeedRecord.id)):
        if rec.case_id:
            key = (rec.case_id, rec.category, rec.person_relation)
            if key in seen:
                continue
            seen.add(key)
        cell = (rec.county, rec.category)
        unmet[cell] += 1
        by_reason.setdefault(cell, Counter())[rec.reason_code] += 1
    declines: Counter[tuple[str, str]] = Counter(
        (county, category) for county, category in session.execute(declines_query)
    )

    area_order = {code: i for i, code in enumerate(taxonomy.areas)}
    category_order = {code: i for i, code in enumerate(taxonomy.categories)}
    cells = sorted(
        set(unmet) | set(declines),
        key=lambda c: (area_order.get(c[0], 99), category_order.get(c[1], 99), c),
    )
    rows = [
        GapRow(
            county=county,
            county_label=taxonomy.area_label(county),
            category=category,
            category_label=taxonomy.category_label(category),
            unmet=unmet[(county, category)],
            unmet_by_reason=dict(by_reason.get((county, category), Counter())),
            capacity_declines=declines[(county, category)],
            total=unmet[(county, category)] + declines[(county, category)],
        )
        for county, category in cells
    ]
    only = counties[0] if counties is not None and len(counties) == 1 else None
    return GapReport(
        date_from=date_from,
        date_to=date_to,
        county=only,
        county_label=taxonomy.area_label(only) if only else "全市",
        generated_at=datetime.now(UTC),
        rows=rows,
        totals={
            "unmet": sum(r.unmet for r in rows),
            "capacity_declines": sum(r.capacity_declines for r in rows),
            "total": sum(r.total for r in rows),
        },
        reason_labels=dict(UNMET_REASON_LABELS),
    )


def gap_report(
    db: Database, user: User, *, date_from: date | None, date_to: date | None, county: str | None
) -> GapReport:
    """Unmet needs and capacity refusals by area × category; managers see their county, city staff all."""
    taxonomy = get_taxonomy()
    if user.role not in REPORT_ROLES:
        raise Forbidden("资源缺口报表仅限资源管理员和管理员查看")
    date_to = date_to or local_today()
    date_from = date_from or date_to - timedelta(days=29)
    if date_from > date_to:
        raise Invalid(f"起始日期 {date_from} 晚于结束日期 {date_to}")
    if county and county not in taxonomy.areas:
        raise Invalid(f"未知区划代码 {county!r}")
    if county == CITYWIDE:
        if not user.citywide:
            raise Forbidden(f"全市报表仅限市级人员查看，您可查看{taxonomy.area_label(user.county)}的报表")
        county = None
    if county:
        if not user.can_act_in(county):
            raise Forbidden(f"您只能查看{taxonomy.area_label(user.county)}的报表")
        counties: list[str] | None = [county]
    else:
        counties = None if user.citywide else [user.county]
    with db.session() as session:
        return build_gap_report(session, date_from, date_to, counties)


def _reason_codes(report: GapReport) -> list[str]:
    present = {code for row in report.rows for code in row.unmet_by_reason}
    known = [code for code in UNMET_REASON_LABELS if code in present]
    return known + sorted(present - set(known))


def _table(report: GapReport) -> tuple[list[str], list[list[object]]]:
    codes = _reason_codes(report)
    header = [
        "区域代码",
        "区域",
        "类别代码",
        "服务类别",
        "未满足需求数",
        *[f"其中：{reason_label(c)}" for c in codes],
        "名额不足退回/取消工单数",
        "缺口合计",
    ]
    body: list[list[object]] = [
        [
            row.county,
            row.county_label,
            row.category,
            row.category_label,
            row.unmet,
            *[row.unmet_by_reason.get(c, 0) for c in codes],
            row.capacity_declines,
            row.total,
        ]
        for row in report.rows
    ]
    totals = report.totals
    body.append(
        [
            "",
            "合计",
            "",
            "",
            totals["unmet"],
            *[sum(r.unmet_by_reason.get(c, 0) for r in report.rows) for c in codes],
            totals["capacity_declines"],
            totals["total"],
        ]
    )
    return header, body


def _title(report: GapReport) -> str:
    return f"资源缺口报表（{report.county_label}，{report.date_from.isoformat()} 至 {report.date_to.isoformat()}）"


def gap_csv(report: GapReport) -> bytes:
    """CSV with a BOM so Excel opens the Chinese headers correctly."""
    header, body = _table(report)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(body)
    return buffer.getvalue().encode("utf-8-sig")


def gap_xlsx(report: GapReport) -> bytes:
    header, body = _table(report)
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "资源缺口"
    sheet.append([_title(report)])
    sheet["A1"].font = Font(bold=True, size=13)
    sheet.append(header)
    fill = PatternFill("solid", fgColor="DDEBF7")
    for cell in sheet[2]:
        cell.font = Font(bold=True)
        cell.fill = fill
    for row in body:
        sheet.append(row)
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for index, title in enumerate(header, start=1):
        letter = sheet.cell(row=2, column=index).column_letter
        sheet.column_dimensions[letter].width = max(10, min(28, len(title) * 2 + 2))
    sheet.freeze_panes = "A3"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
