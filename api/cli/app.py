"""The `concord` command line."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from concord.api.audit.verify import entries
from concord.api.cli.render import log_table
from concord.api.keys import KeyError_, KeyStore, Role
from concord.api.scenario import Scenario, ScenarioError, founding_scenario, load_scenario
from concord.api.settings import Settings
from concord.api.wiring import open_database, open_log
from concord.domain.codes import state_name
from concord.domain.errors import BatchRefused, ConcordError
from concord.log.application import CoordinationLog

if TYPE_CHECKING:
    from concord.api.audit.readonly import ReadOnlyLog
    from concord.api.audit.verify import Report
    from concord.tlog.notes import Verifier

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


DatabaseUrl = Annotated[
    str | None,
    typer.Option("--database-url", help=(
        "postgresql://user@host:port/dbname: the log in PostgreSQL (default: "
        "$CONCORD_DATABASE_URL, else SQLite in the data directory)."), show_default=False),
]

_given: dict[str, object] = {}


@app.callback()
def options(database_url: DatabaseUrl = None) -> None:
    """Concord: an auditable coordination log for networks of states."""
    _given.clear()
    if database_url is not None:
        _given["database_url"] = database_url


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


@app.command()
def demo(data_dir: DataDir = None) -> None:
    """Record the RELACOPAZ founding example into a fresh data directory and print the log."""
    settings = _settings(data_dir)
    scenario = founding_scenario()
    with open_log(settings) as log:
        try:
            count, new = record_scenario(log, scenario, DEMO_RECORDER, fresh=True)
        except ConcordError as e:
            raise _fail(str(e)) from None
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
    with open_log(settings) as log:
        _print_read_models(log, settings)


def _print_read_models(log: CoordinationLog, settings: Settings) -> None:
    """RELACOPAZ's members today, the Buenos Aires signatories, the last ten decisions."""
    from datetime import UTC, datetime

    from concord.projections.declarations import declaration
    from concord.projections.history import Query, history
    from concord.projections.membership import members
    from concord.projections.registry import PROJECTIONS, live
    from concord.projections.runner import catch_up
    from concord.projections.store import ProjectionStore

    store = ProjectionStore(open_database(settings))
    try:
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
    finally:
        store.close()


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on (default 127.0.0.1).")]
    = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on (default 8000).")] = None,
    data_dir: DataDir = None,
    database_url: DatabaseUrl = None,
    demo_data: Annotated[bool, typer.Option(
        "--demo", help="First record the RELACOPAZ founding example (into a fresh log).")]
    = False,
    workers: Annotated[int, typer.Option(min=1, max=64, help=(
        "API processes, each with its own writer. With more than one, the read models run "
        "in one process of their own (concord project), started here unless "
        "--no-projections."))] = 1,
    no_projections: Annotated[bool, typer.Option(
        "--no-projections", help="Do not keep the read models up here: a `concord project` "
        "process elsewhere does.")] = False,
) -> None:
    """Serve the HTTP API (docs at /docs) with uvicorn."""
    import os
    import subprocess
    import sys

    import uvicorn

    from concord.api.http.app import create_app
    from concord.api.http.observe import configure_logging
    from concord.api.runtime import tune_runtime

    separate = workers > 1 or no_projections
    settings = _settings(data_dir, host=host, port=port, database_url=database_url,
                         projections=False if separate else None)
    url = f"http://{settings.host}:{settings.port}"
    with open_log(settings) as log:
        if demo_data:
            try:
                count, new = record_scenario(log, founding_scenario(), DEMO_RECORDER,
                                             fresh=True)
            except ConcordError as e:
                raise _fail(str(e)) from None
            errors.print(f"{'Recorded' if new else 'Already recorded, nothing appended:'} the "
                         f"founding example, {count} {entries(count)}, in {settings.where}",
                         highlight=False)
        store = KeyStore(open_database(settings))
        try:
            if not store.has_admin():
                _first_key(store, "admin", Role.admin, url,
                           "Created the first admin key (none existed)")
            if demo_data and not any(k.name == "demo-recorder" for k in store.list()):
                _first_key(store, "demo-recorder", Role.recorder, url,
                           "Created a recorder key for the demo")
        finally:
            store.close()
    configure_logging(settings.log_level)
    errors.print(f"Concord serving {settings.where} on http://{settings.host}:"
                 f"{settings.port} (API docs at /docs)"
                 + (f" with {workers} API processes" if workers > 1 else ""), highlight=False)
    tune_runtime()
    common = {"host": settings.host, "port": settings.port, "log_config": None,
              "access_log": False, "proxy_headers": False, "timeout_graceful_shutdown": 5}
    if workers == 1:
        uvicorn.run(create_app(settings), **common)  # type: ignore[arg-type]
        return
    # Each worker builds its app from the environment: pass the settings on there.
    os.environ.update(settings.as_environment())
    projector = None if no_projections else subprocess.Popen(
        [sys.argv[0], "project"], env=os.environ.copy())
    try:
        uvicorn.run("concord.api.http.app:from_environment", factory=True, workers=workers,
                    **common)  # type: ignore[arg-type]
    finally:
        if projector is not None:
            projector.terminate()
            projector.wait(30)


