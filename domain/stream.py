"""The base of every aggregate: a stream of entries that can be retracted but never removed."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from eventsourcing.domain import (
    BaseAggregate,
    CanInitAggregate,
    CanMutateAggregate,
    MetaDomainEvent,
)
from eventsourcing.utils import get_topic, resolve_topic

from concord.domain.catalogue import EntryCorrected as CorrectionPayload
from concord.domain.catalogue import EntryRetracted as RetractionPayload
from concord.domain.catalogue import Payload
from concord.domain.errors import Contradiction, EntryRef, NotFound, RuleViolation
from concord.domain.timeline import Change

S = TypeVar("S", bound="Stream")


def stored_topic(cls: type) -> str:
    """The topic eventsourcing stores for `cls` (an aggregate or an event class): its module
    and name as they were when the model was the top-level package `domain`
    ('domain.network:Network.StateJoinedNetwork'). Installed under `concord`, the classes
    keep the topics every log on record was written with, and new entries are stored alike."""
    return f"{cls.__module__.removeprefix('concord.')}:{cls.__qualname__}"


@dataclass(frozen=True)
class Fact:
    """What an entry states, apart from the entry itself: for a correction, the fact it puts
    in place of the corrected one (applied by the corrected type's `apply_fact`)."""

    data: dict[str, Any]
    effective_date: str
    originator_version: int  # the correction's version, to name it
    order: int  # the first corrected entry's: the correction takes its place among same-day
    # facts


@dataclass(frozen=True)
class Entry:
    """What every submission carries besides its payload, and `latest`: the latest
    effective date the log takes for it (the recording date, UTC, and a day of tolerance;
    only a withdrawal with notice may be later)."""

    effective_date: str
    source: str | None
    recorded_by: str
    latest: str = "9999-12-31"


class Stream(BaseAggregate[str]):
    """An aggregate whose state is the fold of its entries that have not been retracted.

    A retraction never removes an entry: the aggregate keeps every entry and, when one is
    retracted, folds the rest again from the start, so its rules then see the corrected record.
    """

    # Plain assignments, not annotations: annotations would make eventsourcing turn the
    # aggregate into a dataclass whose generated __init__ hides this one.
    prefix = ""
    kind = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.TOPIC = stored_topic(cls)  # type: ignore[attr-defined]  # get_topic reads it

    @dataclass(frozen=True)
    class Event(CanMutateAggregate[str], metaclass=MetaDomainEvent):
        """An entry in a stream; `data` is its public payload, exactly as recorded."""

        originator_id: str
        originator_version: int
        timestamp: datetime
        data: dict[str, Any]
        effective_date: str
        source: str | None
        recorded_by: str

        def __init_subclass__(cls, **kwargs: Any) -> None:
            super().__init_subclass__(**kwargs)
            cls.TOPIC = stored_topic(cls)  # type: ignore[attr-defined]  # get_topic reads it

        def apply(self, aggregate: Any) -> None:
            aggregate._absorb(self)

        def apply_fact(self, aggregate: Any) -> None:
            """Evolve the aggregate's derived state by this entry's fact."""

        @property
        def order(self) -> int:
            """Where this entry's fact stands among the stream's facts of the same date."""
            return self.originator_version

    @dataclass(frozen=True)
    class Created(CanInitAggregate[str], Event):
        """The first entry of a stream."""

        originator_topic: str

        def mutate(self, aggregate: Any) -> Any:
            # The library's version inspects __init__'s signature on every call; ours takes
            # no arguments, so build the aggregate directly.
            assert aggregate is None
            aggregate_class = resolve_topic(self.originator_topic)
            created = aggregate_class.__new__(aggregate_class)
            created.__base_init__(self.originator_id, self.originator_version, self.timestamp)
            created.__init__()
            self.apply(created)
            return created

    @dataclass(frozen=True)
    class EntryRetracted(Event):
        """Retracts the entry of this stream at `retracted_version` (public: its position)."""

        retracted_version: int

    @dataclass(frozen=True)
    class EntryCorrected(Event):
        """Replaces the fact of the entry at `corrected_version` with the one in
        `data["replacement"]`, from this entry on; the corrected entry stays on record."""

        corrected_version: int

    # What `touched` holds for an aggregate whose rules span all its entries.
    WHOLE = "*"

    def __init__(self) -> None:
        # Versions of entries that no longer count (retracted or corrected). Only the derived
        # state is kept, never the entries themselves: an aggregate stays small however long
        # its stream grows.
        self.retracted: set[int] = set()
        # A correction's version -> the place its fact takes among same-day facts: the
        # version of the entry its chain of corrections first corrected.
        self.places: dict[int, int] = {}
        self.exists = False
        # The keys (states, or WHOLE) whose facts changed since the last snapshot: where the
        # rules must be checked again before the change is accepted.
        self.touched: set[str] = set()
        self._reset()

    @classmethod
    def fact_classes(cls) -> dict[str, type[Stream.Event]]:
        """This aggregate's event classes by public type name."""
        found = cls.__dict__.get("_fact_classes")
        if found is None:
            found = {name: value for klass in reversed(cls.__mro__)
                     for name, value in vars(klass).items()
                     if isinstance(value, type) and issubclass(value, Stream.Event)}
            cls._fact_classes = found  # type: ignore[attr-defined]
        return found

    @classmethod
    def stream_id(cls, code: str) -> str:
        """The stream of the entity with this code, e.g. 'network:RELACOPAZ'."""
        return f"{cls.prefix}:{code}"

    @property
    def code(self) -> str:
        """The entity's code, without the stream prefix."""
        return self.id.partition(":")[2]

    def _reset(self) -> None:
        """Put the derived state back to what it is before the first entry."""

    def _absorb(self, event: Stream.Event) -> None:
        if isinstance(event, Stream.EntryRetracted):
            # The fact it retracts was already folded in: only a fold of the whole stream
            # (`fold`) can take it out. Whoever triggers or replays a retraction folds.
            self.retracted.add(event.retracted_version)
        elif isinstance(event, Stream.EntryCorrected):
            # The same for the fact it corrects; the fact it brings counts from here on, in
            # the place of the first entry of the chain it corrects (a correction of a
            # correction stands where the entry first corrected stood).
            self.retracted.add(event.corrected_version)
            place = self.places.get(event.corrected_version, event.corrected_version)
            self.places[event.originator_version] = place
            if event.originator_version not in self.retracted:
                replacement = event.data["replacement"]
                fact = Fact(replacement["data"], event.effective_date, event.originator_version,
                            place)
                self.fact_classes()[replacement["type"]].apply_fact(fact, self)  # type: ignore[arg-type]
        elif event.originator_version not in self.retracted:
            event.apply_fact(self)

    @staticmethod
    def fold(events: Sequence[Stream.Event]) -> Stream:
        """The aggregate of a whole stream, its retracted and corrected entries not counted."""
        retracted = {e.retracted_version for e in events if isinstance(e, Stream.EntryRetracted)}
        retracted |= {e.corrected_version for e in events if isinstance(e, Stream.EntryCorrected)}
        aggregate = events[0].mutate(None)
        assert isinstance(aggregate, Stream)
        if retracted:
            aggregate.retracted = retracted
            if events[0].originator_version in retracted:
                aggregate.exists = False
                aggregate._reset()
        for event in events[1:]:
            event.mutate(aggregate)
        return aggregate

    def state(self) -> dict[str, Any]:
        """The derived state, for comparing two copies of the same aggregate."""
        return {
            k: v for k, v in vars(self).items()
            if k not in ("_modified_on", "_pending_events", "touched")
        }

    def snapshot(self) -> Stream:
        """A copy to put back if what follows is refused; from now on `touched` says what
        changed since it. Cheap: the derived state's parts are replaced, never changed in
        place, except the containers copied here."""
        kept = copy.copy(self)
        for name, value in vars(self).items():
            if isinstance(value, (list, dict, set)):
                setattr(kept, name, copy.copy(value))
        self.touched = set()
        kept.touched = set()
        return kept

    def problems(self, keys: set[str]) -> dict[tuple[Any, ...], Contradiction]:
        """What breaks the aggregate's rules among the facts of `keys`, by what it is."""
        return {}

    def effects(self, before: Stream | None) -> list[dict[str, Any]]:
        """What the changes since `before` (a snapshot, or None for a new stream) change in
        what the record says, for a person to check before recording them (a dry run):
        none, unless the aggregate says."""
        return []

    def new_problem(self, before: Stream | None) -> Contradiction | None:
        """The first problem of the changes since `before` (a snapshot, or None for a new
        stream) that `before` did not have already."""
        keys = self.touched
        if not keys or not self.exists:
            return None
        old = before.problems(keys) if before is not None and before.exists else {}
        for key, problem in self.problems(keys).items():
            if key not in old:
                return problem
        return None

    def ref(self, version: int, effective_date: str) -> EntryRef:
        """The entry of this stream at `version`, to be named in an error."""
        return EntryRef(self.id, version, effective_date)

    def change_refs(self, subject: Change, before: Change | None) -> dict[str, EntryRef]:
        """A change that changes nothing (`subject`) and the one before it, to be named."""
        refs = {"subject": self.ref(subject.entry, subject.day)}
        if before is not None:
            refs["before"] = self.ref(before.entry, before.day)
        return refs

    def record(self, event_class: type[Stream.Event], payload: Payload, entry: Entry,
               **extra: Any) -> None:
        """Trigger `event_class` with the payload and the entry's metadata."""
        # What trigger_event does, without its generic keyword-argument handling (this is
        # the writer's hot path).
        event = event_class(
            originator_id=self.id,
            originator_version=self.version + 1,
            timestamp=event_class.create_timestamp(),
            data=payload.model_dump(mode="json", exclude_none=True),
            effective_date=entry.effective_date,
            source=entry.source,
            recorded_by=entry.recorded_by,
            **extra,
        )
        event.mutate(self)
        self.pending_events.append(event)

    @classmethod
    def start(cls: type[S], event_class: type[Stream.Created], code: str, payload: Payload,
              entry: Entry) -> S:
        """Create the stream of a new entity with its first entry."""
        event = event_class(
            originator_topic=get_topic(cls),
            originator_id=cls.stream_id(code),
            originator_version=cls.INITIAL_VERSION,
            timestamp=event_class.create_timestamp(),
            data=payload.model_dump(mode="json", exclude_none=True),
            effective_date=entry.effective_date,
            source=entry.source,
            recorded_by=entry.recorded_by,
        )
        aggregate: S = event.mutate(None)
        aggregate.pending_events.append(event)
        return aggregate

    def require_exists(self) -> None:
        """Refuse when the entity's founding entry has been retracted."""
        if not self.exists:
            raise NotFound(
                f"{self.kind} {self.code} is not on record: the entry that created it was "
                "retracted, and codes are never reused"
            )

    def retract(self, events: Sequence[Stream.Event], version: int, position: int, reason: str,
                entry: Entry) -> Stream:
        """Retract this stream's entry at `version` (at `position` in the log), given all the
        stream's `events`; return the aggregate folded again without it, the retraction
        pending on it."""
        self._require_standing(events, version, position, "retracted")
        self.record(
            Stream.EntryRetracted,
            RetractionPayload(position=position, reason=reason),
            entry,
            retracted_version=version,
        )
        return self._folded(events)

    def correct(self, events: Sequence[Stream.Event], version: int, payload: CorrectionPayload,
                entry: Entry) -> Stream:
        """Correct this stream's entry at `version` (at `payload.position` in the log) with
        `payload.replacement`, given all the stream's `events`; return the aggregate folded
        again, the correction pending on it."""
        self._require_standing(events, version, payload.position, "corrected")
        self.record(Stream.EntryCorrected, payload, entry, corrected_version=version)
        return self._folded(events)

    def _require_standing(self, events: Sequence[Stream.Event], version: int, position: int,
                          what: str) -> Stream.Event:
        target = next((e for e in events if e.originator_version == version), None)
        if target is None:
            raise NotFound(f"position {position} is not an entry of {self.id}", "position")
        if isinstance(target, Stream.EntryRetracted):
            raise RuleViolation(
                f"position {position} is itself a retraction; a retraction cannot be {what}")
        if version in self.retracted:
            correction = next((e for e in events if isinstance(e, Stream.EntryCorrected)
                               and e.corrected_version == version), None)
            if correction is None:
                raise RuleViolation(f"position {position} has already been retracted")
            if correction.originator_version in self.retracted:
                raise RuleViolation(
                    f"position {position} has already been corrected, and its correction "
                    "retracted: the fact is withdrawn; record it anew if it holds")
            raise RuleViolation(
                f"position {position} has already been corrected: the correction stands in "
                "its place (history names it as retracted_by); correct or retract the "
                "correction instead")
        return target

    def _folded(self, events: Sequence[Stream.Event]) -> Stream:
        pending = [e for e in self.pending_events if isinstance(e, Stream.Event)]
        folded = Stream.fold([*events, *pending])
        folded.pending_events.extend(self.collect_events())
        # The fold built every fact again: every key must be checked again.
        folded.touched = set(folded.touched) | {Stream.WHOLE}
        return folded
