"""Reading and writing catalog files: YAML, JSON, CSV, XLSX (Chinese headers for Excel users).

Parsing turns a file into numbered rows; validation turns rows into ``ResourceData`` or row-level
errors. Nothing here touches the store, so ``catalog validate`` and imports share one code path.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml
from openpyxl import Workbook, load_workbook
from openpyxl.styles import Font, PatternFill
from pydantic import ValidationError

from assistant.catalog.schemas import STATUS_LABELS, ResourceData, RowError
from assistant.taxonomy import get_taxonomy

FORMATS = ("json", "yaml", "csv", "xlsx")

# Flat column order for CSV/XLSX; the Chinese header is what Excel users see.
COLUMNS: list[tuple[str, str]] = [
    ("id", "编号"),
    ("name", "名称"),
    ("description", "服务内容"),
    ("organization", "服务机构"),
    ("brand", "品牌"),
    ("categories", "服务类别"),
    ("service_areas", "服务区域"),
    ("target_groups", "救助对象"),
    ("minimum_age", "最小年龄"),
    ("maximum_age", "最大年龄"),
    ("eligibility_description", "申请条件"),
    ("status", "状态"),
    ("capacity_available", "可用名额"),
    ("capacity_maximum", "总名额"),
    ("cost_description", "收费说明"),
    ("schedule_description", "服务时间"),
    ("address", "地址"),
    ("phone", "联系电话"),
    ("assured_date", "核实日期"),
]
EXPORT_ONLY = [("last_modified", "最后修改"), ("version", "版本")]
HEADER_TO_FIELD = {h: f for f, h in COLUMNS + EXPORT_ONLY} | {f: f for f, _ in COLUMNS + EXPORT_ONLY}
FIELD_LABELS = dict(COLUMNS + EXPORT_ONLY) | {"capacity": "名额", "_row": "整行"}
LIST_FIELDS = {"categories": "category", "service_areas": "area", "target_groups": "group"}
LIST_SPLIT_RE = re.compile(r"[;；,，\n]+")


class CatalogFileError(ValueError):
    """The file as a whole cannot be read (unknown format, broken YAML/JSON, no header …)."""


@dataclass
class ParsedRow:
    row: int
    data: dict[str, Any]


def detect_format(path: Path | str, explicit: str | None = None) -> str:
    fmt = (explicit or Path(path).suffix.lstrip(".")).lower()
    fmt = {"yml": "yaml", "xlsm": "xlsx"}.get(fmt, fmt)
    if fmt not in FORMATS:
        raise CatalogFileError(f"不支持的文件格式 {fmt!r}：请使用 {' / '.join(FORMATS)}")
    return fmt


def parse_bytes(content: bytes, fmt: str) -> list[ParsedRow]:
    """File content → numbered rows (row numbers as a person sees them in that file)."""
    if fmt in ("json", "yaml"):
        try:
            text = content.decode("utf-8-sig")
            loaded = json.loads(text) if fmt == "json" else yaml.safe_load(text)
        except (UnicodeDecodeError, json.JSONDecodeError, yaml.YAMLError) as exc:
            raise CatalogFileError(f"无法解析 {fmt.upper()} 文件：{exc}") from exc
        items = loaded.get("resources") if isinstance(loaded, dict) else loaded
        if not isinstance(items, list):
            raise CatalogFileError("文件应为资源列表，或含 resources 列表的对象")
        return [
            ParsedRow(i, item if isinstance(item, dict) else {"_row": item})
            for i, item in enumerate(items, 1)
        ]
    if fmt == "csv":
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = content.decode("gb18030")  # Excel on Chinese Windows saves CSV as GBK
        reader = csv.reader(io.StringIO(text))
        return _flat_rows(list(reader))
    workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    sheet = workbook["资源目录"] if "资源目录" in workbook.sheetnames else workbook.worksheets[0]
    return _flat_rows([list(r) for r in sheet.iter_rows(values_only=True)])


def _flat_rows(table: list[list[Any]]) -> list[ParsedRow]:
    if not table:
        raise CatalogFileError("文件为空：缺少表头行")
    header = [str(h).strip() if h is not None else "" for h in table[0]]
    unknown = [h for h in header if h and h not in HEADER_TO_FIELD]
    if unknown:
        raise CatalogFileError(f"表头中有无法识别的列：{'、'.join(unknown)}")
    fields = [HEADER_TO_FIELD.get(h) for h in header]
    if "id" not in fields or "name" not in fields:
        raise CatalogFileError("表头缺少“编号”或“名称”列")
    rows: list[ParsedRow] = []
    for number, values in enumerate(table[1:], start=2):
        if all(v is None or str(v).strip() == "" for v in values):
            continue
        flat = {
            f: v for f, v in zip(fields, values, strict=False) if f and f not in ("last_modified", "version")
        }
        rows.append(ParsedRow(number, _unflatten(flat)))
    return rows


def _cell(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def _unflatten(flat: dict[str, Any]) -> dict[str, Any]:
    data: dict[str, Any] = {}
    capacity: dict[str, Any] = {}
    for field, raw in flat.items():
        value = _cell(raw)
        if field in LIST_FIELDS:
            data[field] = [p.strip() for p in LIST_SPLIT_RE.split(str(value)) if p.strip()] if value else []
        elif field == "capacity_available":
            capacity["available"] = value
        elif field == "capacity_maximum":
            capacity["maximum"] = value
        elif value is None:
            if field in ("minimum_age", "maximum_age", "assured_date"):
                data[field] = None
            elif field != "status":
                data[field] = ""
        else:
            data[field] = str(value) if field in ("id", "phone") else value
    data["capacity"] = capacity
    return data


_MESSAGES = {
    "missing": "必填字段缺失",
    "string_too_short": "不能为空",
    "list_too_short": "至少填写一项",
    "int_parsing": "应为整数",
    "int_type": "应为整数",
    "int_from_float": "应为整数",
    "date_parsing": "日期格式应为 YYYY-MM-DD",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD",
    "date_type": "日期格式应为 YYYY-MM-DD",
    "extra_forbidden": "未知字段",
    "string_pattern_mismatch": "编号只能包含字母、数字和 - _ .，且以字母或数字开头",
    "string_type": "应为文本",
    "list_type": "应为列表",
    "model_type": "应为对象",
}


def _message(error: dict[str, Any]) -> str:
    kind = error["type"]
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind in ("greater_than_equal", "less_than_equal"):
        bound = error.get("ctx", {}).get("ge", error.get("ctx", {}).get("le"))
        return f"不能{'小' if kind == 'greater_than_equal' else '大'}于 {bound}"
    if kind == "literal_error":
        return f"取值无效，可选：{' / '.join(STATUS_LABELS)}"
    if kind == "string_too_long":
        return f"过长（最多 {error.get('ctx', {}).get('max_length')} 字）"
    return _MESSAGES.get(kind, str(error["msg"]))


def _field_name(loc: tuple[Any, ...]) -> str:
    if not loc:
        return "_row"
    if loc[0] == "capacity" and len(loc) > 1 and loc[1] in ("available", "maximum"):
        return f"capacity_{loc[1]}"
    return str(loc[0])


def validate_rows(rows: Iterable[ParsedRow]) -> tuple[list[ResourceData], list[RowError]]:
    """Validate every row; report every bad field of every row, and duplicate ids across rows."""
    valid: list[ResourceData] = []
    errors: list[RowError] = []
    rows = list(rows)
    ids = Counter(str(r.data.get("id") or "").strip() for r in rows)
    for parsed in rows:
        rid = str(parsed.data.get("id") or "").strip() or None
        if "_row" in parsed.data:
            errors.append(RowError(row=parsed.row, field="_row", message="这一项不是资源对象"))
            continue
        row_errors: list[RowError] = []
        if rid and ids[rid] > 1:
            others = [
                str(r.row) for r in rows if str(r.data.get("id") or "").strip() == rid and r is not parsed
            ]
            row_errors.append(
                RowError(
                    row=parsed.row,
                    field="id",
                    resource_id=rid,
                    message=f"编号 {rid} 重复（另见第 {'、'.join(others)} 行）",
                )
            )
        try:
            resource = ResourceData.model_validate(parsed.data)
        except ValidationError as exc:
            for err in exc.errors():
                loc = tuple(err["loc"])
                row_errors.append(
                    RowError(
                        row=parsed.row, field=_field_name(loc), message=_message(dict(err)), resource_id=rid
                    )
                )
        else:
            if not row_errors:
                valid.append(resource)
        errors.extend(row_errors)
    return valid, errors


def format_errors(errors: list[RowError]) -> str:
    lines = []
    for e in errors:
        label = FIELD_LABELS.get(e.field, e.field)
        rid = f"（{e.resource_id}）" if e.resource_id else ""
        lines.append(f"第 {e.row} 行{rid} 字段 {label}[{e.field}]：{e.message}")
    return "\n".join(lines)


def resource_dict(resource: Any) -> dict[str, Any]:
    """A stored resource (ORM row) → the contract's JSON shape."""
    return {
        "id": resource.id,
        "name": resource.name,
        "description": resource.description,
        "organization": resource.organization,
        "brand": resource.brand,
        "categories": list(resource.categories),
        "service_areas": list(resource.service_areas),
        "target_groups": list(resource.target_groups),
        "minimum_age": resource.minimum_age,
        "maximum_age": resource.maximum_age,
        "eligibility_description": resource.eligibility_description,
        "status": resource.status,
        "capacity": {"available": resource.capacity_available, "maximum": resource.capacity_maximum},
        "cost_description": resource.cost_description,
        "schedule_description": resource.schedule_description,
        "address": resource.address,
        "phone": resource.phone,
        "assured_date": resource.assured_date.isoformat() if resource.assured_date else None,
        "last_modified": resource.last_modified.isoformat() if resource.last_modified else None,
        "version": resource.version,
    }