@app.command()
def project(data_dir: DataDir = None, database_url: DatabaseUrl = None) -> None:
    """Keep the read models up with the log, in this process, until stopped: for API
    processes started with --no-projections (or --workers). On PostgreSQL it is woken by
    every commit (LISTEN/NOTIFY); on SQLite it polls every second."""
    import signal
    import threading

    from concord.api.http.observe import configure_logging
    from concord.api.runtime import tune_runtime
    from concord.projections.db import listen
    from concord.projections.locks import claim_projections, still_claimed
    from concord.projections.registry import PROJECTIONS, live
    from concord.projections.runner import ProjectionRunner
    from concord.projections.store import ProjectionStore

    settings = _settings(data_dir, database_url=database_url)
    configure_logging(settings.log_level)
    tune_runtime()
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    with open_log(settings) as log:
        store = ProjectionStore(open_database(settings))
        claim = claim_projections(store.database)
        if claim is None:
            errors.print("Another process keeps the read models up; standing by to take "
                         "over", highlight=False)
        while claim is None and not stop.wait(1.0):
            claim = claim_projections(store.database)
        if claim is None:
            store.close()
            return
        runner = ProjectionRunner(log, store, [live(store, n) for n in PROJECTIONS])
        runner.start()
        listen(store.database, log.commit_channel, runner.wake, stop)
        errors.print(f"Concord keeping {', '.join(PROJECTIONS)} up with {settings.where}",
                     highlight=False)
        lost = False
        try:
            while not stop.wait(2.0):
                if not still_claimed(claim):
                    lost = True  # a standby may already have taken over: stop at once
                    break
        finally:
            runner.stop()
            store.close()
            claim.close()
        if lost:
            raise _fail("lost the database session that held the right to run the "
                        "projections; exiting so that a supervisor restarts this process")


def _first_key(store: KeyStore, name: str, role: Role, url: str, why: str) -> None:
    taken = {k.name for k in store.list()}
    unique = next(n for n in (name, *(f"{name}-{i}" for i in range(2, 1000))) if n not in taken)
    key, token = store.create(unique, role)
    errors.print(
        f"{why}. Its token is shown this once and stored only as a hash:\n"
        f"  name {key.name}, role {key.role.name}\n"
        f"  token {token}\n"
        f"Use it as: {_example(role, token, url)}",
        highlight=False, soft_wrap=True,
    )


def _example(role: Role, token: str, url: str) -> str:
    """A request the role may make (api/auth.py): the keys for an admin, an append for a
    recorder, a read for a reader."""
    auth = f"curl -H 'Authorization: Bearer {token}'"
    if role is Role.admin:
        return f"{auth} {url}/v1/keys"
    if role is Role.recorder:
        return (f"{auth} -H 'Content-Type: application/json' --data @entry.json "
                f"{url}/v1/events  (entry.json: one submission, as in {url}/docs)")
    return f"{auth} {url}/v1/events"


keys_app = typer.Typer(help="Manage API keys (they live in the log's database).",
                       no_args_is_help=True)
app.add_typer(keys_app, name="keys")


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Recorded as recorded_by; never reused.")],
    role: Annotated[str, typer.Option(help="reader, recorder or admin.")],
    data_dir: DataDir = None,
) -> None:
    """Create a key and print its token (shown only this once)."""
    if role not in Role.__members__:
        raise _fail(f"role: {role!r} is not one of reader, recorder, admin")
    with _key_store(data_dir) as store:
        try:
            key, token = store.create(name, Role[role])
        except KeyError_ as e:
            raise _fail(str(e)) from None
    console.print(f"Created key {key.name} ({key.role.name}). Its token, shown only this once:",
                  highlight=False)
    print(token)


