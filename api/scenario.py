"""Scenario files: JSON Lines of submissions, with comment lines saying what is inferred."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

FOUNDING_SCENARIO = "relacopaz.jsonl"


@dataclass(frozen=True)
class Scenario:
    """The submissions of a scenario file, in order, and a digest of the file."""

    name: str
    submissions: list[dict[str, Any]]
    comments: list[str]
    sha256: str


class ScenarioError(ValueError):
    """A scenario file line that is not a JSON object."""


def parse_scenario(name: str, text: str) -> Scenario:
    """Read a scenario: each line a submission, or an object with only a 'comment'."""
    submissions: list[dict[str, Any]] = []
    comments: list[str] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as e:
            raise ScenarioError(f"{name}, line {number}: not JSON ({e.msg})") from None
        if not isinstance(item, dict):
            raise ScenarioError(f"{name}, line {number}: not a JSON object")
        if set(item) == {"comment"}:
            comments.append(str(item["comment"]))
        else:
            submissions.append(item)
    digest = hashlib.sha256(text.encode()).hexdigest()
    return Scenario(name, submissions, comments, digest)


def founding_scenario() -> Scenario:
    """The RELACOPAZ founding example shipped with Concord."""
    scenarios = resources.files("concord.api").joinpath("scenarios")
    text = scenarios.joinpath(FOUNDING_SCENARIO).read_text("utf-8")
    return parse_scenario(FOUNDING_SCENARIO, text)


def load_scenario(path: Path) -> Scenario:
    """A scenario from a file."""
    return parse_scenario(path.name, path.read_text("utf-8"))
