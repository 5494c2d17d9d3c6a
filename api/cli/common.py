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

global_options: dict[str, object] = {}  # the options given before the command (app.options)


def settings_from(data_dir: Path | None, **overrides: object) -> Settings:
    """The settings of a command: the environment's, then the global options, then the
    command's own (`data_dir` and the overrides that are not None); a failure to exit with
    if they are invalid."""
    given = {**global_options, **{k: v for k, v in overrides.items() if v is not None}}
    if data_dir is not None:
        given["data_dir"] = data_dir
    try:
        return Settings(**given)  # type: ignore[arg-type]
    except ValidationError as e:
        raise fail("; ".join(
            f"{'.'.join(str(part) for part in error['loc'])}: "
            f"{str(error['msg']).removeprefix('Value error, ')}"
            for error in e.errors())) from None


def fail(message: str) -> typer.Exit:
    """Print `message` as the command's error; the exit (status 1) to raise."""
    errors.print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code=1)