@keys_app.command("list")
def keys_list(data_dir: DataDir = None) -> None:
    """List the keys, revoked ones too (never their tokens)."""
    with _key_store(data_dir) as store:
        table = Table(title="API keys", title_justify="left")
        for column in ("name", "role", "created", "revoked"):
            table.add_column(column)
        for key in store.list():
            table.add_row(key.name, key.role.name, key.created_at, key.revoked_at or "")
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(name: Annotated[str, typer.Argument(help="The key's name.")],
                data_dir: DataDir = None) -> None:
    """Revoke a key; it stops working with its next request."""
    with _key_store(data_dir) as store:
        try:
            key = store.revoke(name)
        except (LookupError, KeyError_) as e:
            raise _fail(str(e)) from None
    console.print(f"Revoked key {key.name} at {key.revoked_at}.", highlight=False)


@contextmanager
def _key_store(data_dir: Path | None) -> Iterator[KeyStore]:
    store = KeyStore(open_database(_settings(data_dir)))
    try:
        yield store
    finally:
        store.close()


@app.command()
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
        raise _fail(str(e)) from None
    try:
        recorder = cli_recorder(recorded_by)
    except ConcordError as e:
        raise _fail(str(e)) from None
    with open_log(_settings(data_dir)) as log:
        try:
            count, new = record_scenario(log, scenario, recorder)
        except BatchRefused as e:
            raise _fail(f"nothing was recorded: submission {e.index + 1} of {file.name} was "
                        f"refused: {e.cause}") from None
        except ConcordError as e:
            raise _fail(f"nothing was recorded: {e}") from None
    if new:
        console.print(f"Recorded {count} {entries(count)} as {recorder}.", highlight=False)
    else:
        verb = "is" if count == 1 else "are"
        console.print(f"Already recorded, nothing appended: this file's {count} "
                      f"{entries(count)} {verb} in the log already (recorded from the command "
                      "line, under whatever name).", highlight=False, soft_wrap=True)


@app.command()
def rebuild(
    name: Annotated[str, typer.Argument(help="A projection's name, or 'all'.")],
    data_dir: DataDir = None,
) -> None:
    """Rebuild projections from position 0 beside the live ones, then swap them in."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn

    from concord.projections.rebuild import rebuild_many
    from concord.projections.registry import PROJECTIONS
    from concord.projections.store import ProjectionStore

    names = list(PROJECTIONS) if name == "all" else [name]
    unknown = [n for n in names if n not in PROJECTIONS]
    if unknown:
        raise _fail(f"no projection {unknown[0]!r}; there are {', '.join(PROJECTIONS)}, or all")
    with open_log(_settings(data_dir)) as log:
        store = ProjectionStore(open_database(_settings(data_dir)))
        try:
            with Progress(TextColumn("{task.description}"), BarColumn(),
                          MofNCompleteColumn(), console=console) as bar:
                # One pass over the log builds them all.
                task = bar.add_task(", ".join(names), total=log.last_position() or 1)

                def advance(done: int, end: int, task: TaskID = task) -> None:
                    bar.update(task, completed=done, total=end or 1)

                reached = rebuild_many(log, store, names, advance)
                bar.update(task, completed=reached, total=reached or 1)
        finally:
            store.close()
    console.print(f"Rebuilt {', '.join(names)}.")


Server = Annotated[str | None, typer.Option(
    "--server", help="A Concord server's base URL: https://host, or host[:port] (http on "
    "localhost and 127.x, https elsewhere).", show_default=False)]
Token = Annotated[str | None, typer.Option(envvar="CONCORD_TOKEN",
                                           help="An API key, if reads need one.")]


def _server(given: str) -> str:
    from concord.api.audit.verify import server_url

    try:
        return server_url(given)
    except ValueError as e:
        raise _fail(f"--server: {e}") from None


@app.command()
def export(
    data_dir: DataDir = None,
    after: Annotated[int, typer.Option(min=0, help="Export the entries after this position.")] = 0,
    out: Annotated[Path | None, typer.Option(help="Write to this file (default: stdout).")] = None,
    server: Server = None,
    token: Token = None,
) -> None:
    """Write the log as JSON Lines of envelopes, in order, for `concord verify --export`:
    from the data directory, or with --server from a server's API."""
    import orjson
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from concord.api.audit.verify import server_entries

    base = _server(server) if server is not None else None
    with contextlib.ExitStack() as stack:
        if base is None:
            log = stack.enter_context(open_log(_settings(data_dir)))
            total: int | None = max(log.last_position() - after, 0) or 1

            def pages() -> Iterator[Sequence[Mapping[str, Any]]]:
                position = after
                while envelopes := log.read(after=position, limit=10_000):
                    yield envelopes
                    position = envelopes[-1]["position"]
        else:
            total = None

            def pages() -> Iterator[Sequence[Mapping[str, Any]]]:
                yield from server_entries(base, token, after)
        sink = stack.enter_context(out.open("wb") if out else
                                   contextlib.nullcontext(sys.stdout.buffer))
        bar = stack.enter_context(Progress(TextColumn("export"), BarColumn(),
                                           MofNCompleteColumn(), console=errors))
        task = bar.add_task("export", total=total)
        written = 0
        try:
            for envelopes in pages():
                sink.write(b"".join(orjson.dumps(e) + b"\n" for e in envelopes))
                written += len(envelopes)
                bar.update(task, completed=written)
        except OSError as e:
            raise _fail(f"export stopped after {written} {entries(written)}: {e}") from None
    errors.print(f"Exported {written} {entries(written)}"
                 + (f" from {base}" if base else "") + (f" to {out}." if out else "."),
                 highlight=False)


