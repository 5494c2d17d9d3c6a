"""What the commands share: the consoles, the options most of them take, the settings those
options make, and how a command fails."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from pydantic import ValidationError
from rich.console import Console

from concord.api.settings import Settings

console = Console()
errors = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data directory (default: $CONCORD_DATA_DIR or ./concord-data)."
    ),
]


DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help=(
        "postgresql://user@host:port/dbname: the log in PostgreSQL (default: "
        "$CONCORD_DATABASE_URL, else SQLite in the data directory)."), show_default=False),
]

_given: dict[str, object] = {}  # the options given before the command (app.options)


def _settings(data_dir: Path | None, **overrides: object) -> Settings:
    given = {**_given, **{k: v for k, v in overrides.items() if v is not None}}
    if data_dir is not None:
        given["data_dir"] = data_dir
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except ValidationError as e:
        raise _fail("; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: "
            f"{str(error['msg']).removeprefix('Value error, ')}"
            for error in e.errors())) from None


def _fail(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)
