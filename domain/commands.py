"""Turns a checked submission into a command on its aggregate, after the rules that span streams."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from typing import Any, Protocol, TypeVar

from eventsourcing.utils import get_topic, resolve_topic

from concord.domain import catalogue as c
from concord.domain.catalogue import Submission
from concord.domain.codes import is_iso, looks_alike, nearest_codes
from concord.domain.conference import Conference, require_ordered_dates
from concord.domain.declaration import Declaration
from concord.domain.errors import (
    Conflict,
    FieldProblem,
    InvalidSubmission,
    NotFound,
    RuleViolation,
)
from concord.domain.instrument import Instrument
from concord.domain.network import Network
from concord.domain.registry import RegisteredState
from concord.domain.stream import Entry, Stream

T = TypeVar("T", bound=Stream)

AGGREGATES: tuple[type[Stream], ...] = (Network, Conference, Declaration, Instrument,
                                        RegisteredState)


class Streams(Protocol):
    """The aggregates as the writer holds them, and the committed log."""

    def get(self, stream_id: str) -> Stream | None:
        """The stream's aggregate, or None if the stream has no entries."""

    def add(self, stream: Stream) -> None:
        """Hold a newly created aggregate."""

    def entry_at(self, position: int) -> tuple[str, int, str] | None:
        """The (stream, version, public type) of the committed entry at `position`."""

    def events_of(self, stream_id: str) -> list[Stream.Event]:
        """Every event of a stream so far: committed, then pending."""

    def replace(self, stream: Stream) -> None:
        """Hold `stream` in place of the aggregate held for its stream."""

    def codes(self, prefix: str) -> list[str]:
        """The codes of every stream of this kind ('network'), committed or pending."""

    def same_but_case(self, stream_id: str) -> list[str]:
        """The streams, committed or pending, whose ids differ from `stream_id` in case alone."""


def execute(submission: Submission, entry: Entry, streams: Streams) -> Stream:
    """Apply one submission to its aggregate; return the aggregate, holding the new event."""
    payload = submission.payload
    if isinstance(payload, c.EntryCorrected):
        return _correct(submission, payload, entry, streams)
    require_in_past(submission.type, payload, entry, "")
    if isinstance(payload, c.EntryRetracted):
        return _retract(submission, payload, entry, streams)
    kind, code_field, creates, command = _COMMANDS[submission.type]
    code = getattr(payload, code_field)
    stream_id = kind.stream_id(code)
    aggregate = streams.get(stream_id)
    _check_expected_version(submission, stream_id, aggregate)
    if creates:
        if aggregate is not None:
            raise RuleViolation(
                f"{kind.kind} code {code} is already in use (stream {stream_id} has "
                f"{aggregate.version} entries); codes are never reused"
            )
        _require_distinct(kind, code, streams)
        created: Stream = command(None, payload, entry, streams)
        streams.add(created)
        return created
    if aggregate is None:
        raise NotFound(_not_on_record(kind, code, streams), code_field)
    command(aggregate, payload, entry, streams)
    return aggregate


def _require_distinct(kind: type[Stream], code: str, streams: Streams) -> None:
    """Refuse a new code that differs only in case from one on record."""
    if kind is RegisteredState:
        return  # state codes are upper case by their pattern
    found = streams.same_but_case(kind.stream_id(code))
    if found:
        same = found[0].partition(":")[2]
        raise RuleViolation(
            f"{kind.kind} code {code} differs only in case from {same}, which is on record; "
            f"codes are unique whatever their case: use {same}, or a code of its own")


_REFERENCE_FIELDS: dict[str, type[Stream]] = {
    "network": Network,
    "conference": Conference,
    "declaration": Declaration,
    "instrument": Instrument,
    "state": RegisteredState,
    "host_state": RegisteredState,
}


@lru_cache(maxsize=64)
def _references(payload_type: type[c.Payload]) -> tuple[tuple[str, type[Stream]], ...]:
    return tuple((f, k) for f, k in _REFERENCE_FIELDS.items() if f in payload_type.model_fields)


