"""The command line: the founding demo, recording files, printing the log."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from concord.api.cli.app import app
from concord.api.cli.keys import _key_store
from concord.api.keys import KeyError_, Role
from concord.api.scenario import founding_scenario
from concord.api.settings import Settings
from concord.api.wiring import open_log
from concord.domain.envelope import Envelope

runner = CliRunner()


def entries(data_dir: Path) -> list[Envelope]:
    with open_log(Settings(data_dir=data_dir)) as log:
        return list(log.read(limit=10_000))


def test_the_founding_scenario_cites_a_source_for_every_submission() -> None:
    scenario = founding_scenario()
    assert scenario.submissions
    assert all(s.get("source") for s in scenario.submissions)
    assert any("Inferred" in c for c in scenario.comments)


def test_the_demo_records_the_founding_example(tmp_path: Path) -> None:
    result = runner.invoke(app, ["demo", "--data-dir", str(tmp_path)],
                           env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "RELACOPAZ's members today (18): Argentina," in result.output
    assert "Signatories of the Buenos Aires Declaration (18):" in result.output
    last_ten = result.output.split("The last ten decisions:")[1].strip().splitlines()
    assert len(last_ten) == 10 and "France attended ALCONU-III as observer" in last_ten[-2]
    assert "Argentina assumed the office pro-tempore-presidency of" in last_ten[-1]
    log = entries(tmp_path)
    assert len(log) == len(founding_scenario().submissions)
    by_type = Counter(e["type"] for e in log)
    assert by_type["NetworkEstablished"] == by_type["StatuteApproved"] == 1
    assert by_type["DeclarationAdopted"] == 2
    assert by_type["SessionHeld"] == 5
    # Check ALCONU III: first known only to the year, then rescheduled to exact days, then held.
    third = [e for e in log if e["stream"] == "conference:ALCONU-III"]
    assert [e["type"] for e in third[:3]] == [
        "ConferenceScheduled", "ConferenceRescheduled", "ConferenceHeld"]
    assert third[0]["data"]["starts_on"] == "2025"
    assert third[0]["data"]["host_state"] == "PRY"
    assert (third[1]["data"]["starts_on"], third[1]["data"]["ends_on"]) == (
        "2025-10-08", "2025-10-09")
    # Check the Buenos Aires Declaration's signatories and ALCONU II's observers.
    signed = {e["data"]["state"] for e in log if e["type"] == "DeclarationSigned"}
    assert len(signed) == 18 and {"ARG", "BRA", "CRI", "GUY"} <= signed
    observers = {e["data"]["state"] for e in log if e["type"] == "DelegationAttended"
                 and e["stream"] == "conference:ALCONU-II" and e["data"]["role"] == "observer"}
    assert observers == {"ESP", "IND", "PAK", "CHN"}
    opening = next(e for e in log if e["type"] == "SessionHeld")
    assert [s["name"] for s in opening["data"]["speakers"]] == [
        "Alberto Fernández", "Jorge Taiana", "Santiago Cafiero", "Jean-Pierre Lacroix"]
    assert all(e["recorded_by"] == "cli:concord-demo" and e["source"] for e in log)


def test_running_the_demo_again_appends_nothing(tmp_path: Path) -> None:
    assert runner.invoke(app, ["demo", "--data-dir", str(tmp_path)]).exit_code == 0
    first = entries(tmp_path)
    again = runner.invoke(app, ["demo", "--data-dir", str(tmp_path)], env={"COLUMNS": "300"})
    assert again.exit_code == 0, again.output
    assert "Already recorded, nothing appended: this log holds the founding example's 89 " \
        "entries already" in again.output
    assert entries(tmp_path) == first


def test_the_demo_refuses_a_directory_holding_another_log(tmp_path: Path) -> None:
    with open_log(Settings(data_dir=tmp_path)) as log:
        log.submit({"type": "StateRegistered", "data": {"state": "XKX", "name": "Kosovo"}},
                   recorded_by="someone")
    result = runner.invoke(app, ["demo", "--data-dir", str(tmp_path)], env={"COLUMNS": "300"})
    assert result.exit_code == 1
    assert ("nothing was appended: this log already holds 1 entry other than the founding "
            "example") in result.output
    assert "pass --data-dir with a new directory" in result.output
    assert len(entries(tmp_path)) == 1


def test_recording_a_file_with_a_refused_line_records_nothing(tmp_path: Path) -> None:
    lines = [
        {"comment": "two entries, the second one wrong"},
        {"type": "NetworkEstablished", "data": {"network": "N", "name": "N"}},
        {"type": "StateJoinedNetwork", "data": {"network": "N", "state": "QQQ",
                                                "role": "member"}},
    ]
    file = tmp_path / "entries.jsonl"
    file.write_text("\n".join(json.dumps(line) for line in lines))
    result = runner.invoke(app, ["record", str(file), "--recorded-by", "sec",
                                 "--data-dir", str(tmp_path / "data")])
    assert result.exit_code == 1
    assert "submission 2 of entries.jsonl was refused" in result.output
    assert "QQQ" in result.output
    assert entries(tmp_path / "data") == []


def test_recording_a_file_twice_records_it_once(tmp_path: Path) -> None:
    file = tmp_path / "entries.jsonl"
    file.write_text(json.dumps({"type": "StateRegistered",
                                "data": {"state": "XKX", "name": "Kosovo"}}) + "\n")
    args = ["record", str(file), "--data-dir", str(tmp_path), "--recorded-by"]
    assert "Recorded 1 entry as cli:sec." in runner.invoke(app, [*args, "sec"]).output
    again = runner.invoke(app, [*args, "sec"], env={"COLUMNS": "300"}).output
    assert "Already recorded, nothing appended: this file's 1 entry is in the log" in again
    assert "Already recorded" in runner.invoke(app, [*args, "someone-else"]).output
    assert [e["recorded_by"] for e in entries(tmp_path)] == ["cli:sec"]


def test_the_command_line_records_under_a_name_no_api_key_can_take(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with _key_store(data) as store:
        store.create("secretariat", Role.recorder)
    file = tmp_path / "entries.jsonl"
    file.write_text(json.dumps({"type": "StateRegistered",
                                "data": {"state": "XKX", "name": "Kosovo"}}) + "\n")
    result = runner.invoke(app, ["record", str(file), "--recorded-by", "secretariat",
                                 "--data-dir", str(data)])
    assert result.exit_code == 0, result.output
    assert [e["recorded_by"] for e in entries(data)] == ["cli:secretariat"]
    # A key cannot later take the command line's name either.
    with _key_store(data) as store, pytest.raises(KeyError_, match="name"):
        store.create("cli:secretariat", Role.recorder)
    refused = runner.invoke(app, ["record", str(file), "--recorded-by", "cli:x",
                                  "--data-dir", str(data)], env={"COLUMNS": "300"})
    assert refused.exit_code == 1 and "it is recorded as cli:NAME" in refused.output


def test_the_log_command_filters_by_type(tmp_path: Path) -> None:
    runner.invoke(app, ["demo", "--data-dir", str(tmp_path)])
    result = runner.invoke(app, ["log", "--data-dir", str(tmp_path), "--type",
                                 "ConferenceHeld"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert result.output.count("ConferenceHeld") == 3
    refused = runner.invoke(app, ["log", "--data-dir", str(tmp_path), "--type", "Nope"])
    assert refused.exit_code == 1
    assert "unknown event type" in refused.output


@pytest.mark.skipif(sys.platform == "win32", reason="console script path differs on Windows")
def test_the_installed_concord_command_runs_the_demo(tmp_path: Path) -> None:
    concord = Path(sys.executable).parent / "concord"
    assert concord.exists(), "install the project (pip install -e .) to get the concord script"
    done = subprocess.run([str(concord), "demo", "--data-dir", str(tmp_path)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "ALCONU-III" in done.stdout
