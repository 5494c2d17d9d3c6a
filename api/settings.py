"""Concord's configuration: one Settings object, read from CONCORD_* environment variables."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Everything Concord can be configured with; tests build their own instead of the env."""

    model_config = SettingsConfigDict(env_prefix="CONCORD_", extra="forbid")

    data_dir: Path = Field(
        default=Path("concord-data"),
        description="Directory holding the SQLite log (concord.db) and, later, the log's keys.",
    )
    max_commit_events: int = Field(
        default=10_000,
        ge=1,
        le=100_000,
        description="Most events the writer saves in one transaction (group commit).",
    )

    @property
    def sqlite_path(self) -> Path:
        """The SQLite file of the log."""
        return self.data_dir / "concord.db"