@app.command()
def checkpoint(
    server: Annotated[str, typer.Option(help="The Concord server's base URL (https://host, "
                                        "or host[:port]).")],
    out: Annotated[Path, typer.Option(help="Where to save the signed checkpoint.")],
    token: Token = None,
) -> None:
    """Save the server's current signed checkpoint, to verify the log against later."""
    from concord.api.audit.verify import fetch

    try:
        note = fetch(f"{_server(server)}/v1/log/checkpoint", token)
    except OSError as e:
        raise _fail(str(e)) from None
    out.write_bytes(note)
    lines = note.decode(errors="replace").splitlines()
    size = lines[1] if len(lines) > 1 else "?"
    console.print(f"Saved the checkpoint of {size} {'entry' if size == '1' else 'entries'} "
                  f"({lines[0] if lines else '?'}) to {out}.", highlight=False)


@app.command()
def verify(
    export: Annotated[Path | None, typer.Option(
        help="An export (concord export) to check against --checkpoint.")] = None,
    checkpoint: Annotated[Path | None, typer.Option(
        help="A signed checkpoint saved earlier (concord checkpoint).")] = None,
    receipt: Annotated[Path | None, typer.Option(
        help="A receipt: the answer to POST /v1/events?proof=true, saved as JSON.")] = None,
    key: Annotated[str | None, typer.Option(
        help="The log's verifier key (as published at /v1/log/public-key), or a file "
             "holding it.")] = None,
    server: Annotated[str | None, typer.Option(
        help="With --checkpoint: check that the server's log only grew since; with --export "
             "too: locate an edited entry with the server's proofs. https://host, or "
             "host[:port].")] = None,
    data_dir: DataDir = None,
    token: Token = None,
) -> None:
    """Verify the log: an export offline (--export --checkpoint --key), growth since a
    checkpoint (--checkpoint --server --key), a receipt (--receipt --key), or a data
    directory (--data-dir [--key])."""
    from concord.api.audit import verify as audit

    try:
        verifier = audit.read_verifier(key) if key else None
    except (OSError, ValueError) as e:
        raise _fail(f"--key: {e}") from None
    base = _server(server) if server is not None else None
    if receipt is not None:
        if verifier is None:
            raise _fail("--receipt needs --key")
        report = audit.verify_receipt(_read(receipt, "--receipt"), verifier)
    elif export is not None or base is not None:
        if checkpoint is None or verifier is None:
            raise _fail("--export and --server need --checkpoint and --key")
        note = _read(checkpoint, "--checkpoint").decode(errors="replace")
        if export is not None:
            locate = audit.server_consistency(base, token) if base else None
            try:
                with export.open("rb") as lines:
                    report = audit.verify_export(lines, note, verifier, consistency=locate)
            except OSError as e:
                raise _fail(f"--export: {e}") from None
        else:
            assert base is not None
            report, _ = audit.verify_growth(note, base, verifier, token)
    else:
        report = _verify_data_dir(_settings(data_dir), verifier)
    for line in report.notes:
        console.print(line, highlight=False, soft_wrap=True)
    if not report.ok:
        for problem in report.problems:
            errors.print(f"[bold red]FAILED:[/] {problem}", highlight=False, soft_wrap=True)
        if report.first_bad_position is not None:
            errors.print(f"first bad position: {report.first_bad_position}", highlight=False)
        raise typer.Exit(code=1)
    console.print(_verified(report, export is not None and receipt is None), highlight=False,
                  soft_wrap=True)


