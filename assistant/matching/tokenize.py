"""Chinese tokens for BM25: jieba words plus character bigrams (bigrams survive typos and unseen words)."""

from __future__ import annotations

import logging
import re

import jieba

jieba.setLogLevel(logging.WARNING)

_CJK_RUN = re.compile(r"[\u4e00-\u9fff]+|[A-Za-z]+|\d+")
_STOP = frozenset(
    [
        "的",
        "了",
        "是",
        "在",
        "和",
        "与",
        "及",
        "或",
        "等",
        "有",
        "为",
        "对",
        "也",
        "就",
        "都",
        "而",
        "但",
        "并",
        "其",
        "该",
        "此",
        "这",
        "那",
        "个",
        "之",
        "以",
        "于",
        "被",
        "把",
        "让",
        "给",
        "着",
        "过",
    ]
)


def tokens(text: str) -> list[str]:
    """Words (jieba, search mode) and CJK character bigrams, lower-cased, stop-words dropped."""
    out: list[str] = []
    for run in _CJK_RUN.findall(text.lower()):
        if not ("\u4e00" <= run[0] <= "\u9fff"):
            out.append(run)
            continue
        out.extend(w for w in jieba.lcut_for_search(run) if w not in _STOP and w.strip())
        out.extend(run[i : i + 2] for i in range(len(run) - 1))
    return out