def referenced_streams(submission: Submission) -> list[str]:
    """The streams a submission may read or write (but not the one a retraction targets)."""
    payload = submission.payload
    values = payload.__dict__
    streams = []
    for name, kind in _references(type(payload)):
        code = values[name]
        if code is not None and (kind is not RegisteredState or not is_iso(code)):
            streams.append(kind.stream_id(code))
    if isinstance(payload, c.SessionHeld):
        streams += [RegisteredState.stream_id(s.state) for s in payload.speakers or ()
                    if s.state is not None and not is_iso(s.state)]
    if isinstance(payload, c.EntryCorrected):
        return referenced_streams(Submission(type=payload.replacement.type,
                                             payload=payload.replacement.data))
    return streams


def _check_expected_version(
    submission: Submission, stream_id: str, aggregate: Stream | None
) -> None:
    current = aggregate.version if aggregate is not None else 0
    if submission.expected_version is not None and submission.expected_version != current:
        raise Conflict(stream_id, submission.expected_version, current)


def _target(submission: Submission, position: int, streams: Streams
            ) -> tuple[Stream, int, str]:
    """The aggregate holding the entry at `position` (which a retraction or correction
    names), the entry's version in it and its public type."""
    found = streams.entry_at(position)
    if found is None:
        raise NotFound(f"there is no entry at position {position}", "position")
    stream_id, version, type_ = found
    aggregate = streams.get(stream_id)
    if aggregate is None:
        raise NotFound(f"position {position} belongs to {stream_id}, which this "
                       "writer cannot load; retry", "position")
    _check_expected_version(submission, stream_id, aggregate)
    return aggregate, version, type_


def _retract(
    submission: Submission, payload: c.EntryRetracted, entry: Entry, streams: Streams
) -> Stream:
    aggregate, version, _ = _target(submission, payload.position, streams)
    folded = aggregate.retract(streams.events_of(aggregate.id), version, payload.position,
                               payload.reason, entry)
    streams.replace(folded)
    return folded


_FIRST = {
    Network: "NetworkEstablished",
    Conference: "ConferenceScheduled",
    Declaration: "DeclarationAdopted",
    Instrument: "InstrumentAdopted",
    RegisteredState: "StateRegistered",
}


def _correct(
    submission: Submission, payload: c.EntryCorrected, entry: Entry, streams: Streams
) -> Stream:
    position = payload.position
    aggregate, version, type_ = _target(submission, position, streams)
    stream_id = aggregate.id
    events = streams.events_of(stream_id)
    target = next((e for e in events if e.originator_version == version), None)
    if target is None:
        raise NotFound(f"position {position} is not an entry of {stream_id}", "position")
    if type_ == "EntryRetracted":
        raise RuleViolation(f"position {position} is a retraction; a retraction cannot be "
                            "corrected")
    corrected = target.data["replacement"]["type"] if type_ == "EntryCorrected" else type_
    replacement = payload.replacement
    if replacement.type != corrected:
        raise RuleViolation(
            f"position {position} is a {corrected} entry; its correction must be a "
            f"{corrected} too, not a {replacement.type}")
    kind, code_field, _, _ = _COMMANDS[corrected]
    fact = replacement.data
    moved_to = kind.stream_id(getattr(fact, code_field))
    if moved_to != stream_id:
        raise RuleViolation(
            f"position {position} is an entry of {stream_id}; a correction cannot move it to "
            f"{moved_to}: retract it and record the entry anew")
    _require_references(fact, code_field, streams, "replacement.data.")
    if isinstance(fact, c.ConferenceScheduled | c.ConferenceRescheduled):
        require_ordered_dates(fact.starts_on, fact.ends_on)
    if isinstance(fact, c.StateRegistered):
        RegisteredState.require_outside_iso(fact.state)
    # Unless given, the correction keeps the corrected entry's date and citation.
    entry = replace(entry, effective_date=submission.effective_date or target.effective_date,
                    source=submission.source or target.source)
    require_in_past(replacement.type, fact, entry, "replacement.")
    if isinstance(fact, c.OfficeAssumed):
        require_term_after(fact, entry, "replacement.")
    folded = aggregate.correct(events, version, payload, entry)
    streams.replace(folded)
    return folded


