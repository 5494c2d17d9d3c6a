"""`concord verify --data-dir` writes nothing, says what an incomplete copy lacks, checks the
read models against a rebuild; `concord backup` makes a copy it accepts."""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import stat
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from concord.api.cli.app import app
from concord.api.http.app import create_app
from concord.api.settings import Settings
from concord.api.wiring import open_log

runner = CliRunner()


def concord(*args: str | Path) -> tuple[int, str]:
    result = runner.invoke(app, [str(a) for a in args], env={"COLUMNS": "300"})
    return result.exit_code, result.output


def fingerprint(directory: Path) -> dict[str, str]:
    """Every file of the directory and the SHA-256 of its bytes."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(directory.iterdir())}


@pytest.fixture(scope="module")
def original(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A demo data directory, its read models caught up, one checkpoint issued, then
    closed (no -wal left)."""
    data = tmp_path_factory.mktemp("original") / "data"
    assert concord("demo", "--data-dir", data)[0] == 0
    with TestClient(create_app(Settings(data_dir=data))) as client:
        assert client.get("/v1/log/checkpoint", params={"min_position": 89}).status_code == 200
    db = sqlite3.connect(data / "concord.db")  # the last connection: folds the WAL in
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    for leftover in ("concord.db-wal", "concord.db-shm"):
        (data / leftover).unlink(missing_ok=True)  # empty once folded in
    return data


@pytest.fixture
def copy(original: Path, tmp_path: Path) -> Path:
    """A copy of the original data directory, for this test to change."""
    return Path(shutil.copytree(original, tmp_path / "copy"))


def test_verifying_a_clean_copy_changes_no_byte_and_creates_no_file(copy: Path) -> None:
    before = fingerprint(copy)
    assert "concord.db-wal" not in before
    status, output = concord("verify", "--data-dir", copy)
    assert status == 0, output
    assert "OK: 89 entries verified." in output
    assert "equal a rebuild from the log" in output
    assert "complete if the server was stopped cleanly" in output
    assert fingerprint(copy) == before


def test_verifying_a_copy_with_its_wal_changes_no_byte(copy: Path, tmp_path: Path) -> None:
    # Check: a log still open has entries in its -wal file; copy the directory then.
    live = tmp_path / "live"
    with open_log(Settings(data_dir=copy)) as log:
        log.submit({"type": "DeclarationAdopted",
                    "data": {"declaration": "WAL-1", "title": "In the WAL"}},
                   recorded_by="someone")
        holder = sqlite3.connect(copy / "concord.db")  # keeps the WAL from being folded in
        holder.execute("SELECT 1 FROM stored_events").fetchall()
        shutil.copytree(copy, live)
        holder.close()
    before = fingerprint(live)
    assert (live / "concord.db-wal").stat().st_size > 0, before
    status, output = concord("verify", "--data-dir", live)
    assert status == 0, output
    assert "OK: 90 entries verified." in output
    assert "1 entry is not in the tree yet" in output
    assert "read from a private copy" in output
    assert fingerprint(live) == before


def test_the_main_file_without_its_wal_is_read_with_a_note(copy: Path, tmp_path: Path) -> None:
    alone = tmp_path / "alone"
    alone.mkdir()
    with open_log(Settings(data_dir=copy)) as log:
        log.submit({"type": "DeclarationAdopted",
                    "data": {"declaration": "WAL-2", "title": "In the WAL"}},
                   recorded_by="someone")
        holder = sqlite3.connect(copy / "concord.db")
        holder.execute("SELECT 1 FROM stored_events").fetchall()
        shutil.copyfile(copy / "concord.db", alone / "concord.db")  # not a backup
        holder.close()
    before = fingerprint(alone)
    status, output = concord("verify", "--data-dir", alone, "--key", _verifier_key(copy))
    assert "no concord.db-wal lies beside it" in output and "concord backup" in output
    assert status == 0 and "OK: 89 entries verified." in output, output
    assert fingerprint(alone) == before


def _verifier_key(data: Path) -> str:
    from concord.tlog.notes import Signer

    return Signer.parse((data / "signing.key").read_text().strip()).verifier_key_string()


@pytest.mark.parametrize(("table", "missing"), [
    ("stored_events", "no table stored_events"),
    ("merkle_leaves", "no Merkle tree (table merkle_leaves)"),
    ("history", "read model history: table history is missing"),
])
def test_a_copy_missing_a_table_says_which_and_writes_nothing(
    copy: Path, table: str, missing: str
) -> None:
    with sqlite3.connect(copy / "concord.db") as db:
        db.execute(f"DROP TABLE {table}")
    db.close()
    before = fingerprint(copy)
    status, output = concord("verify", "--data-dir", copy)
    assert status == 1, output
    assert missing in output
    assert "Traceback" not in output
    assert fingerprint(copy) == before