def _flat_export_row(item: dict[str, Any]) -> list[Any]:
    taxonomy = get_taxonomy()
    out: list[Any] = []
    for field, _ in COLUMNS + EXPORT_ONLY:
        if field == "categories":
            out.append("；".join(taxonomy.category_label(c) for c in item[field]))
        elif field == "target_groups":
            out.append("；".join(taxonomy.group_label(c) for c in item[field]))
        elif field == "service_areas":
            out.append("；".join(taxonomy.area_label(c) for c in item[field]))
        elif field == "status":
            out.append(STATUS_LABELS.get(item["status"], item["status"]))
        elif field == "capacity_available":
            out.append(item["capacity"]["available"])
        elif field == "capacity_maximum":
            out.append(item["capacity"]["maximum"])
        else:
            out.append(item.get(field))
    return out


def export_bytes(items: list[dict[str, Any]], fmt: str) -> bytes:
    """Contract-shaped resource dicts → file content in ``fmt``."""
    if fmt == "json":
        return json.dumps(items, ensure_ascii=False, indent=2).encode()
    if fmt == "yaml":
        return yaml.safe_dump({"resources": items}, allow_unicode=True, sort_keys=False).encode()
    header = [h for _, h in COLUMNS + EXPORT_ONLY]
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(header)
        for item in items:
            writer.writerow(["" if v is None else v for v in _flat_export_row(item)])
        return ("\ufeff" + buffer.getvalue()).encode()  # BOM so Excel opens UTF-8 correctly
    return _xlsx(items, header)


