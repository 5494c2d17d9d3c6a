"""Recording from the command line: the founding demo, a file of submissions; and the log
printed as a table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from concord.api.audit.verify import entries
from concord.api.cli.common import DataDir, console, fail, settings_from
from concord.api.cli.render import log_table
from concord.api.scenario import Scenario, ScenarioError, founding_scenario, load_scenario
from concord.api.wiring import Concord, open_log
from concord.domain.codes import state_name
from concord.domain.errors import BatchRefused, ConcordError
from concord.log.application import CoordinationLog

CLI = "cli:"  # what entries recorded from the command line are recorded by: cli:NAME
DEMO_RECORDER = f"{CLI}concord-demo"


def cli_recorder(name: str) -> str:
    """The name the command line records as: `cli:NAME`, which no API key can take (a key's
    name holds no colon); ConcordError if NAME is not a name."""
    from concord.api.keys import NAME_PATTERN

    if not NAME_PATTERN.fullmatch(name):
        raise ConcordError(f"--recorded-by: {name!r} must be 1 to 64 letters, digits, '.', "
                           f"'_', '@' or '-', starting with a letter or digit; it is recorded "
                           f"as {CLI}NAME")
    return CLI + name


def record_scenario(log: CoordinationLog, scenario: Scenario, recorded_by: str,
                    fresh: bool = False) -> tuple[int, bool]:
    """Record a scenario as one atomic batch, once: returns (entries, whether newly recorded).

    The batch's idempotency key is the digest of the file, in the one scope every
    command-line recorder shares, so recording the same file again appends nothing whatever
    the name. With `fresh`, a log holding anything else is refused.
    """
    from concord.log.writer import idempotency_scope

    key = f"scenario-{scenario.sha256[:32]}"
    replay = bool(log.prior_results([(idempotency_scope(recorded_by), key)]))
    end = log.last_position()
    if not replay and end > 0 and fresh:
        raise ConcordError(
            f"nothing was appended: this log already holds {end} {entries(end)} other than "
            "the founding example, and the demo records only into an empty log; pass "
            "--data-dir with a new directory (or --database-url with an empty database)")
    envelopes = log.submit_batch(scenario.submissions, recorded_by=recorded_by,
                                 idempotency_key=key)
    return len(envelopes), not replay


def demo(data_dir: DataDir = None) -> None:
    """Record the RELACOPAZ founding example into a fresh data directory and print the log."""
    settings = settings_from(data_dir)
    scenario = founding_scenario()
    with open_log(settings) as log:
        try:
            count, new = record_scenario(log, scenario, DEMO_RECORDER, fresh=True)
        except ConcordError as e:
            raise fail(str(e)) from None
        console.print(log_table(log.read(limit=count), f"RELACOPAZ: the founding example "
                                f"({count} {entries(count)} in {settings.where})"))
    if new:
        console.print(f"Recorded {count} {entries(count)}. The scenario's notes on its "
                      "sources:", highlight=False)
    else:
        console.print(f"Already recorded, nothing appended: this log holds the founding "
                      f"example's {count} {entries(count)} already (running the demo again "
                      "only prints them). The scenario's notes on its sources:",
                      highlight=False, soft_wrap=True)
    for comment in scenario.comments:
        console.print(f"  {comment}", highlight=False, style="dim")
    with Concord(settings, keys=False) as concord:
        _print_read_models(concord)


def _print_read_models(concord: Concord) -> None:
    """RELACOPAZ's members today, the Buenos Aires signatories, the last ten decisions."""
    from datetime import UTC, datetime

    from concord.projections.declarations import declaration
    from concord.projections.history import Query, history
    from concord.projections.membership import members
    from concord.projections.registry import PROJECTIONS, live
    from concord.projections.runner import catch_up

    log, store = concord.log, concord.store
    catch_up(log, store, [live(store, name) for name in PROJECTIONS])
    end, reader = log.last_position(), store.reader()
    today = datetime.now(UTC).date().isoformat()
    found = members(reader, "RELACOPAZ", today, end, None, store.suffix("membership"))
    console.print(f"\n[bold]RELACOPAZ's members today[/] ({len(found)}): "
                  + ", ".join(state_name(m.state) for m in found), highlight=False)
    ba = declaration(reader, "BUENOS-AIRES-2023", store.suffix("declarations"))
    signed = sorted(s["state"] for s in ba["signed"]) if ba else []
    console.print(f"[bold]Signatories of the Buenos Aires Declaration[/] ({len(signed)}): "
                  + ", ".join(state_name(s) for s in signed), highlight=False)
    latest = history(reader, Query(after=max(0, end - 10), limit=10), end,
                     store.suffix("history"))
    console.print("[bold]The last ten decisions:[/]")
    for entry in latest:
        console.print(f"  {entry['position']:>4}  {entry['effective_date']}  "
                      f"{entry['summary']}", highlight=False)


def record(
    file: Annotated[
        Path, typer.Argument(help="JSON Lines of submissions ('comment' lines allowed).")
    ],
    recorded_by: Annotated[str, typer.Option("--recorded-by", help=(
        "Who records it: each entry carries cli:NAME, a name no API key can have."))],
    data_dir: DataDir = None,
) -> None:
    """Record a file of submissions as one atomic batch; the same file again adds nothing."""
    try:
        scenario = load_scenario(file)
    except (OSError, ScenarioError) as e:
        raise fail(str(e)) from None
    try:
        recorder = cli_recorder(recorded_by)
    except ConcordError as e:
        raise fail(str(e)) from None
    with open_log(settings_from(data_dir)) as log:
        try:
            count, new = record_scenario(log, scenario, recorder)
        except BatchRefused as e:
            raise fail(f"nothing was recorded: submission {e.index + 1} of {file.name} was "
                        f"refused: {e.cause}") from None
        except ConcordError as e:
            raise fail(f"nothing was recorded: {e}") from None
    if new:
        console.print(f"Recorded {count} {entries(count)} as {recorder}.", highlight=False)
    else:
        verb = "is" if count == 1 else "are"
        console.print(f"Already recorded, nothing appended: this file's {count} "
                      f"{entries(count)} {verb} in the log already (recorded from the command "
                      "line, under whatever name).", highlight=False, soft_wrap=True)


def show_log(
    data_dir: DataDir = None,
    after: Annotated[int, typer.Option(help="Show entries after this position.")] = 0,
    limit: Annotated[int, typer.Option(help="Show at most this many entries.")] = 100,
    type_: Annotated[
        list[str] | None, typer.Option("--type", help="Only entries of this type.")
    ] = None,
) -> None:
    """Print the log as a table."""
    with open_log(settings_from(data_dir)) as log:
        try:
            found = log.read(after=after, limit=limit, types=type_ or ())
        except ConcordError as e:
            raise fail(str(e)) from None
        end = log.last_position()
        console.print(log_table(found, f"Concord log ({end} {entries(end)})"))
