"""Trained need models kept on disk, so a restart loads them instead of fitting again (seconds → milliseconds).

A model file is named by a hash of everything it was fitted from — the exemplar files' bytes, the rule file,
the taxonomy's phrasings, the hyper-parameters, the scikit-learn version — so an edit to any of them, or an
upgrade, fits a fresh model; stale files of the same model are removed. Writes are atomic (temp file, then
rename); an unreadable file is refitted, never trusted.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar

import joblib
import sklearn

log = logging.getLogger(__name__)
T = TypeVar("T")
FORMAT = "1"  # bump when a model class changes shape


def content_key(parts: Iterable[bytes | str]) -> str:
    digest = hashlib.sha256(f"{FORMAT}|{sklearn.__version__}".encode())
    for part in parts:
        data = part.encode("utf-8") if isinstance(part, str) else part
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()[:24]


def load_or_fit(cache_dir: Path | None, name: str, key: str, fit: Callable[[], T]) -> T:
    """The model ``name`` fitted from inputs hashing to ``key``: from ``cache_dir`` if there, else fitted and stored."""
    if cache_dir is None:
        return fit()
    path = cache_dir / f"{name}-{key}.joblib"
    if path.exists():
        try:
            return joblib.load(path)  # type: ignore[no-any-return]
        except Exception as exc:  # a truncated or foreign file: fit again
            log.warning("model cache %s unreadable (%s); fitting again", path, exc)
    model = fit()
    try:
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        joblib.dump(model, tmp)
        os.replace(tmp, path)
        for stale in cache_dir.glob(f"{name}-*.joblib"):
            if stale != path:
                stale.unlink(missing_ok=True)
    except OSError as exc:  # a read-only data dir still works, just without the cache
        log.warning("model cache %s not written (%s)", path, exc)
    return model
