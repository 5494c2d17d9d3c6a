"""How entries read to a person: one-line summaries and the log as a table."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from rich.table import Table

from domain.codes import iso_name
from domain.envelope import Envelope


def state_name(code: str) -> str:
    """'Argentina' for 'ARG'; the code itself for codes outside ISO 3166."""
    return iso_name(code) or code


def _dates(d: dict[str, Any]) -> str:
    return f"{d['starts_on']} to {d['ends_on']}" if d.get("ends_on") else d["starts_on"]


def _at(d: dict[str, Any]) -> str:
    return f" at {d['conference']}" if d.get("conference") else ""


_SUMMARIES: dict[str, Callable[[dict[str, Any]], str]] = {
    "NetworkEstablished": lambda d: f"{d['network']} established: {d['name']}",
    "StatuteApproved": lambda d: f"{d['network']} approved its {d['title']}{_at(d)}",
    "StateRegistered": lambda d: f"{d['state']} registered for {d['name']}",
    "StateJoinedNetwork": lambda d: (
        f"{state_name(d['state'])} joined {d['network']} as {d['role']}"
    ),
    "StateLeftNetwork": lambda d: f"{state_name(d['state'])} left {d['network']}",
    "ConferenceScheduled": lambda d: (
        f"{d['conference']} scheduled: {d['title']}, "
        + (f"{d['city']}, " if d.get("city") else "")
        + f"{state_name(d['host_state'])}, {_dates(d)}"
    ),
    "ConferenceRescheduled": lambda d: f"{d['conference']} rescheduled: {_dates(d)}",
    "ConferenceCancelled": lambda d: f"{d['conference']} cancelled",
    "ConferenceHeld": lambda d: f"{d['conference']} held",
    "DelegationAttended": lambda d: (
        f"{state_name(d['state'])} attended {d['conference']} as {d['role']}"
    ),
    "SessionHeld": lambda d: (
        f"{d['conference']} session: {d['title']}"
        + (": " + ", ".join(s["name"] for s in d["speakers"]) if d.get("speakers") else "")
    ),
    "DeclarationAdopted": lambda d: f"{d['title']} ({d['declaration']}) adopted{_at(d)}",
    "DeclarationSigned": lambda d: f"{state_name(d['state'])} signed {d['declaration']}",
    "SignatureWithdrawn": lambda d: (
        f"{state_name(d['state'])} withdrew its signature from {d['declaration']}"
    ),
    "EntryRetracted": lambda d: f"entry {d['position']} retracted: {d['reason']}",
}


def summary(envelope: Envelope) -> str:
    """One line saying what the entry records."""
    return _SUMMARIES[envelope["type"]](envelope["data"])


def log_table(envelopes: Sequence[Envelope], title: str) -> Table:
    """The entries as a table: position, effective date, type, what happened, who recorded it."""
    table = Table(title=title, title_justify="left", expand=False)
    table.add_column("#", justify="right", style="bold")
    table.add_column("effective")
    table.add_column("type", style="cyan")
    table.add_column("what happened", overflow="fold")
    table.add_column("recorded by", style="dim")
    for e in envelopes:
        table.add_row(
            str(e["position"]), e["effective_date"], e["type"], summary(e), e["recorded_by"]
        )
    return table
