"""The read models' answers, as the JSON API and the console both give them: each waits
(bounded) for its projection, reads it off the event loop, and raises a ProblemError for
what is not on record. Routes add their formats (JSON, CSV, HTML) on top."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any, TypeVar

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from concord.api.http.errors import ProblemError
from concord.api.http.reads import as_of_position, caught_up, log_end, read_whole_log
from concord.domain.codes import iso_name, state_name
from concord.domain.envelope import Envelope
from concord.projections import conferences as conference_model
from concord.projections import declarations as declaration_model
from concord.projections import history as history_model
from concord.projections import instruments as instrument_model
from concord.projections import membership as membership_model
from concord.projections import networks as network_model
from concord.projections.db import Reader
from concord.projections.summaries import summarize
from concord.projections.tree import Transparency

T = TypeVar("T")

# The most positions one answer of the changes between two record states spans: its
# entries are read and sent in one piece.
MAX_SPAN = 10_000


async def _read(request: Request, name: str, suffix: str,
                query: Callable[[Reader, str], T]) -> T:
    """`query` on the live tables of projection `name`, in a worker thread."""
    result: T = await run_in_threadpool(request.app.state.projection_store.read, name,
                                        suffix, query)
    return result


def invalid(detail: str, *errors: tuple[str, str]) -> ProblemError:
    """A 422 naming each field at fault and why."""
    return ProblemError(422, "invalid-request", "Invalid request", detail,
                        errors=[{"field": field, "reason": reason} for field, reason in errors])


# Networks and their membership.

async def networks(request: Request, min_position: int = 0) -> list[dict[str, Any]]:
    """Every network on record, with its founding and statutes, in the order recorded."""
    suffix, _ = await caught_up(request, "networks", min_position)
    return await _read(request, "networks", suffix, network_model.list_networks)


async def network_codes(request: Request, min_position: int = 0) -> list[str]:
    """The codes of the networks on record, in order; read again only once the networks'
    read model has moved (forms list them on every page)."""
    suffix, reached = await caught_up(request, "networks", min_position)
    kept: tuple[str, int, list[str]] | None = getattr(request.app.state, "network_codes", None)
    if kept is not None and kept[:2] == (suffix, reached):
        return list(kept[2])
    found = await _read(request, "networks", suffix, network_model.network_codes)
    request.app.state.network_codes = (suffix, reached, found)
    return list(found)


async def network(request: Request, code: str, min_position: int = 0
                  ) -> tuple[dict[str, Any], int]:
    """A network's founding facts and statutes, and the position they reflect; 404 if it
    is not on record."""
    suffix, reached = await caught_up(request, "networks", min_position)
    found = await _read(request, "networks", suffix,
                        lambda reader, live: network_model.network(reader, code, live))
    if found is None:
        raise ProblemError(404, "no-such-network", "No such network",
                           f"network {code} is not on record")
    return found, reached


async def membership_as_of(request: Request, asked: str | None, min_position: int = 0
                           ) -> tuple[str, int]:
    """The membership projection's live suffix, caught up, and the position to read at:
    the one `asked` names (a position or a moment), else the latest."""
    as_of = await as_of_position(request, asked)
    suffix, reached = await caught_up(request, "membership", max(min_position, as_of or 0),
                                      {"as_of": as_of or 0, "min_position": min_position})
    return suffix, reached if as_of is None else as_of


async def offices(request: Request, code: str, on: str | None = None,
                  as_of: str | None = None, min_position: int = 0
                  ) -> tuple[str, int, list[dict[str, Any]]]:
    """The date, the position and who held which office of network `code` on `on` (default
    today), as the record stood at `as_of` (default the latest); 404 if the network was not
    on record then."""
    asked = await as_of_position(request, as_of)
    suffix, reached = await caught_up(request, "networks", max(min_position, asked or 0),
                                      {"as_of": asked or 0, "min_position": min_position})
    position = reached if asked is None else asked
    day = on or today()

    def query(reader: Reader, suffix: str) -> list[dict[str, Any]] | None:
        # On record then: founded by that position, not retracted by then.
        row = reader.execute(f"SELECT founded_at, retracted_at FROM networks{suffix} "
                             "WHERE code=?", (code,)).fetchone()
        if row is None or row[0] > position or (row[1] is not None and row[1] <= position):
            return None
        return network_model.offices(reader, code, day, position, suffix)

    found = await _read(request, "networks", suffix, query)
    if found is None:
        raise _not_on_record(code, position)
    return day, position, [{**item, "name": state_name(item["state"])} for item in found]


def _on_record(reader: Reader, code: str, position: int, suffix: str) -> bool:
    known = reader.execute(
        f"SELECT founded_at FROM membership_networks{suffix} WHERE network=?",
        (code,)).fetchone()
    return known is not None and known[0] <= position


def _not_on_record(code: str, position: int) -> ProblemError:
    return ProblemError(404, "no-such-network", "No such network",
                        f"network {code} is not on record as of position {position}")


@dataclass(frozen=True)
class Members:
    """The members of a network on a date, as the record stood at a position."""

    network: str
    on: str
    as_of: int
    rows: list[dict[str, Any]]  # state, name, role, since, suspended

    def answer(self) -> dict[str, Any]:
        """As the JSON API gives it."""
        return {"network": self.network, "on": self.on, "as_of": self.as_of,
                "count": len(self.rows), "members": self.rows}


def today() -> str:
    """Today's date, UTC, as the default of every date asked."""
    return datetime.now(UTC).date().isoformat()


