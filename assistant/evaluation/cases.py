"""Labelled evaluation cases (``eval/cases.jsonl``): loading, validation, and the request each case makes.

A malformed line is reported with its line number and field, and nothing is evaluated: numbers computed
on a half-read case file would mislead.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator, model_validator

from assistant.matching.types import MatchRequest, Member, Person
from assistant.taxonomy import get_taxonomy

SPLITS = ("dev", "test")
APPLICANT = "申请人"


class EvalCase(BaseModel):
    """One labelled assessment (the DESIGN.md case-file contract plus ``members`` and ``split``)."""

    id: str = Field(min_length=1)
    text: str = Field(min_length=1)
    county: str
    groups: list[str] = Field(default_factory=list)
    age: int | None = Field(default=None, ge=0, le=130)
    members: list[Member] = Field(default_factory=list)
    split: Literal["dev", "test"]
    expected_categories: list[str] = Field(min_length=1)
    absent_categories: list[str] = Field(default_factory=list)
    relevant_resources: dict[str, Literal[1, 2]] = Field(default_factory=dict)

    @field_validator("county")
    @classmethod
    def _known_area(cls, value: str) -> str:
        if value not in get_taxonomy().areas:
            raise ValueError(f"未知的区县代码 {value}")
        return value

    @field_validator("groups")
    @classmethod
    def _known_groups(cls, value: list[str]) -> list[str]:
        _check_codes(value, get_taxonomy().groups, "救助对象类别")
        return value

    @field_validator("expected_categories", "absent_categories")
    @classmethod
    def _known_categories(cls, value: list[str]) -> list[str]:
        _check_codes(value, get_taxonomy().categories, "服务类别")
        if len(set(value)) != len(value):
            raise ValueError("类别重复")
        return value

    @field_validator("members")
    @classmethod
    def _known_member_groups(cls, value: list[Member]) -> list[Member]:
        for member in value:
            _check_codes(member.groups, get_taxonomy().groups, "救助对象类别")
        return value

    @model_validator(mode="after")
    def _absent_not_expected(self) -> EvalCase:
        both = set(self.expected_categories) & set(self.absent_categories)
        if both:
            raise ValueError(f"absent_categories 与 expected_categories 重叠：{', '.join(sorted(both))}")
        return self

    def request(self, top_k: int = 10) -> MatchRequest:
        """The request the matcher sees: the text and the applicant's and household's facts, no labels."""
        return MatchRequest(
            text=self.text,
            county=self.county,
            groups=list(self.groups),
            age=self.age,
            members=[m.model_copy() for m in self.members],
            top_k=top_k,
        )

    def person(self, stated: Person) -> Person:
        """The person a need is for, as the case knows them: the case's age wins where the case gives one,
        and groups are the case's plus those the matcher read (e.g. a 低保 household's child)."""
        for member in self.members:
            if member.relation == stated.relation:
                age, groups = member.age, member.groups
                break
        else:
            if stated.relation != APPLICANT and stated.relation:
                return stated  # a household member the text names but the case does not list
            age, groups = self.age, self.groups
        return Person(
            relation=stated.relation or APPLICANT,
            age=age if age is not None else stated.age,
            groups=list(dict.fromkeys([*groups, *stated.groups])),
        )


def _check_codes(values: Iterable[str], known: dict[str, Any], kind: str) -> None:
    unknown = [v for v in values if v not in known]
    if unknown:
        raise ValueError(f"未知的{kind}代码：{', '.join(unknown)}")


@dataclass(frozen=True)
class LineError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"第 {self.line} 行" if self.line else "文件"
        return f"{where} 字段 {self.field}：{self.message}" if self.field else f"{where}：{self.message}"


class CaseFileError(Exception):
    """The case file cannot be evaluated; ``errors`` say where (line, field) and why."""

    def __init__(self, path: Path, errors: list[LineError]) -> None:
        self.path = path
        self.errors = errors
        shown = "\n".join(f"  {e}" for e in errors[:20])
        more = f"\n  …… 另有 {len(errors) - 20} 处错误" if len(errors) > 20 else ""
        super().__init__(f"评估用例文件 {path} 有 {len(errors)} 处错误：\n{shown}{more}")


_PYDANTIC_MESSAGES = {
    "missing": "缺少必填字段",
    "string_type": "应为字符串",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "list_type": "应为列表",
    "dict_type": "应为对象（键值表）",
    "literal_error": "取值不在允许范围内",
    "too_short": "不能为空",
    "string_too_short": "不能为空",
    "greater_than_equal": "数值过小",
    "less_than_equal": "数值过大",
}


def _field_errors(line: int, exc: ValidationError) -> list[LineError]:
    errors = []
    for err in exc.errors():
        field = ".".join(str(part) for part in err["loc"])
        if err["type"] == "value_error":
            message = str(err["ctx"]["error"]) if "ctx" in err else err["msg"]
        else:
            base = _PYDANTIC_MESSAGES.get(err["type"], err["msg"])
            message = base if err["type"] == "missing" else f"{base}（收到 {err.get('input')!r}）"
        errors.append(LineError(line, field, message))
    return errors


def parse_cases(lines: Iterable[str], path: Path = Path("<cases>")) -> list[EvalCase]:
    """Parse JSON Lines into cases; blank lines and ``#`` comments are skipped. Raises ``CaseFileError``."""
    cases: list[EvalCase] = []
    errors: list[LineError] = []
    first_line: dict[str, int] = {}
    for number, raw in enumerate(lines, start=1):
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue
        try:
            data = json.loads(stripped)
        except json.JSONDecodeError as exc:
            errors.append(LineError(number, "", f"不是合法的 JSON（第 {exc.colno} 列：{exc.msg}）"))
            continue
        if not isinstance(data, dict):
            errors.append(LineError(number, "", "每行应为一个 JSON 对象"))
            continue
        try:
            case = EvalCase.model_validate(data)
        except ValidationError as exc:
            errors.extend(_field_errors(number, exc))
            continue
        if case.id in first_line:
            errors.append(LineError(number, "id", f"编号 {case.id} 与第 {first_line[case.id]} 行重复"))
            continue
        first_line[case.id] = number
        cases.append(case)
    if errors:
        raise CaseFileError(path, errors)
    if not cases:
        raise CaseFileError(path, [LineError(0, "", "文件中没有任何用例")])
    return cases


def load_cases(path: Path, split: str = "all") -> list[EvalCase]:
    """Read and validate a case file, then keep the cases of ``split`` (``dev``, ``test`` or ``all``)."""
    if split not in (*SPLITS, "all"):
        raise ValueError(f"split 应为 dev、test 或 all，收到 {split}")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CaseFileError(path, [LineError(0, "", "文件不存在")]) from None
    except UnicodeDecodeError as exc:
        raise CaseFileError(path, [LineError(0, "", f"不是 UTF-8 文本：{exc.reason}")]) from None
    cases = parse_cases(text.splitlines(), path)
    return cases if split == "all" else [c for c in cases if c.split == split]
