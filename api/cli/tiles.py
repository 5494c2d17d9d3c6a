"""Publishing the log as static C2SP tlog-tiles: `concord export-tiles`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from concord.api.cli.common import DataDir, console, errors, fail, settings_from
from concord.api.wiring import Concord


def export_tiles(
    out: Annotated[Path, typer.Option(help="The directory to write the tile log into (made "
                                      "if missing; tiles already there and right are kept).")],
    data_dir: DataDir = None,
) -> None:
    """Write the log as a static C2SP tlog-tiles log: the latest signed checkpoint, verbatim,
    and every entry bundle and hash tile of its size, computed from the entries; any web
    server serving the directory is then a tile log whose prefix is its URL."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from concord.api.audit.publish import ExportError, export_tiles
    from concord.api.audit.verify import entries
    from concord.api.checkpoints import latest_stored

    with Concord(settings_from(data_dir), keys=False) as concord:
        latest = latest_stored(concord.store)
        if latest is None:
            raise fail("the log has no signed checkpoint yet: one is signed when a server "
                       "answers GET /v1/log/checkpoint (`concord serve`); nothing was written")
        size, note = latest
        with Progress(TextColumn("export-tiles"), BarColumn(), MofNCompleteColumn(),
                      console=errors) as bar:
            task = bar.add_task("export-tiles", total=size or 1)
            try:
                exported = export_tiles(concord.log.read, note, out,
                                        lambda done: bar.update(task, completed=done))
            except (ExportError, OSError) as e:
                raise fail(str(e)) from None
            bar.update(task, completed=size or 1)
    console.print(f"Wrote the tile log of the checkpoint of {size} {entries(size)} to {out}: "
                  f"{exported.written} tile files written, {exported.unchanged} already "
                  "there and unchanged, and the checkpoint.", highlight=False, soft_wrap=True)