def _require_references(payload: c.Payload, own: str, streams: Streams, prefix: str) -> None:
    """Every entity a payload names, other than the one it is an entry of, is on record
    (`prefix` places its fields in the submission's data)."""
    for name, kind in _references(type(payload)):
        code = getattr(payload, name)
        if name == own or code is None:
            continue
        if kind is RegisteredState:
            require_state(streams, code, name, prefix)
        else:
            require(streams, kind, code, prefix + name)
    if isinstance(payload, c.SessionHeld):
        for i, speaker in enumerate(payload.speakers or ()):
            if speaker.state is not None:
                require_state(streams, speaker.state, f"speakers.{i}.state", prefix)


def _not_on_record(kind: type[Stream], code: str, streams: Streams) -> str:
    message = f"{kind.kind} {code} is not on record"
    near = nearest_codes(code, streams.codes(kind.prefix))
    if near:
        message += "; did you mean " + " or ".join(near) + "?"
        if any(looks_alike(code, other) for other in near):
            # Never advise creating a look-alike of a code on record.
            return message
        return message + f" If not, record it first with {_FIRST[kind]}"
    return message + f"; record it first with {_FIRST[kind]}"


def require(streams: Streams, kind: type[T], code: str, field: str | None = None) -> T:
    """The aggregate of an entity that must be on record (named in `field`, if given)."""
    aggregate = streams.get(kind.stream_id(code))
    if aggregate is None:
        raise NotFound(_not_on_record(kind, code, streams), field or kind.kind)
    aggregate.require_exists()
    assert isinstance(aggregate, kind)
    return aggregate


def require_state(streams: Streams, code: str, field: str = "state", prefix: str = "") -> None:
    """Refuse a state code that is neither in ISO 3166 nor registered."""
    if is_iso(code):
        return
    registered = streams.get(RegisteredState.stream_id(code))
    if registered is None or not registered.exists:
        near = nearest_codes(code, streams.codes(RegisteredState.prefix))
        hint = f"; did you mean {' or '.join(near)}?" if near else ""
        raise NotFound(
            f"{field} {code} is neither an ISO 3166-1 alpha-3 code, nor an ISO 3166-3 "
            f"former-state code, nor registered with StateRegistered{hint}", prefix + field)


def _network_established(_: None, p: c.NetworkEstablished, e: Entry, s: Streams) -> Stream:
    return Network.establish(p, e)


def _statute_approved(n: Network, p: c.StatuteApproved, e: Entry, s: Streams) -> None:
    if p.conference is not None:
        require(s, Conference, p.conference)
    n.approve_statute(p, e)


def _state_registered(_: None, p: c.StateRegistered, e: Entry, s: Streams) -> Stream:
    return RegisteredState.register(p, e)


def _state_joined(n: Network, p: c.StateJoinedNetwork, e: Entry, s: Streams) -> None:
    n.require_exists()
    require_state(s, p.state)
    n.join(p, e)


def _state_left(n: Network, p: c.StateLeftNetwork, e: Entry, s: Streams) -> None:
    n.leave(p, e)


def _office_assumed(n: Network, p: c.OfficeAssumed, e: Entry, s: Streams) -> None:
    n.require_exists()
    require_state(s, p.state)
    require_term_after(p, e, "")
    n.decide(Network.OfficeAssumed, p, e)


def require_term_after(p: c.OfficeAssumed, e: Entry, prefix: str) -> None:
    """Refuse a term that ends on or before it starts."""
    if p.term_ends_on is not None and p.term_ends_on <= e.effective_date:
        raise InvalidSubmission([FieldProblem(
            f"data.{prefix}data.term_ends_on" if prefix else "data.term_ends_on",
            f"{p.term_ends_on} is not after the effective date, {e.effective_date}: a term "
            "ends after it starts")])


