"""Prompts as files a domain expert can read and edit (``prompts/*.md``).

A prompt file is Markdown with a small YAML front matter::

    ---
    id: plan_draft
    version: 1
    description: 一句话说明
    variables: [assessment, needs]
    ---
    [system]
    系统提示……{{needs}}
    [user]
    用户消息……{{assessment}}

``[system]`` / ``[user]`` start the two messages (a file without markers is one system message).
``{{name}}`` is replaced by the variable's value in a single pass, so a value that itself contains ``{{…}}``
(an assessment written to look like a template) is inserted literally. Every plan records the prompt's id and
the sha256 of the file content, so a plan can be traced to the exact wording that produced it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

_PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
_SECTION = re.compile(r"^\[(system|user)\]\s*$", re.MULTILINE)
_FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.DOTALL)


class PromptError(ValueError):
    """A prompt file is malformed or rendered with the wrong variables."""


@dataclass(frozen=True)
class RenderedPrompt:
    system: str
    user: str


@dataclass(frozen=True)
class Prompt:
    id: str
    version: int
    description: str
    variables: tuple[str, ...]
    system: str
    user: str
    sha256: str
    path: Path

    def render(self, **values: object) -> RenderedPrompt:
        """Fill every declared variable (all are required; unknown names are refused)."""
        missing = set(self.variables) - set(values)
        unknown = set(values) - set(self.variables)
        if missing or unknown:
            raise PromptError(
                f"提示词 {self.id}：缺少变量 {sorted(missing) or '无'}，多余变量 {sorted(unknown) or '无'}"
            )
        texts = {name: "" if value is None else str(value) for name, value in values.items()}

        def fill(template: str) -> str:
            return _PLACEHOLDER.sub(lambda m: texts[m.group(1)], template).strip()

        return RenderedPrompt(system=fill(self.system), user=fill(self.user))


def parse_prompt(content: bytes, path: Path) -> Prompt:
    """Parse one prompt file's bytes; checks that placeholders and declared variables agree."""
    text = content.decode("utf-8-sig").replace("\r\n", "\n")
    match = _FRONT_MATTER.match(text)
    if not match:
        raise PromptError(f"{path}：缺少 YAML 头（以 --- 开始和结束）")
    meta = yaml.safe_load(match.group(1)) or {}
    body = text[match.end() :]
    if not isinstance(meta, dict) or "id" not in meta:
        raise PromptError(f"{path}：YAML 头必须包含 id")
    variables = tuple(str(v) for v in meta.get("variables") or ())
    used = set(_PLACEHOLDER.findall(body))
    if used - set(variables):
        raise PromptError(f"{path}：正文使用了未声明的变量 {sorted(used - set(variables))}")
    if set(variables) - used:
        raise PromptError(f"{path}：声明的变量未在正文中使用 {sorted(set(variables) - used)}")
    sections = {"system": "", "user": ""}
    markers = list(_SECTION.finditer(body))
    if not markers:
        sections["system"] = body
    for index, marker in enumerate(markers):
        end = markers[index + 1].start() if index + 1 < len(markers) else len(body)
        sections[marker.group(1)] = body[marker.end() : end]
    return Prompt(
        id=str(meta["id"]),
        version=int(meta.get("version") or 1),
        description=str(meta.get("description") or ""),
        variables=variables,
        system=sections["system"].strip(),
        user=sections["user"].strip(),
        sha256=hashlib.sha256(content).hexdigest(),
        path=path,
    )


def prompts_dir() -> Path:
    from assistant.config import get_settings

    return get_settings().prompts_dir


def load_prompt(name: str, directory: Path | None = None) -> Prompt:
    """Load ``prompts/<name>.md`` (read each time, so an edited prompt applies without a restart)."""
    path = (directory or prompts_dir()) / f"{name}.md"
    if not path.exists():
        raise PromptError(f"提示词文件不存在：{path}")
    return parse_prompt(path.read_bytes(), path)


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
