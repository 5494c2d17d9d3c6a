"""Auditing: exporting the log, saving a signed checkpoint, verifying the log against them."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from concord.api.audit.verify import entries
from concord.api.cli.common import DataDir, console, errors, fail, settings_from
from concord.api.settings import Settings
from concord.api.wiring import open_log

if TYPE_CHECKING:
    from concord.api.audit.readonly import ReadOnlyLog
    from concord.api.audit.verify import Report
    from concord.tlog.notes import Verifier
    from concord.tlog.policy import Policy


Server = Annotated[str | None, typer.Option(
    "--server", help="A Concord server's base URL: https://host, or host[:port] (http on "
    "localhost and 127.x, https elsewhere).", show_default=False)]
Token = Annotated[str | None, typer.Option(envvar="CONCORD_TOKEN",
                                           help="An API key, if reads need one.")]


def _server(given: str) -> str:
    from concord.api.audit.client import server_url

    try:
        return server_url(given)
    except ValueError as e:
        raise fail(f"--server: {e}") from None


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

    from concord.api.audit.client import server_entries

    base = _server(server) if server is not None else None
    with contextlib.ExitStack() as stack:
        if base is None:
            log = stack.enter_context(open_log(settings_from(data_dir)))
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
            raise fail(f"export stopped after {written} {entries(written)}: {e}") from None
    errors.print(f"Exported {written} {entries(written)}"
                 + (f" from {base}" if base else "") + (f" to {out}." if out else "."),
                 highlight=False)


def checkpoint(
    server: Annotated[str, typer.Option(help="The Concord server's base URL (https://host, "
                                        "or host[:port]).")],
    out: Annotated[Path, typer.Option(help="Where to save the signed checkpoint.")],
    token: Token = None,
) -> None:
    """Save the server's current signed checkpoint, to verify the log against later."""
    from concord.api.audit.client import fetch

    try:
        note = fetch(f"{_server(server)}/v1/log/checkpoint", token)
    except OSError as e:
        raise fail(str(e)) from None
    out.write_bytes(note)
    lines = note.decode(errors="replace").splitlines()
    size = lines[1] if len(lines) > 1 else "?"
    console.print(f"Saved the checkpoint of {size} {'entry' if size == '1' else 'entries'} "
                  f"({lines[0] if lines else '?'}) to {out}.", highlight=False)


def verify(
    export: Annotated[Path | None, typer.Option(
        help="An export (concord export) to check against --checkpoint.")] = None,
    checkpoint: Annotated[Path | None, typer.Option(
        help="A signed checkpoint saved earlier (concord checkpoint).")] = None,
    receipt: Annotated[Path | None, typer.Option(
        help="A receipt: a .tlog-proof file, or the answer to POST /v1/events?proof=true "
             "saved as JSON.")] = None,
    key: Annotated[str | None, typer.Option(
        help="The log's verifier key (as published at /v1/log/public-key), or a file "
             "holding it.")] = None,
    server: Annotated[str | None, typer.Option(
        help="With --checkpoint: check that the server's log only grew since; with --export "
             "too: locate an edited entry with the server's proofs. https://host, or "
             "host[:port].")] = None,
    witness: Annotated[list[str] | None, typer.Option(
        help="A witness whose cosignatures count (its cosignature verifier key, or a file "
             "holding it); repeat for each.", show_default=False)] = None,
    quorum: Annotated[int | None, typer.Option(
        min=0, help="How many of the --witness keys must have cosigned a checkpoint for it "
                    "to count (default: all of them).", show_default=False)] = None,
    policy: Annotated[Path | None, typer.Option(
        help="A C2SP tlog-policy file (log, witness, group and quorum lines) instead of "
             "--witness and --quorum; its log lines may stand for --key.")] = None,
    tiles: Annotated[str | None, typer.Option(
        help="A tile log (C2SP tlog-tiles) to check against its own checkpoint: its prefix "
             "URL (a server's http(s)://host/v1/log, a static copy's URL) or a directory "
             "(concord export-tiles); with --checkpoint, check too that it extends that "
             "one.", show_default=False)] = None,
    data_dir: DataDir = None,
    token: Token = None,
) -> None:
    """Verify the log: an export offline (--export --checkpoint --key), growth since a
    checkpoint (--checkpoint --server --key), a tile log (--tiles URL|DIR --key
    [--checkpoint]), a receipt or .tlog-proof file (--receipt --key), or a data directory
    (--data-dir [--key]). With --witness [--quorum] or --policy, a checkpoint counts only if
    enough witnesses cosigned it."""
    from concord.api import audit

    try:
        verifier = audit.read_verifier(key) if key else None
    except (OSError, ValueError) as e:
        raise fail(f"--key: {e}") from None
    demanded = _policy(witness or [], quorum, policy)
    if verifier is None and demanded is not None and demanded.logs:
        verifier = demanded.logs[0] if len(demanded.logs) == 1 else None
    base = _server(server) if server is not None else None
    if tiles is not None:
        others = [name for name, given in [("--export", export), ("--server", server),
                                           ("--receipt", receipt), ("--data-dir", data_dir)]
                  if given is not None]
        if others:
            raise fail(f"--tiles checks a tile log on its own: it does not combine with "
                       f"{', '.join(others)}")
        if verifier is None and (demanded is None or not demanded.logs):
            raise fail("--tiles needs --key (or a --policy with a log line)")
        try:
            source = audit.tile_source(tiles, token)
        except ValueError as e:
            raise fail(f"--tiles: {e}") from None
        saved = _read(checkpoint, "--checkpoint").decode(errors="replace") if checkpoint else None
        report = audit.verify_tiles(source, verifier, saved, demanded)
    elif receipt is not None:
        if verifier is None and (demanded is None or not demanded.logs):
            raise fail("--receipt needs --key (or a --policy with a log line)")
        report = audit.verify_receipt(_read(receipt, "--receipt"), verifier, demanded)
    elif export is not None or base is not None:
        if checkpoint is None or verifier is None:
            raise fail("--export and --server need --checkpoint and --key")
        note = _read(checkpoint, "--checkpoint").decode(errors="replace")
        if export is not None:
            locate = audit.server_consistency(base, token) if base else None
            try:
                with export.open("rb") as lines:
                    report = audit.verify_export(lines, note, verifier, consistency=locate,
                                                 policy=demanded)
            except OSError as e:
                raise fail(f"--export: {e}") from None
        else:
            assert base is not None
            report, _ = audit.verify_growth(note, base, verifier, token, demanded)
    else:
        if demanded is not None:
            raise fail("--witness, --quorum and --policy apply to a checkpoint you are given "
                       "(--export, --server, --receipt, --tiles), not to --data-dir")
        report = _verify_data_dir(settings_from(data_dir), verifier)
    for line in report.notes:
        console.print(line, highlight=False, soft_wrap=True)
    if not report.ok:
        for problem in report.problems:
            errors.print(f"[bold red]FAILED:[/] {problem}", highlight=False, soft_wrap=True)
        if report.first_bad_position is not None:
            errors.print(f"first bad position: {report.first_bad_position}", highlight=False)
        if report.first_bad_leaf is not None:
            errors.print(f"first bad leaf index: {report.first_bad_leaf}", highlight=False)
        raise typer.Exit(code=1)
    signed = (export is not None or tiles is not None) and receipt is None
    console.print(_verified(report, signed), highlight=False, soft_wrap=True)


