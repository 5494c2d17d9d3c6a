"""Concord's configuration: one Settings object, read from CONCORD_* environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from concord.api.collector import WitnessEndpoint


class Settings(BaseSettings):
    """Everything Concord can be configured with; tests build their own instead of the env."""

    model_config = SettingsConfigDict(env_prefix="CONCORD_", extra="forbid")

    data_dir: Path = Field(
        default=Path("concord-data"),
        description=("Directory holding the SQLite log (concord.db) and the signing key; "
                     "with a database URL, only the signing key."),
    )
    database_url: str | None = Field(
        default=None, pattern=r"^postgres(ql)?://",
        description=("postgresql://user[:password]@host[:port]/dbname: keep the log, the "
                     "read side and the keys in PostgreSQL (pip install '.[postgres]') "
                     "instead of SQLite."),
    )
    database_schema: str = Field(
        default="concord", pattern=r"^[a-z_][a-z0-9_]{0,62}$",
        description="The PostgreSQL schema Concord's tables live in.",
    )
    max_commit_events: int = Field(
        default=10_000, ge=1, le=100_000,
        description="Most events the writer saves in one transaction (group commit).",
    )
    host: str = Field(default="127.0.0.1", description="Address `concord serve` listens on.")
    port: int = Field(default=8000, ge=0, le=65535, description="Port `concord serve` uses.")
    max_body_bytes: int = Field(
        default=1024 * 1024, ge=1024, description="Largest request body accepted (413 above)."
    )
    max_batch: int = Field(
        default=10_000, ge=1, le=100_000, description="Most submissions in one batch (413 above)."
    )
    stream_buffer: int = Field(
        default=10_000, ge=10,
        description="Entries a live-stream client may fall behind before it is told to resume.",
    )
    stream_heartbeat_seconds: float = Field(
        default=15.0, gt=0, description="Seconds between heartbeats on an idle live stream."
    )
    public_read: bool = Field(
        default=True, description="Whether reads need no key (false: a reader key or higher)."
    )
    write_rate: float | None = Field(
        default=None, gt=0,
        description="Writes a second allowed to each key (429 above); default: no limit.",
    )
    read_wait_seconds: float = Field(
        default=5.0, ge=0, le=60,
        description="How long a read waits for its projection to reach `min_position`.",
    )
    log_level: str = Field(default="INFO", description="Level of Concord's JSON logs.")
    projections: bool = Field(
        default=True,
        description=("Whether this process keeps the read models up (false: `concord project` "
                     "runs them, and this process reads what it wrote)."),
    )
    log_origin: str = Field(
        default="concord.localhost/log", min_length=1, max_length=200,
        pattern=r"^[!-*,-~]+$",
        description=("The log's name in its signed checkpoints (C2SP tlog-checkpoint "
                     "origin, a schema-less URL such as relacopaz.example/concord, without "
                     "spaces or '+'); also the signing key's name."),
    )
    signing_key_file: Path | None = Field(
        default=None,
        description=("The checkpoint signing key (a note signer key, PRIVATE+KEY+...); "
                     "default: signing.key in the data directory, created on first start "
                     "with mode 0600."),
    )

    witnesses: str = Field(
        default="",
        description=("The witnesses that cosign the log's checkpoints (C2SP tlog-witness): "
                     "entries separated by commas or newlines, each a witness's submission "
                     "URL and its cosignature verifier key, separated by a space."),
    )
    witness_interval_seconds: float = Field(
        default=2.0, gt=0, le=3600,
        description="Seconds at least between two rounds of asking the witnesses to cosign.",
    )
    witness_timeout_seconds: float = Field(
        default=10.0, gt=0, le=300,
        description="How long a round of cosigning waits for the witnesses' answers.",
    )
    witness_quorum: int | None = Field(
        default=None, ge=1,
        description=("How many witnesses must cosign a checkpoint before the log serves it "
                     "(default: a majority of CONCORD_WITNESSES); until one is, the newest "
                     "is served."),
    )

    @property
    def signing_key_path(self) -> Path:
        """Where the checkpoint signing key is kept."""
        return self.signing_key_file or self.data_dir / "signing.key"

    @field_validator("witnesses")
    @classmethod
    def _usable_witnesses(cls, text: str) -> str:
        from concord.api.collector import parse_witnesses

        parse_witnesses(text)
        return text

    @property
    def witness_list(self) -> list[WitnessEndpoint]:
        """The witnesses `witnesses` names."""
        from concord.api.collector import parse_witnesses

        return parse_witnesses(self.witnesses)

    @model_validator(mode="after")
    def _possible_quorum(self) -> Settings:
        count = len(self.witness_list)
        if self.witness_quorum is not None and self.witness_quorum > count:
            raise ValueError(f"witness_quorum: {self.witness_quorum} witnesses cannot cosign "
                             f"when CONCORD_WITNESSES names {count}")
        return self

    @field_validator("database_url")
    @classmethod
    def _usable_url(cls, url: str | None) -> str | None:
        if url is None:
            return None
        try:
            from concord.log.postgres import parse_database_url
        except ImportError:
            raise ValueError("PostgreSQL support is not installed: pip install "
                             "'concord[postgres]' (or '.[postgres]' from a checkout)") from None
        parse_database_url(url)
        return url

    def as_environment(self) -> dict[str, str]:
        """These settings as CONCORD_* variables, for processes started from this one."""
        found = {}
        for name, value in self.model_dump().items():
            if value is None:
                continue
            text = str(value).lower() if isinstance(value, bool) else str(value)
            found[f"CONCORD_{name.upper()}"] = text
        return found

    @property
    def where(self) -> str:
        """Where the log is kept, for messages (never the password)."""
        if self.database_url:
            from urllib.parse import urlsplit

            url = urlsplit(self.database_url)
            return f"postgresql://{url.hostname}:{url.port or 5432}{url.path} " \
                   f"(schema {self.database_schema})"
        return str(self.sqlite_path)

    @property
    def sqlite_path(self) -> Path:
        """The SQLite file of the log."""
        return self.data_dir / "concord.db"