async def members(request: Request, code: str, on: str | None = None,
                  as_of: str | None = None, role: str | None = None,
                  min_position: int = 0, suspended: bool | None = None) -> Members:
    """The members of network `code` on `on` (default today), as the record stood at
    `as_of` (a position or moment; default the latest), only those suspended or not if
    `suspended` says; 404 if the network was not on record then."""
    suffix, position = await membership_as_of(request, as_of, min_position)
    day = on or today()

    def query(reader: Reader, suffix: str) -> list[membership_model.Member] | None:
        if not _on_record(reader, code, position, suffix):
            return None
        return membership_model.members(reader, code, day, position, role, suffix)

    found = await _read(request, "membership", suffix, query)
    if found is None:
        raise _not_on_record(code, position)
    return Members(code, day, position, [
        {"state": m.state, "name": state_name(m.state), "role": m.role, "since": m.since,
         "suspended": m.suspended}
        for m in found if suspended is None or m.suspended == suspended])


async def intervals(request: Request, code: str, as_of: str | None = None,
                    min_position: int = 0) -> tuple[int, list[dict[str, Any]]]:
    """The position `as_of` names and each state's intervals in network `code` as the
    record stood there, by state then start, with the state's name; 404 if the network was
    not on record then."""
    suffix, position = await membership_as_of(request, as_of, min_position)

    def query(reader: Reader, suffix: str) -> list[dict[str, Any]] | None:
        if not _on_record(reader, code, position, suffix):
            return None
        return membership_model.network_intervals(reader, code, position, suffix)

    found = await _read(request, "membership", suffix, query)
    if found is None:
        raise _not_on_record(code, position)
    names: dict[str, str] = {}
    for row in found:
        state = str(row["state"])
        if state not in names:
            names[state] = state_name(state)
        row["name"] = names[state]
    return position, found


def check_dates(date_from: str | None, date_to: str | None) -> None:
    """422 naming both when `date_from` is later than `date_to`."""
    if date_from is not None and date_to is not None and date_from > date_to:
        raise invalid(f"from ({date_from}) is later than to ({date_to}): no date is in both",
                      ("from", f"later than to ({date_to})"),
                      ("to", f"earlier than from ({date_from})"))


# The history of decisions.

@dataclass(frozen=True)
class HistoryPage:
    """A page of the history as the record stood at `as_of`, and the next page's cursor."""

    entries: list[dict[str, Any]]
    next_after: str | None
    as_of: int


async def history(request: Request, query: history_model.Query, as_of: str | None = None,
                  min_position: int = 0, whole_log: bool = False) -> HistoryPage:
    """The entries `query` asks for (`query.limit` at most), among those up to `as_of` (a
    position or a moment; default the latest), a retraction after it not shown. With
    `whole_log`, as of the log's end when asked (waiting for the history to reach it)."""
    position = await as_of_position(request, as_of)
    asked = replace(query, limit=query.limit + 1)

    async def read(suffix: str, upto: int) -> list[dict[str, Any]]:
        try:
            return await _read(request, "history", suffix, lambda reader, live: (
                history_model.history(reader, asked, upto, live)))
        except history_model.UnknownCursor as e:
            raise invalid(f"after: {e}", ("after", "no such entry")) from None

    if whole_log and position is None and not min_position:
        try:
            upto, entries = await read_whole_log(request, "history", lambda reader, live, at: (
                history_model.history(reader, asked, at, live)))
        except history_model.UnknownCursor as e:
            raise invalid(f"after: {e}", ("after", "no such entry")) from None
    else:
        suffix, reached = await caught_up(
            request, "history", max(min_position, position or 0),
            {"as_of": position or 0, "min_position": min_position})
        upto = reached if position is None else position
        entries = await read(suffix, upto)
    next_after = None
    # One more than asked tells whether there is a next page.
    if len(entries) > query.limit:
        del entries[query.limit:]
        last = entries[-1]
        next_after = (f"{last['effective_date']},{last['position']}"
                      if query.order == "effective_date" else str(last["position"]))
    for entry in entries:
        if entry["retracted_by"] is not None and entry["retracted_by"] > upto:
            entry["retracted_by"] = None
    return HistoryPage(entries, next_after, upto)