def test_a_file_that_is_not_a_database_is_refused_without_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "concord.db").write_bytes(b"not a database at all" * 10)
    status, output = concord("verify", "--data-dir", tmp_path)
    assert status == 1 and "is not an SQLite database; nothing was written" in output


def test_a_read_model_that_differs_from_its_rebuild_is_named(copy: Path) -> None:
    with sqlite3.connect(copy / "concord.db") as db:
        changed = db.execute("UPDATE signatures SET state='XXX' "
                             "WHERE rowid = (SELECT min(rowid) FROM signatures)")
        assert changed.rowcount == 1
    db.close()
    status, output = concord("verify", "--data-dir", copy)
    assert status == 1, output
    assert "read model declarations (up to position 89) differs from its rebuild" in output
    assert "concord rebuild declarations" in output


def test_a_backup_is_a_complete_copy_with_a_private_key(copy: Path, tmp_path: Path) -> None:
    out = tmp_path / "backup"
    status, output = concord("backup", "--data-dir", copy, "--out", out)
    assert status == 0, output
    assert "It is SECRET" in output
    assert sorted(p.name for p in out.iterdir()) == ["concord.db", "signing.key"]
    assert stat.S_IMODE((out / "signing.key").stat().st_mode) == 0o600
    assert (out / "signing.key").read_bytes() == (copy / "signing.key").read_bytes()
    status, output = concord("verify", "--data-dir", out)
    assert status == 0 and "OK: 89 entries verified." in output, output
    again = concord("backup", "--data-dir", copy, "--out", out)
    assert again[0] == 1 and "exists: back up into a new directory" in again[1]


def test_a_backup_of_a_postgresql_log_prints_the_pg_dump_to_run(tmp_path: Path) -> None:
    status, output = concord("--database-url", "postgresql://concord@db.example:5433/records",
                             "backup", "--data-dir", tmp_path / "data", "--out",
                             tmp_path / "out")
    assert status == 0, output
    assert ("pg_dump --schema=concord --format=custom --file=" in output
            and "--host=db.example --port=5433 --username=concord records" in output), output


def pg_snapshot(url: str, schema: str) -> dict[str, str | None]:
    """Every table of the schema and a digest of its rows."""
    import psycopg
    from psycopg.sql import SQL, Identifier

    with psycopg.connect(url, autocommit=True) as conn:
        tables = [name for (name,) in conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema=%s",
            (schema,))]
        digests: dict[str, str | None] = {}
        for table in tables:
            row = conn.execute(SQL(
                "SELECT md5(coalesce(string_agg(t::text, ',' ORDER BY t::text), '')) FROM {}.{} t"
            ).format(Identifier(schema), Identifier(table))).fetchone()
            assert row is not None  # an aggregate: always one row
            digests[table] = row[0]
        return digests


def test_verifying_a_postgresql_log_writes_nothing_there(tmp_path: Path) -> None:
    from tests.postgres import database_url, fresh_schema

    url = database_url()
    with fresh_schema(url) as schema:
        env = {"CONCORD_DATABASE_SCHEMA": schema, "COLUMNS": "300"}
        args = ["--database-url", url, "verify", "--data-dir", str(tmp_path / "data")]
        # Check: an empty database is reported as such, and nothing is created in it.
        empty = runner.invoke(app, args, env=env)
        assert empty.exit_code == 1, empty.output
        assert "no table coordinationlog_events" in empty.output
        assert pg_snapshot(url, schema) == {}
        settings = Settings(data_dir=tmp_path / "data", database_url=url,
                            database_schema=schema)
        with TestClient(create_app(settings)) as client:
            for code in ("PG-1", "PG-2", "PG-3"):
                with open_log(settings) as log:
                    log.submit({"type": "DeclarationAdopted",
                                "data": {"declaration": code, "title": code}},
                               recorded_by="someone")
            assert client.get("/v1/log/checkpoint",
                              params={"min_position": 3}).status_code == 200
        before = pg_snapshot(url, schema)
        assert "coordinationlog_events" in before
        result = runner.invoke(app, args, env=env)
        assert result.exit_code == 0, result.output
        assert "OK: 3 entries verified." in result.output
        assert "read models were not compared" in result.output
        assert pg_snapshot(url, schema) == before
