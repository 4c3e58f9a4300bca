"""``report.md`` with side-by-side tables, per-category recall, worst cases, and the PNG plots it embeds."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistant.evaluation.metrics import K_VALUES, worst_cases
from assistant.privacy import redact
from assistant.taxonomy import get_taxonomy

if TYPE_CHECKING:
    from assistant.evaluation.runner import EvalRun

CONFIG_PLOT = "configs.png"
HEATMAP_PLOT = "category_recall.png"
WORST_CASES = 10

SPLIT_LABELS = {"test": "测试集 test", "dev": "开发集 dev", "all": "全部 all"}

# (metrics.json key, row label, kind) — kind decides formatting.
TABLE_ROWS: tuple[tuple[str, str, str], ...] = (
    ("recall@1", "需求类别召回 recall@1", "pct"),
    ("recall@3", "需求类别召回 recall@3", "pct"),
    ("recall@5", "需求类别召回 recall@5", "pct"),
    ("found_unmet@5", "　其中以“无资源”找到 found_unmet@5", "pct"),
    ("flat_recall@5", "整表前 5 条召回 flat_recall@5", "pct"),
    ("need_detection_recall", "需求识别召回", "pct"),
    ("need_precision", "需求识别精确率", "pct"),
    ("absent_fp_rate", "排除类别误报率 absent FP", "pct"),
    ("eligibility_violations", "资格违规条数", "int"),
    ("eligibility_violation_rate", "资格违规率", "pct"),
    ("unmet_rate", "未满足需求占比", "pct"),
    ("nDCG@5", "nDCG@5（分级资源）", "num"),
    ("nDCG@10", "nDCG@10（分级资源）", "num"),
    ("R@10", "资源召回 R@10（分级资源）", "num"),
    ("latency_p50_ms", "延迟 p50（毫秒）", "ms"),
    ("latency_p95_ms", "延迟 p95（毫秒）", "ms"),
)

DEFINITIONS = """\
- **结果的排序**：把一次匹配结果按“需求顺序，再按每个需求内的资源顺序”展开成一个列表；每一项是（资源，所属需求），
  `rank` 为该资源在其需求内的位次（1 为第一）。
- **覆盖**：资源覆盖类别 c，当且仅当 c 在资源的 `categories` 中，且它所匹配的需求类别就是 c。
- **整段文本基线 `dense-whole-text`** 不识别需求，只按整段文本检索出一个列表：按分数还原成单一排序列表；引擎按主类别
  给这些资源分组，每个资源保留其所在组的类别（即主类别才算覆盖），这些组不算结果“提出的需求”（需求识别为 0）。
- **需求类别召回 recall@k**：在所有（用例，期望类别）对中，满足以下之一的比例：存在该类别的需求，其前 k 个资源中有覆盖
  该类别的资源；或结果把该类别列为未满足需求（如实说明“无资源”也算找到了需求，这一部分单独列为 `found_unmet@5`）。
  按（用例，类别）对做微平均。`flat_recall@k` 是更严格的读法：只看整个展开列表的前 k 项。
- **需求识别召回 / 精确率**：期望类别出现在结果的需求（含未满足）中的比例；结果给出的需求类别中属于期望类别的比例。
- **排除类别误报率**：在所有（用例，排除类别）对中，该类别作为需求出现（含未满足），或作为某个需求前 5 个资源之一的
  主类别出现的比例。
- **资格违规率**：返回的（需求，资源）对中，按目录中的当前记录和用例本身的事实（需求所指的人：申请人或家庭成员的年龄、
  类别），用引擎的 `eligible()` 复核不合格（或资源已不存在）的比例。匹配引擎必须为 0；无过滤的基线不受此约束。
- **未满足需求占比**：未满足需求数 / 结果列出的全部需求数（已匹配 + 未满足）。
- **nDCG@5、nDCG@10、R@10**：用 `ir-measures`（trec_eval 语义，线性增益）在带 `relevant_resources` 分级标注的用例上计算；
  运行列表为展开列表中各资源首次出现的位置。
