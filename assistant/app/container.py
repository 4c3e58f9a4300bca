"""Builds every service once per process, in layer order, and wires the catalog change hook.

Services are created on first use (``cached_property``) so a CLI command that needs only the
catalog never loads the embedding model.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING

from sqlalchemy import select

from assistant.auth.models import User
from assistant.catalog.io import read_seed_dir, validate_rows
from assistant.catalog.service import CatalogService
from assistant.config import Settings
from assistant.db import Database

if TYPE_CHECKING:
    from assistant.cases.service import CaseService
    from assistant.chat.service import ChatService
    from assistant.matching.engine import MatchingEngine
    from assistant.planning.service import PlanningService

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


class Container:
    """One instance of each service (one embedder, one session factory …) for the whole process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        settings.ensure_dirs()
        self.db = Database(settings.resolved_database_url)
        self.db.migrate()
        self.catalog = CatalogService(self.db)

    @cached_property
    def matcher(self) -> MatchingEngine:
        from assistant.matching.engine import build_matching

        engine = build_matching(self.settings, self.db, self.catalog)
        if self.settings.llm_base_url and self.settings.llm_need_extraction and self.planner.llm is not None:
            from assistant.planning.extraction import LLMNeedExtractor

            engine.extractor = LLMNeedExtractor(
                self.planner.llm,
                engine.rule_extractor,
                taxonomy=engine.taxonomy,
                method=self.settings.llm_structured_method,
                prompts_dir=self.settings.prompts_dir,
            )
        return engine

    @cached_property
    def planner(self) -> PlanningService:
        from assistant.planning.service import PlanningService

        return PlanningService(self.settings, self.catalog)

    @cached_property
    def cases(self) -> CaseService:
        from assistant.cases.service import CaseService

        return CaseService(self.db, self.catalog, self.matcher, self.planner)

    @cached_property
    def chat(self) -> ChatService:
        from assistant.chat.service import ChatService

        return ChatService(self.settings, self.db, self.catalog, self.matcher, self.planner, self.cases)

    def seed_if_empty(self) -> int:
        """Load the seed catalog into an empty store; returns how many resources were loaded."""
        if self.catalog.count() > 0:
            return 0
        rows = read_seed_dir(self.settings.seed_catalog_dir)
        valid, errors = validate_rows(rows)
        if errors:
            raise RuntimeError(f"种子目录有 {len(errors)} 处错误：{errors[:3]}")
        report = self.catalog.import_resources(valid, None, reason="seed")
        return len(report.created)

    def has_users(self) -> bool:
        with self.db.session() as session:
            return session.scalar(select(User.id).limit(1)) is not None

    def close(self) -> None:
        if "matcher" in self.__dict__:
            self.matcher.close()
        self.db.dispose()
