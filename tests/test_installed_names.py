"""Installed, Concord claims one top-level name, `concord`: its rooms are subpackages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import concord


def test_only_concord_is_importable_outside_the_repository(tmp_path: Path) -> None:
    probe = ("import importlib.util as u; "
             "print([n for n in ('domain', 'log', 'tlog', 'projections', 'api', 'tests') "
             "if u.find_spec(n) is not None]); "
             "import concord.api.cli.app, concord.log.writer, concord.tlog.merkle; print('ok')")
    found = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, capture_output=True,
                           text=True, check=True, env={"PATH": ""})
    assert found.stdout.split() == ["[]", "ok"], found.stderr


def test_each_room_is_a_subpackage_of_concord() -> None:
    root = Path(concord.__file__).parent
    for room in ("domain", "log", "tlog", "projections", "api"):
        assert (root / room / "__init__.py").is_file(), room


def test_a_room_imported_by_its_folder_name_says_how_to_import_it() -> None:
    repository = Path(concord.__file__).resolve().parent.parent
    found = subprocess.run([sys.executable, "-c", "import domain.network"], cwd=repository,
                           capture_output=True, text=True, env={"PATH": ""})
    assert found.returncode != 0
    assert "ImportError: import concord.domain, not domain" in found.stderr