def _read(path: Path, option: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise _fail(f"{option}: {e.strerror or e}: {path}") from None


def _verified(report: Report, against_checkpoint: bool) -> str:
    done = f"OK: {report.checked} {entries(report.checked)} verified"
    if not against_checkpoint:
        return done + "."
    done += " against the checkpoint"
    if not report.uncovered:
        return done + "."
    later = report.uncovered
    return (f"{done}; {later} later {entries(later)} {'is' if later == 1 else 'are'} not "
            "covered by it (in order, but nothing signed vouches for them: save a newer "
            "checkpoint to cover them).")


def _verify_data_dir(settings: Settings, verifier: Verifier | None) -> Report:
    """The data directory's log, tree, checkpoints and read models, read without writing."""
    from concord.api.audit.readonly import Unreadable, open_postgres, open_sqlite

    if verifier is None and settings.signing_key_path.exists():
        verifier = _own_verifier(settings)
    opened = (open_postgres(settings.database_url, settings.database_schema)
              if settings.database_url else open_sqlite(settings.sqlite_path))
    try:
        with opened as log:
            return _check_opened(log, verifier, settings.database_url is not None)
    except Unreadable as e:
        raise _fail(f"{e}; nothing was written") from None


def _own_verifier(settings: Settings) -> Verifier | None:
    from concord.tlog.notes import NoteError, Signer

    try:
        return Signer.parse(settings.signing_key_path.read_text().strip()).verifier()
    except (OSError, NoteError, ValueError) as e:
        raise _fail(f"the signing key {settings.signing_key_path}: {e}; pass --key") from None


def _check_opened(log: ReadOnlyLog, verifier: Verifier | None, postgres: bool) -> Report:
    from concord.api.audit import verify as audit
    from concord.api.audit.readonly import Unreadable
    from concord.api.audit.recheck import compare_read_models
    from concord.api.checkpoints import CHECKPOINTS_TABLE
    from concord.projections.store import TABLES_TABLE

    tables = log.tables()
    if log.events_table not in tables:
        raise Unreadable(f"the database has no table {log.events_table}, where the log's entries "
                         "are kept: it is not a Concord log, or an incomplete copy")
    row = (log.execute(f"SELECT suffix FROM {TABLES_TABLE} WHERE name='transparency'")
           .fetchone() if TABLES_TABLE in tables else None)
    suffix = str(row[0]) if row else ""
    if f"merkle_leaves{suffix}" not in tables:
        report = audit.Report()
        end = log.read(0, 1)
        if end:
            report.fail(f"the database has no Merkle tree (table merkle_leaves{suffix}): an "
                        "incomplete copy, or a log never served; `concord serve` or "
                        "`concord rebuild transparency` builds it")
        return report
    latest = None
    if CHECKPOINTS_TABLE in tables:
        found = log.execute(f"SELECT size, note FROM {CHECKPOINTS_TABLE} ORDER BY size DESC "
                            "LIMIT 1").fetchone()
        latest = None if found is None else (int(found[0]), str(found[1]))
    report = audit.verify_data_dir(log.read, log, suffix, latest, verifier)
    report.notes[:0] = log.notes
    if postgres:
        report.notes.append("the read models were not compared with a rebuild (done on "
                            "SQLite only)")
    elif report.ok:
        problems, notes = compare_read_models(log, log.read)
        report.notes.extend(notes)
        for problem in problems:
            report.fail(problem)
    return report


@app.command()
def backup(
    out: Annotated[Path, typer.Option(help="A new directory to write the backup into.")],
    data_dir: DataDir = None,
) -> None:
    """Back up the log while the server runs: SQLite's online backup of concord.db and a copy
    of the signing key (on PostgreSQL, the pg_dump command to run, and the key)."""
    from concord.api.backup import BackupError, backup_key, backup_sqlite, pg_dump_command

    settings = _settings(data_dir)
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
        raise _fail(str(e)) from None
    if key is None:
        console.print(f"No signing key at {settings.signing_key_path} to back up (none was "
                      "created yet, or CONCORD_SIGNING_KEY_FILE points elsewhere).",
                      highlight=False, soft_wrap=True)
    else:
        console.print(f"Copied the signing key to {key} (mode 0600). It is SECRET: whoever "
                      "holds it can sign checkpoints as this log. Keep the backup where only "
                      "the operator can read it.", highlight=False, soft_wrap=True)


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
            found = log.read(after=after, limit=limit, types=type_ or ())
        except ConcordError as e:
            raise _fail(str(e)) from None
        end = log.last_position()
        console.print(log_table(found, f"Concord log ({end} {entries(end)})"))


def main() -> None:
    """Entry point of the `concord` script."""
    app()
