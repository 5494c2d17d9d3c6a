"""Builds the log from Settings: the one place that knows how the parts fit together."""

from __future__ import annotations

from api.settings import Settings
from domain.log import CoordinationLog, sqlite_env


def open_log(settings: Settings) -> CoordinationLog:
    """Open (creating if need be) the log in the settings' data directory."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return CoordinationLog(
        sqlite_env(settings.sqlite_path), max_commit_events=settings.max_commit_events
    )