- **延迟**：每个用例每种配置一次 `match()` 调用的墙钟时间（每种配置先做一次不计时的预热）。
- **置信区间**：对用例做 2000 次有放回重采样（同一用例的各类别一起抽取）的百分位 bootstrap；与基线的差值为配对 bootstrap。
"""


def _fmt(value: Any, kind: str) -> str:
    if value is None:
        return "—"
    if kind == "pct":
        return f"{value * 100:.1f}%"
    if kind == "int":
        return str(int(value))
    if kind == "ms":
        return f"{value:.0f}"
    return f"{value:.3f}"


def _table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return lines


def _label(code: str) -> str:
    label = get_taxonomy().category_label(code)
    return f"{label} `{code}`" if label != code else f"`{code}`"


def _labels(codes: Sequence[str]) -> str:
    return "、".join(_label(c) for c in codes) if codes else "—"


def _comparison_section(metrics: dict[str, Any], configs: Sequence[str]) -> list[str]:
    lines = ["## 配置对比", ""]
    for split in ("test", "dev"):
        if not all(split in metrics["metrics"][c] for c in configs):
            continue
        summaries = [metrics["metrics"][c][split] for c in configs]
        lines += [f"### {SPLIT_LABELS[split]}（{summaries[0]['cases']} 个用例）", ""]
        rows = [[label, *(_fmt(s[key], kind) for s in summaries)] for key, label, kind in TABLE_ROWS]
        lines += [*_table(["指标", *configs], rows), ""]
    lines += [f"![各配置对比]({CONFIG_PLOT})", ""]
    return lines


def _bootstrap_section(metrics: dict[str, Any], configs: Sequence[str]) -> list[str]:
    boot = metrics["bootstrap"]
    split = boot["split"]
    baseline = metrics["baseline_config"]
    lines = [
        f"## 95% 置信区间（{SPLIT_LABELS[split]}，按用例 bootstrap {boot['resamples']} 次；差值为配对 bootstrap）",
        "",
    ]
    measures = [m for m in boot["measures"] if any(boot["ci"][c].get(m) for c in configs)]
    header = ["配置"]
    for m in measures:
        header += [m, f"相对 {baseline}"]
    rows = []
    for config in configs:
        row = [config]
        for m in measures:
            value = metrics["metrics"][config][split][m]
            ci = boot["ci"][config].get(m)
            kind = "pct" if m.startswith("recall@") else "num"
            row.append(f"{_fmt(value, kind)} [{_fmt(ci[0], kind)}, {_fmt(ci[1], kind)}]" if ci else "—")
            diff = boot["versus_baseline"].get(config, {}).get(m)
            row.append(_diff(diff, kind) if diff else "（基线）" if config == baseline else "—")
        rows.append(row)
    lines += _table(header, rows)
    lines += ["", "差值区间不含 0（标 ✓）时，可以认为该配置在此用例集上确实不同于基线。", ""]
    return lines


def _diff(diff: dict[str, float], kind: str) -> str:
    scale, unit = (100, " 个百分点") if kind == "pct" else (1, "")
    sure = " ✓" if diff["low"] > 0 or diff["high"] < 0 else ""
    return (
        f"{diff['difference'] * scale:+.{1 if kind == 'pct' else 3}f}{unit} "
        f"[{diff['low'] * scale:+.{1 if kind == 'pct' else 3}f}, {diff['high'] * scale:+.{1 if kind == 'pct' else 3}f}]{sure}"
    )


def _category_section(run: EvalRun, metrics: dict[str, Any], configs: Sequence[str]) -> list[str]:
    split = metrics["bootstrap"]["split"]
    best = metrics["best_config"]
    tables = {c: metrics["per_category"][c][split] for c in configs}
    categories = sorted({cat for t in tables.values() for cat, row in t.items() if row["cases"]})
    lines = [f"## 各类别召回（{SPLIT_LABELS[split]}）", ""]
    header = ["类别", "用例数", *(f"{c} R@5" for c in configs), f"{best} R@1", f"{best} R@3", "排除误报"]
    rows = []
    for cat in categories:
        best_row = tables[best].get(cat, {})
        absent = (
            f"{best_row['absent_fp_rate'] * 100:.0f}%（{best_row['absent']}）"
            if best_row.get("absent")
            else "—"
        )
        rows.append(
            [
                _label(cat),
                str(best_row.get("cases", 0)),
                *(_fmt(tables[c].get(cat, {}).get("recall@5"), "pct") for c in configs),
                _fmt(best_row.get("recall@1"), "pct"),
                _fmt(best_row.get("recall@3"), "pct"),
                absent,
            ]
        )
    lines += [*_table(header, rows), "", f"![各类别 recall@5 热力图]({HEATMAP_PLOT})", ""]
    return lines


def _worst_section(run: EvalRun, metrics: dict[str, Any]) -> list[str]:
    from assistant.evaluation.runner import SINGLE_LIST_CONFIGS

    best = metrics["best_config"]
    scores = run.config(best).scores
    cases = {c.id: c for c in run.cases}
    results = run.results[best]
    # Test texts stay out of the report: reading test failures invites tuning on test. Only how many.
    test = [s for s in scores if cases[s.case_id].split == "test"]
    held_out = worst_cases(test, len(test))
    worst = worst_cases([s for s in scores if cases[s.case_id].split != "test"], WORST_CASES)
    lines = [f"## 最差用例（{best}）", ""]
    if held_out:
        lines += [
            f"测试集（test）有 {len(held_out)} 个用例未找全或有误报/违规；按规定不列出其文本，只看汇总，"
            "以免对测试集调参。",
            "",
        ]
    if not worst:
        return [*lines, "开发集用例都找全了期望类别，没有误报和资格违规。", ""]
    lines += [
        "开发集（dev）用例，按资格违规、recall@5、排除误报排序；评估文本已脱敏；每个需求列出前 3 个资源。",
        "",
    ]
    for score in worst:
        case = cases[score.case_id]
        result = results[score.case_id]
        absent = f"；排除：{_labels(case.absent_categories)}" if case.absent_categories else ""
        lines += [
            f"### {case.id}（{case.split}，recall@5 = {score.recall(5) * 100:.0f}%）",
            "",
            f"> {redact(case.text)}",
            "",
            f"- 期望：{_labels(case.expected_categories)}{absent}",
            *_returned(result, best in SINGLE_LIST_CONFIGS),
        ]
        for category in score.missed(5):
            why = (
                "识别出该需求，但前 5 个资源都不含该类别" if category in score.detected else "未识别出该需求"
            )
            lines.append(f"- **漏掉** {_label(category)}：{why}")
        if score.absent_hits:
            lines.append(f"- **误报排除类别**：{_labels(sorted(score.absent_hits))}")
        if score.violations:
            shown = "、".join(f"{v.resource_id}（{v.problem}）" for v in score.violations[:5])
            lines.append(f"- **资格违规**：{shown}")
        lines.append("")
    return lines


def _returned(result: dict[str, Any], single_list: bool) -> list[str]:
    """What the configuration returned for one case, briefly."""
    if single_list:
        matches = sorted(
            (m for n in result["needs"] for m in n["matches"]), key=lambda m: -float(m.get("score") or 0)
        )
        top = "、".join(f"{m['name']}（{_first_label(m)}）" for m in matches[:5])
        return [f"- 排序列表前 5：{top or '（空）'}"]
    lines = ["- 结果："]
    for need in result["needs"]:
        person = (need.get("person") or {}).get("relation") or "申请人"
        top = "、".join(f"{m['name']}（{m['resource_id']}）" for m in need["matches"][:3])
        lines.append(f"  - {_label(need['category'])}（{person}）：{top}")
    for unmet in result["unmet"]:
        lines.append(f"  - {_label(unmet['category'])}：未满足，{unmet.get('reason', '')}")
    if len(lines) == 1:
        lines[0] = "- 结果：没有识别出任何需求"
    return lines


def _first_label(match: dict[str, Any]) -> str:
    categories = match.get("categories") or []
    return get_taxonomy().category_label(categories[0]) if categories else "—"


def _headline(metrics: dict[str, Any]) -> list[str]:
    boot = metrics["bootstrap"]
    split = boot["split"]
    best = metrics["best_config"]
    baseline = metrics["baseline_config"]
    summary = metrics["metrics"][best][split]
    ci = boot["ci"][best].get("recall@5")
    line = (
        f"**{SPLIT_LABELS[split]} 上最好的配置是 `{best}`：recall@5 = {_fmt(summary['recall@5'], 'pct')}"
        + (f"（95% CI {_fmt(ci[0], 'pct')}–{_fmt(ci[1], 'pct')}）" if ci else "")
    )
    versus = boot["versus_baseline"].get(best) or {}
    compared = [
        f"{m} {_diff(d, 'pct' if m.startswith('recall@') else 'num')}"
        for m, d in versus.items()
        if d is not None
    ]
    if compared:
        line += f"；相对基线 `{baseline}`：" + "；".join(compared)
    line += "。**"
    lines = [line, "", "（“最好”只在没有资格违规的配置中选：给出不合格资源的结果不能直接使用。）", ""]
    for config, summary_by_split in metrics["metrics"].items():
        violations = summary_by_split["all"]["eligibility_violations"]
        if violations and config != baseline:
            lines += [f"⚠ `{config}` 有 {violations} 条资格违规：匹配引擎必须为 0。", ""]
    return lines


def render_markdown(run: EvalRun, metrics: dict[str, Any]) -> str:
    configs = metrics["configs"]
    cases = metrics["cases"]
    info = [
        "# 匹配质量评估报告",
        "",
        f"- 生成时间：{metrics['generated_at']}",
        f"- 用例文件：`{metrics.get('cases_file', '—')}`（评估范围 {metrics.get('split', 'all')}；"
        f"开发集 {cases['dev']} 个，测试集 {cases['test']} 个）",
        f"- 资源目录：{metrics['catalog_resources']} 条资源；嵌入模型：{metrics.get('embedding_model') or '—'}；"
        f"每个需求取前 {metrics['top_k']} 个资源",
        f"- 运行的配置：{'、'.join(f'`{c}`' for c in configs)}（基线：`{metrics['baseline_config']}`，"
        f"`results.jsonl` 取自 `{metrics['primary_config']}`）",
    ]
    for config, reason in metrics["skipped"].items():
        info.append(f"- 跳过 `{config}`：{reason}")
    if metrics.get("unknown_relevant_resources"):
        info.append(
            f"- 注意：{len(metrics['unknown_relevant_resources'])} 个标注的相关资源不在目录中："
            + "、".join(metrics["unknown_relevant_resources"][:10])
        )
    if not any(metrics["metrics"][c]["all"]["graded_cases"] for c in configs):
        info.append("- 用例中没有 `relevant_resources` 分级标注，nDCG 与 R@10 不可计算（表中为 —）。")
    lines = [*info, "", *_headline(metrics)]
    lines += _comparison_section(metrics, configs)
    lines += _bootstrap_section(metrics, configs)
    lines += _category_section(run, metrics, configs)
    lines += _worst_section(run, metrics)
    lines += ["## 指标定义", "", DEFINITIONS]
    return "\n".join(lines)


def write_report(run: EvalRun, metrics: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """Write the plots and ``report.md``; returns the written paths by file name."""
    written = write_plots(run, metrics, out_dir)
    path = out_dir / "report.md"
    path.write_text(render_markdown(run, metrics), encoding="utf-8")
    written[path.name] = path
    return written


# -- plots ----------------------------------------------------------------------------------------------

_CJK_FAMILIES = (
    "Noto Sans CJK SC",
    "Noto Serif CJK SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "WenQuanYi Micro Hei",
    "Noto Sans CJK JP",
    "Droid Sans Fallback",
)


def cjk_font() -> str | None:
    """A font family that can draw Chinese, registering fontconfig's zh fonts if matplotlib's cache is stale."""
    from matplotlib import font_manager

    def installed() -> str | None:
        names = {f.name for f in font_manager.fontManager.ttflist}
        return next((family for family in _CJK_FAMILIES if family in names), None)

    found = installed()
    if found or shutil.which("fc-list") is None:
        return found
    try:
        listing = subprocess.run(
            ["fc-list", ":lang=zh", "file"], capture_output=True, text=True, timeout=10, check=False
        ).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    for line in listing.splitlines():
        path = line.split(":")[0].strip()
        if path:
            try:
                font_manager.fontManager.addfont(path)
            except (OSError, RuntimeError, ValueError):
                continue
    return installed()


def write_plots(run: EvalRun, metrics: dict[str, Any], out_dir: Path) -> dict[str, Path]:
    """Configurations side by side, and a per-category recall@5 heat map (matplotlib, Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    font = cjk_font()
    configs = metrics["configs"]
    split = metrics["bootstrap"]["split"]
    written: dict[str, Path] = {}

    with plt.rc_context():
        if font:
            plt.rcParams["font.family"] = "sans-serif"
            plt.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]
        bars = [(f"recall@{k}", f"recall@{k}") for k in K_VALUES] + [
            ("need_detection_recall", "需求识别" if font else "need detection"),
            ("absent_fp_rate", "排除误报" if font else "absent FP"),
        ]
        fig, (ax, ax_lat) = plt.subplots(1, 2, figsize=(12, 4.5), gridspec_kw={"width_ratios": [3, 1]})
        width = 0.8 / len(configs)
        x = np.arange(len(bars))
        for i, config in enumerate(configs):
            summary = metrics["metrics"][config][split]
            values = [summary[key] or 0.0 for key, _ in bars]
            ax.bar(x + i * width, values, width, label=config)
            ci = metrics["bootstrap"]["ci"][config].get("recall@5")
            if ci and summary["recall@5"] is not None:
                at = x[2] + i * width  # the recall@5 bar
                low, high = summary["recall@5"] - ci[0], ci[1] - summary["recall@5"]
                ax.errorbar(
                    [at], [summary["recall@5"]], yerr=[[low], [high]], fmt="none", ecolor="black", capsize=3
                )
            lat = [summary["latency_p50_ms"] or 0.0, summary["latency_p95_ms"] or 0.0]
            ax_lat.bar(np.arange(2) + i * width, lat, width, label=config)
        ax.set_xticks(x + width * (len(configs) - 1) / 2, [label for _, label in bars])
        ax.set_ylim(0, 1.05)
        ax.set_title(f"{split}: quality (recall@5 with 95% CI)")
        ax.legend(fontsize=8)
        ax.grid(axis="y", alpha=0.3)
        ax_lat.set_xticks(np.arange(2) + width * (len(configs) - 1) / 2, ["p50", "p95"])
        ax_lat.set_title("latency (ms)")
        ax_lat.grid(axis="y", alpha=0.3)
        fig.tight_layout()
        path = out_dir / CONFIG_PLOT
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written[path.name] = path

        tables = {c: metrics["per_category"][c][split] for c in configs}
        categories = sorted({cat for t in tables.values() for cat, row in t.items() if row["cases"]})
        grid = np.array(
            [[(tables[c].get(cat, {}).get("recall@5") or 0.0) for c in configs] for cat in categories]
        ).reshape(len(categories), len(configs))
        taxonomy = get_taxonomy()
        counts = {cat: max(t.get(cat, {}).get("cases", 0) for t in tables.values()) for cat in categories}
        labels = [
            f"{taxonomy.category_label(c)} {c} (n={counts[c]})" if font else f"{c} (n={counts[c]})"
            for c in categories
        ]
        fig, ax = plt.subplots(figsize=(4.5 + 1.2 * len(configs), 1.2 + 0.42 * max(len(categories), 1)))
        image = ax.imshow(grid, cmap="RdYlGn", vmin=0, vmax=1, aspect="auto")
        ax.set_xticks(range(len(configs)), configs, rotation=20, ha="right")
        ax.set_yticks(range(len(categories)), labels)
        for r in range(grid.shape[0]):
            for c in range(grid.shape[1]):
                ax.text(c, r, f"{grid[r, c]:.2f}", ha="center", va="center", fontsize=8)
        ax.set_title(f"{split}: recall@5 per category")
        fig.colorbar(image, ax=ax, fraction=0.04)
        fig.tight_layout()
        path = out_dir / HEATMAP_PLOT
        fig.savefig(path, dpi=120)
        plt.close(fig)
        written[path.name] = path
    return written
