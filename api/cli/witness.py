"""Running a witness (C2SP tlog-witness), for a member state: `concord witness keygen`
creates its key, `concord witness serve` cosigns the logs it is given the keys of."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from concord.api.cli.common import errors, fail

witness_app = typer.Typer(help="Run a witness that cosigns a log's checkpoints only when they "
                          "extend the last one it cosigned (for a member state).",
                          no_args_is_help=True)


@witness_app.command("keygen")
def keygen(
    name: Annotated[str, typer.Option(help=(
        "The witness's name, a schema-less URL such as witness.example.org/relacopaz "
        "(no spaces or '+')."), show_default=False)],
    out: Annotated[Path, typer.Option(help="The key file to create, mode 0600; an existing "
                                      "file is never overwritten.", show_default=False)],
) -> None:
    """Create a witness key and print its verifier key (name+id+key) on stdout."""
    from concord.api.keyfile import create_cosigner
    from concord.tlog.notes import NoteError

    try:
        cosigner = create_cosigner(out, name)
    except NoteError as e:
        raise fail(f"--name: {e}") from None
    except FileExistsError:
        raise fail(f"--out: {out} exists; a witness key is never overwritten") from None
    except OSError as e:
        raise fail(f"--out: {e.strerror or e}: {out}") from None
    print(cosigner.verifier().key_string())
    errors.print(f"Wrote the witness key {name} to {out} (mode 0600: keep it secret, and back "
                 "it up). The line above is its verifier key, for the secretariat.",
                 highlight=False, markup=False, soft_wrap=True)


@witness_app.command("serve")
def serve(
    key: Annotated[Path, typer.Option(help="The witness key file (concord witness keygen).",
                                      show_default=False)],
    log: Annotated[list[str], typer.Option(
        "--log", help="A log's verifier key (as at its /v1/log/public-key), or a file holding "
        "one; the key's name is the log's origin. Repeat it for more logs, or for a second "
        "key of one log.", show_default=False)],
    state: Annotated[Path | None, typer.Option(
        help="The witness's state file (SQLite; default: beside the key, KEY with the "
             "suffix .state.db).", show_default=False)] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port to listen on.")] = 8080,
    prefix: Annotated[str, typer.Option(help="URL prefix of add-checkpoint and of the "
                                        "checkpoints it serves.")] = "/",
) -> None:
    """Serve the witness over HTTP (uvicorn) until SIGTERM or SIGINT."""
    import logging
    import signal
    import sqlite3

    import uvicorn

    from concord.api.audit import read_verifier
    from concord.api.keyfile import load_cosigner
    from concord.api.witness.app import (
        KEEP_ALIVE_SECONDS,
        MAX_CONNECTIONS,
        create_app,
        normalize_prefix,
    )
    from concord.api.witness.cosigning import Witness, key_label
    from concord.api.witness.state import WitnessState
    from concord.tlog.notes import NoteError, Verifier

    try:
        cosigner = load_cosigner(key)
    except FileNotFoundError:
        raise fail(f"--key: no such file: {key} (concord witness keygen creates one)") from None
    except (OSError, NoteError) as e:
        raise fail(f"--key: {e}") from None
    verifiers: list[Verifier] = []
    for given in log:
        try:
            verifiers.append(read_verifier(given))
        except (OSError, ValueError) as e:
            raise fail(f"--log {given}: {e}") from None
    try:
        base = normalize_prefix(prefix)
    except ValueError as e:
        raise fail(f"--prefix: {e}") from None
    state_path = state if state is not None else key.with_suffix(".state.db")
    if state_path.resolve() == key.resolve():
        raise fail("--state: the state file cannot be the key file")
    try:
        witness_state = WitnessState(state_path)
    except (OSError, sqlite3.Error, ValueError) as e:
        raise fail(f"--state: {state_path}: {e}") from None
    try:
        witness = Witness(cosigner, verifiers, witness_state)
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: "
                            "%(message)s", force=True)
        url = f"http://{host}:{port}{base}"
        logs = "\n".join(f"  {origin} (key{'s' if len(keys) > 1 else ''} "
                         f"{', '.join(key_label(k) for k in keys)})"
                         for origin, keys in witness.logs.items())
        errors.print(f"Witness {cosigner.name} cosigning the checkpoints of\n{logs}\n"
                     f"on {url}/add-checkpoint, its state in {state_path}.\n"
                     f"Its verifier key: {cosigner.verifier().key_string()}",
                     highlight=False, markup=False, soft_wrap=True)
        # uvicorn shuts down gracefully on SIGTERM and SIGINT, then raises the signal again
        # for the handler it found installed: this one, so that the state file is closed and
        # the process exits with status 0 (also on a signal that comes before uvicorn's).
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, _exit)
        uvicorn.run(create_app(witness, prefix), host=host, port=port, log_config=None,
                    access_log=False, proxy_headers=False, timeout_graceful_shutdown=5,
                    limit_concurrency=MAX_CONNECTIONS, timeout_keep_alive=KEEP_ALIVE_SECONDS)
    finally:
        witness_state.close()


def _exit(signum: int, frame: object) -> None:
    raise SystemExit(0)
