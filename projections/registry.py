"""The registry of projections: every read model by name, and its live copy."""

from __future__ import annotations

from concord.projections.conferences import Conferences
from concord.projections.declarations import Declarations
from concord.projections.history import History
from concord.projections.instruments import Instruments
from concord.projections.membership import Membership
from concord.projections.networks import Networks
from concord.projections.projection import Projection
from concord.projections.store import ProjectionStore
from concord.projections.tree import Transparency

PROJECTIONS: dict[str, type[Projection]] = {
    "membership": Membership, "history": History, "declarations": Declarations,
    "conferences": Conferences, "networks": Networks, "instruments": Instruments,
    "transparency": Transparency}


def live(store: ProjectionStore, name: str) -> Projection:
    """The live copy of projection `name`."""
    return PROJECTIONS[name](suffix=store.suffix(name))
