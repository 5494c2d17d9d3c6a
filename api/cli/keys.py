"""API keys from the command line: `concord keys create`, `list` and `revoke`."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from concord.api.cli.common import DataDir, console, fail, settings_from
from concord.api.keys import KeyError_, KeyStore, Role
from concord.api.wiring import open_keys

keys_app = typer.Typer(help="Manage API keys (they live in the log's database).",
                       no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Option(help="Recorded as recorded_by; never reused.")],
    role: Annotated[str, typer.Option(help="reader, recorder or admin.")],
    data_dir: DataDir = None,
) -> None:
    """Create a key and print its token (shown only this once)."""
    if role not in Role.__members__:
        raise fail(f"role: {role!r} is not one of reader, recorder, admin")
    with _key_store(data_dir) as store:
        try:
            key, token = store.create(name, Role[role])
        except KeyError_ as e:
            raise fail(str(e)) from None
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
            raise fail(str(e)) from None
    console.print(f"Revoked key {key.name} at {key.revoked_at}.", highlight=False)


@contextmanager
def _key_store(data_dir: Path | None) -> Iterator[KeyStore]:
    store = open_keys(settings_from(data_dir))
    try:
        yield store
    finally:
        store.close()