def _policy(witnesses: list[str], quorum: int | None, path: Path | None) -> Policy | None:
    """The policy the options ask for: --policy's file, or --quorum of the --witness keys;
    None if they ask for none."""
    from concord.tlog.cosignature import CosignatureVerifier
    from concord.tlog.notes import NoteError
    from concord.tlog.policy import Policy

    if path is not None:
        if witnesses or quorum is not None:
            raise fail("--policy replaces --witness and --quorum: give one or the other")
        try:
            return Policy.parse(_read(path, "--policy").decode("utf-8"))
        except (UnicodeDecodeError, NoteError) as e:
            raise fail(f"--policy {path}: {e}") from None
    if not witnesses:
        if quorum:
            raise fail("--quorum needs the --witness keys it counts")
        return None
    keys = []
    for given in witnesses:
        text = given.strip()
        try:
            if "+" not in text or (len(text) < 4096 and Path(text).is_file()):
                text = Path(text).read_text().strip()
            keys.append(CosignatureVerifier.parse(text))
        except (OSError, NoteError, ValueError) as e:
            raise fail(f"--witness {given}: {e}") from None
    try:
        return Policy.of(keys, len(keys) if quorum is None else quorum)
    except NoteError as e:
        raise fail(f"--quorum: {e}") from None


def _read(path: Path, option: str) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise fail(f"{option}: {e.strerror or e}: {path}") from None


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
        raise fail(f"{e}; nothing was written") from None


def _own_verifier(settings: Settings) -> Verifier | None:
    from concord.tlog.notes import NoteError, Signer

    try:
        return Signer.parse(settings.signing_key_path.read_text().strip()).verifier()
    except (OSError, NoteError, ValueError) as e:
        raise fail(f"the signing key {settings.signing_key_path}: {e}; pass --key") from None


def _check_opened(log: ReadOnlyLog, verifier: Verifier | None, postgres: bool) -> Report:
    from concord.api import audit
    from concord.api.audit.readonly import Unreadable
    from concord.api.audit.recheck import compare_read_models
    from concord.api.checkpoints import CHECKPOINTS_TABLE
    from concord.projections.store import TABLES_TABLE
    from concord.projections.tree import LEAVES_TABLE, Transparency

    tables = log.tables()
    if log.events_table not in tables:
        raise Unreadable(f"the database has no table {log.events_table}, where the log's entries "
                         "are kept: it is not a Concord log, or an incomplete copy")
    row = (log.execute(f"SELECT suffix FROM {TABLES_TABLE} WHERE name=?", (Transparency.name,))
           .fetchone() if TABLES_TABLE in tables else None)
    suffix = str(row[0]) if row else ""
    if f"{LEAVES_TABLE}{suffix}" not in tables:
        report = audit.Report()
        end = log.read(0, 1)
        if end:
            report.fail(f"the database has no Merkle tree (table {LEAVES_TABLE}{suffix}): an "
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