_NOTICE_OF = {"StateLeftNetwork": "withdrawal", "Denunciation": "denunciation"}
WITH_NOTICE = frozenset(_NOTICE_OF)
"""The types whose entries may take effect after they are recorded, given `notified_on`."""


def require_in_past(type_: str, payload: c.Payload, e: Entry, prefix: str) -> None:
    """Refuse an effective date later than `e.latest` (the recording date and a day), unless
    the entry is a withdrawal or a denunciation with notice (`notified_on`, itself not later
    than that, and not after the effective date). `prefix` places the fields of a
    correction's replacement."""
    notice = getattr(payload, "notified_on", None) if type_ in WITH_NOTICE else None
    field = f"data.{prefix}data.notified_on" if prefix else "data.notified_on"
    if notice is not None:
        if notice > e.latest:
            raise InvalidSubmission([FieldProblem(
                field, f"{notice} is later than {e.latest}, the recording date (UTC) and a "
                "day of tolerance: notice is recorded once it has been given")])
        if notice > e.effective_date:
            raise InvalidSubmission([FieldProblem(
                field, f"{notice} is after the effective date, {e.effective_date}: notice "
                f"comes before the {_NOTICE_OF[type_]} takes effect")])
    elif e.effective_date > e.latest:
        raise InvalidSubmission([FieldProblem(
            "effective_date",
            f"{e.effective_date} is later than {e.latest}, the recording date (UTC) and a day "
            "of tolerance: an entry records what has taken effect; only a withdrawal or a "
            "denunciation with notice (StateLeftNetwork or Denunciation, with notified_on) "
            "may take effect later")])


def _conference_scheduled(_: None, p: c.ConferenceScheduled, e: Entry, s: Streams) -> Stream:
    if p.network is not None:
        require(s, Network, p.network)
    require_state(s, p.host_state, "host_state")
    return Conference.schedule_new(p, e)


def _conference_rescheduled(x: Conference, p: c.ConferenceRescheduled, e: Entry,
                            s: Streams) -> None:
    x.reschedule(p, e)


def _conference_cancelled(x: Conference, p: c.ConferenceCancelled, e: Entry, s: Streams) -> None:
    x.cancel(p, e)


def _conference_held(x: Conference, p: c.ConferenceHeld, e: Entry, s: Streams) -> None:
    x.hold(p, e)


def _delegation_attended(x: Conference, p: c.DelegationAttended, e: Entry, s: Streams) -> None:
    x.require_exists()
    require_state(s, p.state)
    x.attend(p, e)


def _session_held(x: Conference, p: c.SessionHeld, e: Entry, s: Streams) -> None:
    x.require_exists()
    for i, speaker in enumerate(p.speakers or ()):
        if speaker.state is not None:
            require_state(s, speaker.state, f"speakers.{i}.state")
    x.hold_session(p, e)


def _declaration_adopted(_: None, p: c.DeclarationAdopted, e: Entry, s: Streams) -> Stream:
    if p.conference is not None:
        require(s, Conference, p.conference)
    if p.network is not None:
        require(s, Network, p.network)
    return Declaration.adopt(p, e)


def _declaration_signed(d: Declaration, p: c.DeclarationSigned, e: Entry, s: Streams) -> None:
    d.require_exists()
    require_state(s, p.state)
    d.sign(p, e)


def _signature_withdrawn(d: Declaration, p: c.SignatureWithdrawn, e: Entry, s: Streams) -> None:
    d.withdraw(p, e)


def _instrument_adopted(_: None, p: c.InstrumentAdopted, e: Entry, s: Streams) -> Stream:
    if p.conference is not None:
        require(s, Conference, p.conference)
    if p.network is not None:
        require(s, Network, p.network)
    return Instrument.adopt(p, e)


