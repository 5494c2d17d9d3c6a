"""How entries read to a person: one-line summaries and the log as a table."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from domain.codes import iso_name
from domain.envelope import Envelope
from projections.summaries import summarize


def state_name(code: str) -> str:
    """'Argentina' for 'ARG'; the code itself for codes outside ISO 3166."""
    return iso_name(code) or code


def summary(envelope: Envelope) -> str:
    """One line saying what the entry records (codes for names)."""
    return summarize(envelope)


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