def _xlsx(items: list[dict[str, Any]], header: list[str]) -> bytes:
    taxonomy = get_taxonomy()
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "资源目录"
    sheet.append(header)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
    for item in items:
        sheet.append(_flat_export_row(item))
    sheet.freeze_panes = "C2"
    widths = {
        "编号": 16,
        "名称": 28,
        "服务内容": 48,
        "申请条件": 36,
        "服务时间": 30,
        "地址": 30,
        "联系电话": 16,
    }
    for index, title in enumerate(header, start=1):
        sheet.column_dimensions[sheet.cell(1, index).column_letter].width = widths.get(title, 14)
    codes = workbook.create_sheet("代码表")
    codes.append(["类型", "代码", "名称"])
    for c in taxonomy.categories.values():
        codes.append(["服务类别", c.code, c.label])
    for g in taxonomy.groups.values():
        codes.append(["救助对象", g.code, g.label])
    for a in taxonomy.areas.values():
        codes.append(["服务区域", a.code, a.label])
    for code, label in STATUS_LABELS.items():
        codes.append(["状态", code, label])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def read_seed_dir(folder: Path) -> list[ParsedRow]:
    """All seed files of a folder, in file order (rows numbered across files)."""
    rows: list[ParsedRow] = []
    for path in sorted(folder.glob("*.y*ml")):
        rows.extend(parse_bytes(path.read_bytes(), "yaml"))
    return [ParsedRow(i, r.data) for i, r in enumerate(rows, 1)]