def _decision(event_class: type[Stream.Event]) -> Command:
    """The command of a decision on a network or an instrument that names a state (if any)
    and is checked over its aggregate's whole timeline (`Network.decide`,
    `Instrument.decide`)."""
    def decide(aggregate: Network | Instrument, p: Any, e: Entry, s: Streams) -> None:
        aggregate.require_exists()
        if p.state is not None:
            require_state(s, p.state)
        aggregate.decide(event_class, p, e)
    return decide


Command = Callable[[Any, Any, Entry, Streams], Any]

# type -> (aggregate class, payload field holding its code, creates the stream?, command)
_COMMANDS: dict[str, tuple[type[Stream], str, bool, Command]] = {
    "NetworkEstablished": (Network, "network", True, _network_established),
    "StatuteApproved": (Network, "network", False, _statute_approved),
    "StateRegistered": (RegisteredState, "state", True, _state_registered),
    "StateJoinedNetwork": (Network, "network", False, _state_joined),
    "StateLeftNetwork": (Network, "network", False, _state_left),
    "WithdrawalRevoked": (Network, "network", False, _decision(Network.WithdrawalRevoked)),
    "MembershipSuspended": (Network, "network", False,
                            _decision(Network.MembershipSuspended)),
    "SuspensionLifted": (Network, "network", False, _decision(Network.SuspensionLifted)),
    "OfficeAssumed": (Network, "network", False, _office_assumed),
    "OfficeRelinquished": (Network, "network", False, _decision(Network.OfficeRelinquished)),
    "ConferenceScheduled": (Conference, "conference", True, _conference_scheduled),
    "ConferenceRescheduled": (Conference, "conference", False, _conference_rescheduled),
    "ConferenceCancelled": (Conference, "conference", False, _conference_cancelled),
    "ConferenceHeld": (Conference, "conference", False, _conference_held),
    "DelegationAttended": (Conference, "conference", False, _delegation_attended),
    "SessionHeld": (Conference, "conference", False, _session_held),
    "DeclarationAdopted": (Declaration, "declaration", True, _declaration_adopted),
    "DeclarationSigned": (Declaration, "declaration", False, _declaration_signed),
    "SignatureWithdrawn": (Declaration, "declaration", False, _signature_withdrawn),
    "InstrumentAdopted": (Instrument, "instrument", True, _instrument_adopted),
    "ConsentExpressed": (Instrument, "instrument", False,
                         _decision(Instrument.ConsentExpressed)),
    "InstrumentEnteredIntoForce": (Instrument, "instrument", False,
                                   _decision(Instrument.InstrumentEnteredIntoForce)),
    "Denunciation": (Instrument, "instrument", False, _decision(Instrument.Denunciation)),
}
# The types whose entries can be corrected: all but retractions and corrections.
CORRECTABLE = frozenset(_COMMANDS)


def _event_classes() -> list[type[Stream.Event]]:
    classes: list[type[Stream.Event]] = [Stream.EntryRetracted, Stream.EntryCorrected]
    for aggregate in AGGREGATES:
        for value in vars(aggregate).values():
            if (
                isinstance(value, type)
                and issubclass(value, Stream.Event)
                and value.__name__ in c.CATALOGUE
            ):
                classes.append(value)
    return classes


TOPICS_BY_TYPE: dict[str, tuple[str, ...]] = {}
for _cls in _event_classes():
    TOPICS_BY_TYPE[_cls.__name__] = (*TOPICS_BY_TYPE.get(_cls.__name__, ()), get_topic(_cls))
assert set(TOPICS_BY_TYPE) == set(c.CATALOGUE), "every public type needs an event class"
# A stored first entry names its aggregate's topic: registered now, so that it resolves
# without importing a module by its stored name.
for _aggregate in AGGREGATES:
    get_topic(_aggregate)


@lru_cache(maxsize=256)
def public_type(topic: str) -> str:
    """The public type name of a stored event's topic."""
    name: str = resolve_topic(topic).__name__
    return name
