"""One typed settings object, read from ``ASSISTANT_*`` environment variables and ``.env``."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PACKAGE_DIR = Path(__file__).resolve().parent


def _resource_dir(name: str) -> Path:
    """Data folders (catalog/, prompts/, eval/) live at the repo root; a wheel carries them in ``_data``."""
    packaged = PACKAGE_DIR / "_data" / name
    return packaged if packaged.exists() else PACKAGE_DIR.parent / name


class Settings(BaseSettings):
    """Runtime configuration. Empty strings mean "use the embedded default"."""

    model_config = SettingsConfigDict(env_prefix="ASSISTANT_", env_file=".env", extra="ignore")

    environment: str = "development"
    data_dir: Path = Path("data")
    database_url: str = ""
    chroma_url: str = ""
    embedding_model: str = ""
    embedding_cache_entries: int = 50_000  # vectors remembered per process (0 = off, e.g. for benchmarks)
    reranker_model: str = ""
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: str = ""
    llm_timeout: float = 60.0
    llm_structured_method: str = "auto"
    llm_need_extraction: bool = True  # with an LLM configured, it also finds the needs (rules as fallback)

    catalog_dir: Path = Field(default_factory=lambda: _resource_dir("catalog"))
    prompts_dir: Path = Field(default_factory=lambda: _resource_dir("prompts"))
    seed_catalog_dir: Path = Field(default_factory=lambda: _resource_dir("catalog") / "huangshi")

    # Matching knobs; tuned on the eval dev split (see eval/README.md).
    match_candidates: int = 50
    rrf_k: int = 60
    # Final score = weight_fused × RRF(dense, BM25) + priors (see matching/engine.py `_rank`).
    weight_fused: float = 0.6
    prior_primary: float = 0.15  # the need's category is the resource's primary one
    prior_county: float = 0.15  # a county's own resource before a citywide one
    prior_targeted: float = 0.10  # a resource aimed at the person's group before an open-to-all one
    prior_place: float = 0.10  # same town/street as the assessment names (+), another town (−)
    classifier_c: float = 8.0  # inverse regularisation of the clause classifier
    classifier_floor: float = 0.2
    classifier_weight: float = 2.5
    # A category mention the polarity model reads as met / refused with this probability is negated (1 = off).
    denial_threshold: float = 0.75

    @field_validator("environment")
    @classmethod
    def _known_environment(cls, value: str) -> str:
        if value not in {"development", "test", "production"}:
            raise ValueError("environment must be development, test or production")
        return value

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'assistant.db').resolve()}"

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"

    def ensure_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings (cached; tests build their own ``Settings``)."""
    return Settings()