async def history_at(request: Request, positions: Sequence[int]) -> dict[int, dict[str, Any]]:
    """The history's entries at `positions` (those it holds), by position."""
    if not positions:
        return {}
    suffix, _ = await caught_up(request, "history", max(positions))
    found = await _read(request, "history", suffix,
                        lambda reader, live: history_model.entries_at(reader, positions, live))
    return {entry["position"]: entry for entry in found}


async def changes(request: Request, from_position: int, to_position: int | None,
                  network: str | None) -> dict[str, Any]:
    """The entries recorded in (from_position, to_position] with what each retraction or
    correction undoes, and, for a network, each state whose membership intervals differ
    between the two record states, with the dates on which its role differs."""
    end: int = (to_position if to_position is not None
                else await log_end(request))
    if from_position > end:
        raise invalid(f"from_position ({from_position}) is after to_position ({end})",
                      ("from_position", f"after to_position ({end})"),
                      ("to_position", f"before from_position ({from_position})"))
    if end - from_position > MAX_SPAN:
        raise invalid(f"to_position: {end - from_position:,} positions after from_position, "
                      f"more than the {MAX_SPAN:,} one answer spans; ask in parts",
                      ("to_position", f"more than {MAX_SPAN:,} positions after "
                                      "from_position"))
    asked = {"from_position": from_position, "to_position": end}
    history_suffix, _ = await caught_up(request, "history", end, asked)
    query = history_model.Query(after=from_position, limit=max(end - from_position, 1))
    found = await _read(request, "history", history_suffix,
                        lambda reader, live: history_model.history(reader, query, end, live))
    entries = []
    for entry in found:
        retracts = (entry["data"]["position"]
                    if entry["type"] in ("EntryRetracted", "EntryCorrected") else None)
        later = entry["retracted_by"]
        entries.append({**entry, "retracts": retracts,
                        "retracted_by": later if later is not None and later <= end else None})
    membership = None
    if network is not None:
        suffix, _ = await caught_up(request, "membership", end, asked)

        def diff(reader: Reader, suffix: str) -> list[dict[str, Any]] | None:
            if not _on_record(reader, network, end, suffix):
                return None
            return membership_diff(
                membership_model.network_intervals(reader, network, from_position, suffix),
                membership_model.network_intervals(reader, network, end, suffix))

        membership = await _read(request, "membership", suffix, diff)
        if membership is None:
            raise _not_on_record(network, end)
    return {"from_position": from_position, "to_position": end, "network": network,
            "entries": entries, "membership": membership}


