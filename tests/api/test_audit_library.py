"""The auditor's client library, used as its docstring shows, from a script of one's own."""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

import concord.api.audit
from concord.api.cli.app import app
from concord.api.http.app import create_app
from concord.api.settings import Settings
from tests.backends import Backend


@pytest.fixture
def backend(db_path: Path) -> Backend:
    """A data directory of its own, on SQLite."""
    return Backend("sqlite", db_path)


def test_a_script_verifies_an_export_with_the_library_alone(tmp_path: Path) -> None:
    data, export = tmp_path / "demo", tmp_path / "log.jsonl"
    runner = CliRunner()
    assert runner.invoke(app, ["demo", "--data-dir", str(data)]).exit_code == 0
    with TestClient(create_app(Settings(data_dir=data))) as client:
        checkpoint_note = client.get("/v1/log/checkpoint", params={"min_position": 89}).text
        key = client.get("/v1/log/public-key").text
    assert runner.invoke(app, ["export", "--data-dir", str(data), "--out", str(export)]
                         ).exit_code == 0

    from concord.api.audit import read_verifier, verify_export

    with open(export, "rb") as lines:
        report = verify_export(lines, checkpoint_note, read_verifier(key))
    assert report.ok, report.problems
    assert report.checked == 89 and report.uncovered == 0

    tampered = export.read_bytes().replace(b'"ARG"', b'"BRA"', 1)
    report = verify_export(tampered.splitlines(keepends=True), checkpoint_note,
                           read_verifier(key))
    assert not report.ok
    assert "the root of the first 89 entries is not the signed one" in report.problems[0]


def test_the_library_exports_what_it_names() -> None:
    for name in concord.api.audit.__all__:
        assert getattr(concord.api.audit, name) is not None, name
