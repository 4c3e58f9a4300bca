"""Catalog files: every bad row and field reported; all-or-nothing imports; lossless round trips."""

from __future__ import annotations

import json

import pytest
import yaml

from assistant.app.container import Container
from assistant.catalog.io import export_bytes, parse_bytes, validate_rows
from tests.utils.factories import resource_payload


def _rows(items: list[dict]) -> list:
    return parse_bytes(json.dumps(items, ensure_ascii=False).encode(), "json")


def test_every_bad_field_of_every_row_is_reported() -> None:
    items = [
        resource_payload("ok-001"),
        resource_payload("bad-002", categories=["flying"], minimum_age=70, maximum_age=60),
        resource_payload("bad-003", name="", status="open", phone="12-34"),
        resource_payload("ok-001"),
    ]
    valid, errors = validate_rows(_rows(items))
    found = {(e.row, e.field) for e in errors}
    assert (2, "categories") in found
    assert any(e.row == 2 and e.field == "maximum_age" and "最小年龄 70" in e.message for e in errors)
    assert {(3, "name"), (3, "status"), (3, "phone")} <= found
    assert (1, "id") in found and (4, "id") in found  # duplicate id named on both rows
    assert valid == []  # every row has an error: the duplicate id makes rows 1 and 4 bad too


def test_excel_rows_accept_chinese_headers_and_labels() -> None:
    csv_text = (
        "编号,名称,服务类别,服务区域,救助对象,状态,可用名额,总名额,联系电话\n"
        "x-1,助浴点,助浴；助洁,阳新县,老年人；低保对象,在服务,3,10,13800001111\n"
    )
    valid, errors = validate_rows(parse_bytes(csv_text.encode("utf-8"), "csv"))
    assert errors == []
    assert valid[0].categories == ["bathing_assistance", "cleaning_assistance"]
    assert valid[0].service_areas == ["420222"]
    assert valid[0].target_groups == ["elderly", "dibao"]
    assert valid[0].capacity.available == 3


def test_csv_row_numbers_match_the_spreadsheet() -> None:
    csv_text = "编号,名称,服务类别,服务区域\nx-1,甲,助餐,阳新县\nx-2,乙,跳舞,阳新县\n"
    _, errors = validate_rows(parse_bytes(csv_text.encode(), "csv"))
    assert [(e.row, e.field) for e in errors] == [(3, "categories")]
    assert "跳舞" in errors[0].message


def test_import_with_one_bad_row_writes_nothing(container: Container) -> None:
    items = [resource_payload(f"good-{i:03d}") for i in range(5)] + [
        resource_payload("bad", capacity={"available": 9, "maximum": 3})
    ]
    valid, errors = validate_rows(_rows(items))
    assert errors and errors[0].row == 6
    before = container.catalog.count()
    report = container.catalog.import_resources(valid, None, parse_errors=errors)
    assert not report.ok
    assert container.catalog.count() == before


def test_round_trip_yaml_db_xlsx_db_json_loses_nothing(tmp_path, settings) -> None:
    from assistant.config import Settings

    items = [
        resource_payload("rt-001"),
        resource_payload(
            "rt-002",
            county="420281",
            categories=["rehabilitation", "psychological_support"],
            target_groups=["mental_disorder", "disabled"],
            minimum_age=None,
            maximum_age=59,
            status="temporarily closed",
            capacity={"available": 0, "maximum": 12},
            phone="13900001111；0714-8765432",
            description="多行描述\n第二行，含“引号”、逗号,和分号；",
        ),
        resource_payload(
            "rt-003",
            county="420200",
            target_groups=[],
            capacity={"available": None, "maximum": None},
            assured_date=None,
            brand="童心领航",
        ),
    ]
    yaml_bytes = yaml.safe_dump({"resources": items}, allow_unicode=True).encode()

    first = Container(Settings(data_dir=tmp_path / "one"))
    valid, errors = validate_rows(parse_bytes(yaml_bytes, "yaml"))
    assert not errors
    assert first.catalog.import_resources(valid).ok
    xlsx = export_bytes(first.catalog.all(), "xlsx")

    second = Container(Settings(data_dir=tmp_path / "two"))
    valid2, errors2 = validate_rows(parse_bytes(xlsx, "xlsx"))
    assert not errors2
    assert second.catalog.import_resources(valid2).ok
    exported = json.loads(export_bytes(second.catalog.all(), "json"))

    strip = {"last_modified", "version"}
    assert [{k: v for k, v in r.items() if k not in strip} for r in exported] == sorted(
        items, key=lambda r: r["id"]
    )
    first.close()
    second.close()


@pytest.mark.parametrize("content,fmt", [(b"{not json", "json"), (b"a: [1,", "yaml"), (b"", "csv")])
def test_unreadable_file_is_a_clear_error(content: bytes, fmt: str) -> None:
    from assistant.catalog.io import CatalogFileError

    with pytest.raises(CatalogFileError):
        parse_bytes(content, fmt)