def membership_diff(before: list[dict[str, Any]], after: list[dict[str, Any]]
                    ) -> list[dict[str, Any]]:
    """Each state whose intervals differ between `before` and `after`: both lists, and the
    stretches of dates on which its role differs (`changes`)."""
    def by_state(rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
        grouped: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            grouped.setdefault(row["state"], []).append(
                {"role": row["role"], "valid_from": row["valid_from"],
                 "valid_to": row["valid_to"]})
        return grouped

    was, now = by_state(before), by_state(after)
    return [{"state": state, "name": state_name(state), "before": was.get(state, []),
             "after": now.get(state, []),
             "changes": role_changes(was.get(state, []), now.get(state, []))}
            for state in sorted(was.keys() | now.keys()) if was.get(state) != now.get(state)]


def role_changes(before: list[dict[str, Any]], after: list[dict[str, Any]]
                 ) -> list[dict[str, Any]]:
    """The stretches [from, to) of dates (to None: open) on which a state's role in
    `before` differs from its role in `after` (None: not in the network)."""
    def role_on(found: list[dict[str, Any]], day: str) -> str | None:
        for interval in found:
            if interval["valid_from"] <= day and (interval["valid_to"] is None
                                                  or day < interval["valid_to"]):
                return str(interval["role"])
        return None

    bounds = sorted({b for interval in (*before, *after)
                     for b in (interval["valid_from"], interval["valid_to"]) if b is not None})
    stretches: list[dict[str, Any]] = []
    for i, day in enumerate(bounds):
        was, now = role_on(before, day), role_on(after, day)
        end = bounds[i + 1] if i + 1 < len(bounds) else None
        if was == now:
            continue
        last = stretches[-1] if stretches else None
        if last is not None and last["to"] == day and (last["before"], last["after"]) == (
                was, now):
            last["to"] = end
        else:
            stretches.append({"from": day, "to": end, "before": was, "after": now})
    return stretches


# States, conferences and declarations.

DOSSIER_SOURCES = ("membership", "declarations", "conferences", "networks", "instruments")


async def dossier(request: Request, code: str, min_position: int = 0) -> dict[str, Any]:
    """Everything on record about one state; 404 if it has no ISO code and is not
    registered."""
    views = {name: await caught_up(request, name, min_position) for name in DOSSIER_SOURCES}
    store = request.app.state.projection_store

    def gather() -> dict[str, Any]:
        def read(name: str, query: Callable[[Reader, str], Any]) -> Any:
            return store.read(name, views[name][0], query)

        return {
            "registered": read("networks",
                               lambda r, s: network_model.registered_state(r, code, s)),
            "memberships": read("membership",
                                lambda r, s: membership_model.memberships(r, code, s)),
            "suspensions": read("membership",
                                lambda r, s: membership_model.suspensions(r, code, s)),
            "offices": read("networks", lambda r, s: network_model.offices_held(r, code, s)),
            "pending_withdrawals": read("membership", lambda r, s: (
                membership_model.pending_withdrawals(r, code, today(), s))),
            "signatures": read("declarations",
                               lambda r, s: declaration_model.signatures_of(r, code, s)),
            "instruments": read("instruments", lambda r, s: (
                instrument_model.consents_of(r, code, today(), s))),
            "attendances": read("conferences",
                                lambda r, s: conference_model.attendances(r, code, s)),
            "hosted": read("conferences", lambda r, s: conference_model.hosted(r, code, s)),
        }

    found = await run_in_threadpool(gather)
    name = iso_name(code) or (found["registered"] or {}).get("name")
    if name is None:
        raise ProblemError(404, "no-such-state", "No such state",
                           f"state {code} has no ISO 3166 code and is not registered on the "
                           "log")
    for item in found["hosted"]:
        item["host_name"] = name
    return {"state": code, "name": name, **found,
            "positions": {source: view[1] for source, view in views.items()}}


async def conferences(request: Request, network: str | None = None,
                      status: str | None = None, host_state: str | None = None,
                      min_position: int = 0) -> list[dict[str, Any]]:
    """Every conference on record, in order of its start, filtered."""
    suffix, _ = await caught_up(request, "conferences", min_position)
    found = await _read(request, "conferences", suffix,
                        lambda reader, live: conference_model.list_conferences(
                            reader, network, status, host_state, live))
    return [{**item, "host_name": state_name(item["host_state"])} for item in found]


async def counts(request: Request, min_position: int = 0) -> dict[str, int]:
    """How many conferences, declarations and instruments are on record."""
    found = {}
    for name, count in (("conferences", conference_model.count_conferences),
                        ("declarations", declaration_model.count_declarations),
                        ("instruments", instrument_model.count_instruments)):
        suffix, _ = await caught_up(request, name, min_position)
        found[name] = await _read(request, name, suffix, count)
    return found


async def conference(request: Request, code: str, min_position: int = 0
                     ) -> tuple[dict[str, Any], int]:
    """One conference with its schedule, delegations and sessions, and the position it
    reflects; 404 if it is not on record."""
    suffix, reached = await caught_up(request, "conferences", min_position)
    found = await _read(request, "conferences", suffix,
                        lambda reader, live: conference_model.conference(reader, code, live))
    if found is None:
        raise ProblemError(404, "no-such-conference", "No such conference",
                           f"conference {code} is not on record")
    for item in (*found["delegations"]["participants"], *found["delegations"]["observers"]):
        item["name"] = state_name(item["state"])
    for session in found["sessions"]:  # every speaker with every field, as JSON gives them
        session["speakers"] = [{"state": None, **speaker} for speaker in session["speakers"]]
    return {**found, "host_name": state_name(found["host_state"])}, reached


async def declarations(request: Request, min_position: int = 0) -> list[dict[str, Any]]:
    """Every declaration on record, with how many states stand signed."""
    suffix, _ = await caught_up(request, "declarations", min_position)
    return await _read(request, "declarations", suffix, declaration_model.list_declarations)


async def declaration(request: Request, code: str, min_position: int = 0
                      ) -> tuple[dict[str, Any], int]:
    """One declaration with its signatories and withdrawals, and the position it
    reflects; 404 if it is not on record."""
    suffix, reached = await caught_up(request, "declarations", min_position)
    found = await _read(request, "declarations", suffix,
                        lambda reader, live: declaration_model.declaration(reader, code, live))
    if found is None:
        raise ProblemError(404, "no-such-declaration", "No such declaration",
                           f"declaration {code} is not on record")
    for item in (*found["signed"], *found["withdrawn"]):
        item["name"] = state_name(item["state"])
    return found, reached


# Instruments and their states' consents.

async def _instruments_as_of(request: Request, as_of: str | None, min_position: int
                             ) -> tuple[str, int]:
    asked = await as_of_position(request, as_of)
    suffix, reached = await caught_up(request, "instruments", max(min_position, asked or 0),
                                      {"as_of": asked or 0, "min_position": min_position})
    return suffix, reached if asked is None else asked


async def instruments(request: Request, on: str | None = None, as_of: str | None = None,
                      min_position: int = 0) -> tuple[str, int, list[dict[str, Any]]]:
    """The date, the position, and every instrument on record then, with how many states
    were parties, contracting states and signatories on `on` (default today)."""
    suffix, position = await _instruments_as_of(request, as_of, min_position)
    day = on or today()
    found = await _read(request, "instruments", suffix, lambda reader, live: (
        instrument_model.list_instruments(reader, day, position, live)))
    return day, position, found


async def instrument(request: Request, code: str, on: str | None = None,
                     as_of: str | None = None, min_position: int = 0) -> dict[str, Any]:
    """One instrument as the record stood at `as_of` (default the latest), with every
    state's consent and its standing on `on` (default today); 404 if it was not on record
    then."""
    suffix, position = await _instruments_as_of(request, as_of, min_position)
    day = on or today()
    found = await _read(request, "instruments", suffix, lambda reader, live: (
        instrument_model.instrument(reader, code, day, position, live)))
    if found is None:
        raise ProblemError(404, "no-such-instrument", "No such instrument",
                           f"instrument {code} is not on record as of position {position}")
    for name in ("parties", "contracting_states", "signatories", "consents"):
        for item in found[name]:
            item["name"] = state_name(item["state"])
    return {**found, "on": day, "as_of": position}


# What a dry run would record.

async def summarized(request: Request, envelopes: Sequence[Envelope]) -> list[dict[str, Any]]:
    """The envelopes with the summary history would give each: names as on record, and
    those the envelopes themselves put on record before it."""
    suffix, _ = await caught_up(request, "history", 0)
    known = await _read(request, "history", suffix, history_model.names)
    found = []
    for envelope in envelopes:
        found.append({**envelope, "summary": summarize(
            envelope, lambda kind, code: known.get((kind, code)))})
        if (name := history_model.named(envelope)) is not None:
            known[name[0], name[1]] = name[2]
    return found


# The log itself.

async def signed_checkpoint(request: Request, min_position: int = 0) -> str:
    """The signed checkpoint the log serves (with its cosignatures), covering at least
    `min_position` entries."""
    suffix, _ = await caught_up(request, Transparency.name, min_position)
    _, note = await run_in_threadpool(request.app.state.checkpoints.served, suffix,
                                      min_position)
    return str(note)


async def entry(request: Request, position: int) -> Envelope:
    """The entry at `position`; 404 if the log holds none there."""
    log = request.app.state.log
    found: list[Envelope] = await run_in_threadpool(log.read, position - 1, 1)
    if not found or found[0]["position"] != position:
        last = await run_in_threadpool(log.last_position)
        raise ProblemError(404, "no-such-entry", "No such entry",
                           f"there is no entry at position {position}; the log holds {last}")
    return found[0]


async def last_position(request: Request) -> int:
    """The position of the log's last entry (0 when empty), as this request found it."""
    return await log_end(request)
