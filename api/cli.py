"""The `concord` command line."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from api.render import log_table
from api.scenario import Scenario, ScenarioError, founding_scenario, load_scenario
from api.settings import Settings
from api.wiring import open_log
from domain.errors import BatchRefused, ConcordError
from domain.log import CoordinationLog

app = typer.Typer(help="Concord: an auditable coordination log for networks of states.",
                  no_args_is_help=True, add_completion=False)
console = Console()
errors = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Data directory (default: $CONCORD_DATA_DIR or ./concord-data)."
    ),
]


def _settings(data_dir: Path | None) -> Settings:
    return Settings(data_dir=data_dir) if data_dir is not None else Settings()


def _fail(message: str) -> typer.Exit:
    errors.print(f"[bold red]error:[/] {message}", highlight=False)
    return typer.Exit(code=1)


def record_scenario(log: CoordinationLog, scenario: Scenario, recorded_by: str) -> tuple[int, bool]:
    """Record a scenario as one atomic batch, once: returns (entries, whether newly recorded).

    The batch's idempotency key is the digest of the file, so recording the same file again
    appends nothing.
    """
    key = f"scenario-{scenario.sha256[:32]}"
    replay = bool(log.prior_results([(recorded_by, key)]))
    if not replay and log.last_position() > 0 and recorded_by == "concord-demo":
        raise ConcordError(
            f"this data directory already holds a log of {log.last_position()} entries; "
            "the demo records into a fresh one: pass --data-dir with a new directory"
        )
    envelopes = log.submit_batch(scenario.submissions, recorded_by=recorded_by,
                                 idempotency_key=key)
    return len(envelopes), not replay


@app.command()
def demo(data_dir: DataDir = None) -> None:
    """Record the RELACOPAZ founding example into a fresh data directory and print the log."""
    settings = _settings(data_dir)
    scenario = founding_scenario()
    with open_log(settings) as log:
        try:
            count, new = record_scenario(log, scenario, "concord-demo")
        except ConcordError as e:
            raise _fail(str(e)) from None
        console.print(log_table(log.read(limit=count), f"RELACOPAZ: the founding example "
                                f"({count} entries in {settings.sqlite_path})"))
    console.print(
        ("Recorded" if new else "Already recorded, nothing appended:")
        + f" {count} entries. The scenario's notes on its sources:",
        highlight=False,
    )
    for comment in scenario.comments:
        console.print(f"  {comment}", highlight=False, style="dim")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default 127.0.0.1).")]
    = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 8000).")] = None,
    data_dir: DataDir = None,
    demo_data: Annotated[bool, typer.Option(
        "--demo", help="First record the RELACOPAZ founding example (into a fresh log).")]
    = False,
) -> None:
    """Serve the HTTP API (docs at /docs) with uvicorn."""
    import uvicorn

    from api.app import create_app
    from api.observe import configure_logging
    from api.runtime import tune_runtime

    overrides: dict[str, object] = {}
    if host is not None:
        overrides["host"] = host
    if port is not None:
        overrides["port"] = port
    if data_dir is not None:
        overrides["data_dir"] = data_dir
    settings = Settings(**overrides)  # type: ignore[arg-type]
    if demo_data:
        with open_log(settings) as log:
            try:
                count, new = record_scenario(log, founding_scenario(), "concord-demo")
            except ConcordError as e:
                raise _fail(str(e)) from None
        errors.print(f"{'Recorded' if new else 'Already recorded:'} the founding example, "
                     f"{count} entries, in {settings.sqlite_path}", highlight=False)
    configure_logging(settings.log_level)
    errors.print(f"Concord serving {settings.sqlite_path} on http://{settings.host}:"
                 f"{settings.port} (API docs at /docs)", highlight=False)
    tune_runtime()
    uvicorn.run(create_app(settings), host=settings.host, port=settings.port,
                log_config=None, access_log=False, proxy_headers=False,
                timeout_graceful_shutdown=5)


@app.command()
def record(
    file: Annotated[
        Path, typer.Argument(help="JSON Lines of submissions ('comment' lines allowed).")
    ],
    recorded_by: Annotated[str, typer.Option("--recorded-by", help="Name recorded on each entry.")],
    data_dir: DataDir = None,
) -> None:
    """Record a file of submissions as one atomic batch; the same file again adds nothing."""
    try:
        scenario = load_scenario(file)
    except (OSError, ScenarioError) as e:
        raise _fail(str(e)) from None
    with open_log(_settings(data_dir)) as log:
        try:
            count, new = record_scenario(log, scenario, recorded_by)
        except BatchRefused as e:
            raise _fail(f"nothing was recorded: submission {e.index + 1} of {file.name} was "
                        f"refused: {e.cause}") from None
        except ConcordError as e:
            raise _fail(f"nothing was recorded: {e}") from None
    done = "Recorded" if new else "Already recorded, nothing appended:"
    console.print(f"{done} {count} entries.")


@app.command("log")
def show_log(
    data_dir: DataDir = None,
    after: Annotated[int, typer.Option(help="Show entries after this position.")] = 0,
    limit: Annotated[int, typer.Option(help="Show at most this many entries.")] = 100,
    type_: Annotated[
        list[str] | None, typer.Option("--type", help="Only entries of this type.")
    ] = None,
) -> None:
    """Print the log as a table."""
    with open_log(_settings(data_dir)) as log:
        try:
            entries = log.read(after=after, limit=limit, types=type_ or ())
        except ConcordError as e:
            raise _fail(str(e)) from None
        console.print(log_table(entries, f"Concord log ({log.last_position()} entries)"))


def main() -> None:
    """Entry point of the `concord` script."""
    app()
