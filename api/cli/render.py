"""How entries read to a person: one-line summaries and the log as a table."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table

from concord.domain.envelope import Envelope
from concord.projections.summaries import summarize


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
