"""The upkeep of a log's data: rebuilding read models, backing the log up."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from concord.api.cli.common import DataDir, console, fail, settings_from
from concord.api.wiring import Concord


def rebuild(
    name: Annotated[str, typer.Argument(help="A projection's name, or 'all'.")],
    data_dir: DataDir = None,
) -> None:
    """Rebuild projections from position 0 beside the live ones, then swap them in."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

    from concord.projections.rebuild import rebuild_many
    from concord.projections.registry import PROJECTIONS

    names = list(PROJECTIONS) if name == "all" else [name]
    unknown = [n for n in names if n not in PROJECTIONS]
    if unknown:
        raise fail(f"no projection {unknown[0]!r}; there are {', '.join(PROJECTIONS)}, or all")
    with (Concord(settings_from(data_dir), keys=False) as concord,
          Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                   console=console) as bar):
        # One pass over the log builds them all.
        task = bar.add_task(", ".join(names), total=concord.log.last_position() or 1)

        def advance(done: int, end: int, task: TaskID = task) -> None:
            bar.update(task, completed=done, total=end or 1)

        reached = rebuild_many(concord.log, concord.store, names, advance)
        bar.update(task, completed=reached, total=reached or 1)
    console.print(f"Rebuilt {', '.join(names)}.")


def backup(
    out: Annotated[Path, typer.Option(help="A new directory to write the backup into.")],
    data_dir: DataDir = None,
) -> None:
    """Back up the log while the server runs: SQLite's online backup of concord.db and a copy
    of the signing key (on PostgreSQL, the pg_dump command to run, and the key)."""
    from concord.api.backup import BackupError, backup_key, backup_sqlite, pg_dump_command

    settings = settings_from(data_dir)
    try:
        if settings.database_url:
            console.print("The log is in PostgreSQL: back up its schema "
                          f"{settings.database_schema!r} with\n  "
                          + pg_dump_command(settings.database_url, settings.database_schema,
                                            out)
                          + "\n(or stream it to a standby); restore with pg_restore.",
                          highlight=False, soft_wrap=True)
        else:
            copy = backup_sqlite(settings.sqlite_path, out)
            console.print(f"Backed up {settings.sqlite_path} to {copy} (a consistent "
                          "snapshot, taken while the log may be written).", highlight=False,
                          soft_wrap=True)
        key = backup_key(settings.signing_key_path, out)
    except (BackupError, OSError) as e:
        raise fail(str(e)) from None
    if key is None:
        console.print(f"No signing key at {settings.signing_key_path} to back up (none was "
                      "created yet, or CONCORD_SIGNING_KEY_FILE points elsewhere).",
                      highlight=False, soft_wrap=True)
    else:
        console.print(f"Copied the signing key to {key} (mode 0600). It is SECRET: whoever "
                      "holds it can sign checkpoints as this log. Keep the backup where only "
                      "the operator can read it.", highlight=False, soft_wrap=True)
