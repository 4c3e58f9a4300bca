"""Gap report: unmet needs and capacity refusals by area × category, scoped to the manager's area."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta

import pytest
from openpyxl import load_workbook

from assistant.app.container import Container
from assistant.auth.models import User
from assistant.cases.gaps import LOCAL_TZ, gap_csv, gap_report, gap_xlsx, local_today
from assistant.cases.schemas import ReferralStatusUpdate
from assistant.cases.service import CaseService
from assistant.errors import Forbidden, Invalid
from assistant.matching.models import UnmetNeedRecord
from tests.cases.conftest import MakeUser, elder_case
from tests.cases.fakes import DY, YX


def unmet(
    container: Container,
    county: str,
    category: str,
    at: datetime,
    case_id: str | None = None,
    reason_code: str = "no_resource_in_area",
) -> None:
    with container.db.session() as session:
        session.add(
            UnmetNeedRecord(
                at=at, county=county, category=category, reason_code=reason_code, reason="", case_id=case_id
            )
        )


@pytest.fixture
def history(container: Container, cases: CaseService, worker: User) -> None:
    now = datetime.now(LOCAL_TZ)
    unmet(container, YX, "respite_care", now, case_id="case-a")
    unmet(container, YX, "respite_care", now, case_id="case-a")  # the same case drafted again
    unmet(container, YX, "respite_care", now, case_id="case-b", reason_code="all_full")
    unmet(container, YX, "legal_aid", now)
    unmet(container, YX, "legal_aid", now)  # ad-hoc matches without a case count each
    unmet(container, DY, "home_care", now)
    unmet(container, YX, "home_care", now - timedelta(days=90))  # outside the default range
    case = cases.create_case(elder_case(), worker)
    referral = cases.confirm_plan(cases.draft_plan(case.id, worker).id, worker).referrals[0]
    cases.update_referral(
        referral.id, ReferralStatusUpdate(status="declined", reason_code="no_capacity"), worker
    )


def cells(report: object) -> dict[tuple[str, str], tuple[int, int]]:
    return {(r.county, r.category): (r.unmet, r.capacity_declines) for r in report.rows}  # type: ignore[attr-defined]


def test_county_manager_sees_own_county_gaps_counted_once_per_case(
    container: Container, history: None, make_user: MakeUser
) -> None:
    report = gap_report(
        container.db, make_user("resource_manager", YX), date_from=None, date_to=None, county=None
    )
    assert cells(report) == {
        (YX, "meal_assistance"): (0, 1),
        (YX, "respite_care"): (2, 0),
        (YX, "legal_aid"): (2, 0),
    }
    respite = next(r for r in report.rows if r.category == "respite_care")
    assert respite.category_label == "喘息服务" and respite.county_label.startswith("阳新")
    assert respite.unmet_by_reason == {"no_resource_in_area": 1, "all_full": 1}
    assert report.totals == {"unmet": 4, "capacity_declines": 1, "total": 5}
    assert report.model_dump(by_alias=True)["from"] == local_today() - timedelta(days=29)


def test_citywide_staff_see_every_county_and_ranges_are_honoured(
    container: Container, history: None, make_user: MakeUser
) -> None:
    admin = make_user("admin", YX)
    everything = gap_report(container.db, admin, date_from=None, date_to=None, county=None)
    assert (DY, "home_care") in cells(everything) and (YX, "home_care") not in cells(everything)
    long_ago = gap_report(
        container.db, admin, date_from=local_today() - timedelta(days=120), date_to=None, county=YX
    )
    assert cells(long_ago)[(YX, "home_care")] == (1, 0)
    assert (
        gap_report(
            container.db, make_user("resource_manager", "420200"), date_from=None, date_to=None, county=DY
        )
        .rows[0]
        .county
        == DY
    )
    empty = gap_report(
        container.db, admin, date_from=date(2020, 1, 1), date_to=date(2020, 1, 31), county=None
    )
    assert empty.rows == [] and empty.totals["total"] == 0


def test_gap_report_refuses_caseworkers_other_counties_and_bad_ranges(
    container: Container, make_user: MakeUser
) -> None:
    manager = make_user("resource_manager", YX)
    with pytest.raises(Forbidden):
        gap_report(container.db, make_user("caseworker", YX), date_from=None, date_to=None, county=None)
    with pytest.raises(Forbidden):
        gap_report(container.db, manager, date_from=None, date_to=None, county=DY)
    with pytest.raises(Forbidden):
        gap_report(container.db, manager, date_from=None, date_to=None, county="420200")
    with pytest.raises(Invalid):
        gap_report(container.db, manager, date_from=date(2026, 2, 1), date_to=date(2026, 1, 1), county=None)
    with pytest.raises(Invalid):
        gap_report(container.db, manager, date_from=None, date_to=None, county="999999")


def test_gap_report_downloads_as_csv_and_xlsx_with_chinese_labels(
    container: Container, history: None, make_user: MakeUser
) -> None:
    report = gap_report(
        container.db, make_user("resource_manager", YX), date_from=None, date_to=None, county=None
    )
    raw = gap_csv(report)
    assert raw.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert rows[0][:5] == ["区域代码", "区域", "类别代码", "服务类别", "未满足需求数"]
    assert "其中：名额已满" in rows[0] and rows[0][-1] == "缺口合计"
    respite = next(r for r in rows if r[2] == "respite_care")
    assert respite[:5] == ["420222", "阳新县", "respite_care", "喘息服务", "2"]
    assert rows[-1][1] == "合计" and rows[-1][-1] == "5"

    sheet = load_workbook(io.BytesIO(gap_xlsx(report))).active
    assert sheet is not None
    assert str(sheet["A1"].value).startswith("资源缺口报表")
    assert [c.value for c in sheet[2]][:4] == ["区域代码", "区域", "类别代码", "服务类别"]
    assert sheet.cell(row=sheet.max_row, column=2).value == "合计"
    assert sheet.cell(row=sheet.max_row, column=sheet.max_column).value == 5
