"""The `concord` command line: the typer app, its global options, and its commands, in the
order `concord --help` lists them; each topic's commands live in a module of their own."""

from __future__ import annotations

import typer

from concord.api.cli import audit, keys, maintenance, records, serve, tiles, witness
from concord.api.cli.common import DatabaseUrl, global_options

app = typer.Typer(help="Concord: an auditable coordination log for networks of states.",
                  no_args_is_help=True, add_completion=False)


@app.callback()
def options(database_url: DatabaseUrl = None) -> None:
    """Concord: an auditable coordination log for networks of states."""
    global_options.clear()
    if database_url is not None:
        global_options["database_url"] = database_url


app.command()(records.demo)
app.command()(serve.serve)
app.command()(serve.project)
app.command()(records.record)
app.command()(maintenance.rebuild)
app.command()(audit.export)
app.command("export-tiles")(tiles.export_tiles)
app.command()(audit.checkpoint)
app.command()(audit.verify)
app.command()(maintenance.backup)
app.command("log")(records.show_log)
app.add_typer(keys.keys_app, name="keys")
app.add_typer(witness.witness_app, name="witness")


def main() -> None:
    """Entry point of the `concord` script."""
    app()
