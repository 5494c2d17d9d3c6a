"""An instrument that binds only the states that consent to it: a statute, an agreement or
a protocol, adopted, then signed, ratified (or accepted, approved, acceded to), in force
generally and for each state, and denounced.

The forms of consent are the UN Treaty Collection's. Each state's steps are change points of
its timeline, ordered by effective date, and each must fall where the state's standing
allows it, wherever it falls:

- a signature, where the state has neither signed nor consented to be bound;
- a ratification, acceptance or approval, where it has signed and is not yet bound;
- an accession or a definitive signature (consent without a signature before it), where it
  has neither signed nor is bound;
- a stated entry into force for the state, where it is bound, on or after the instrument's
  general entry into force, once for each consent to be bound;
- a denunciation, where it is bound, notice of it given on or after the consent; it takes
  effect on its effective date, which may be later than the day it is recorded.

None comes before the adoption. The general entry into force is recorded once, and, when
the instrument says how many consents it needs, only on a day when that many states are
bound.

Without a stated date, an instrument enters into force for a state on the later of its
consent to be bound and the general entry into force. A state is then a *party*; bound
but not yet in force for it, a *contracting state*; signed but not bound, a *signatory*.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, NamedTuple

from concord.domain import catalogue as c
from concord.domain.errors import Contradiction
from concord.domain.stream import Entry, Stream
from concord.domain.timeline import EMPTY, Change, Timeline, added

SIGNATURE = "signature"
AFTER_SIGNATURE = frozenset({"ratification", "acceptance", "approval"})
ALONE = frozenset({"accession", "definitive-signature"})
IN_FORCE = "in-force"  # a stated entry into force for one state
DENOUNCED = "denunciation"
GENERAL = "*general"  # the key of the general entry into force: no state code can be it

# A state's standing before a step: None (neither signed nor bound), "signed", "bound", or
# "stated" (bound, its own entry into force recorded).
_ALLOWED: dict[str, set[str | None]] = {
    SIGNATURE: {None}, IN_FORCE: {"bound"}, DENOUNCED: {"bound", "stated"},
    **{form: {"signed"} for form in AFTER_SIGNATURE}, **{form: {None} for form in ALONE}}
_AFTER: dict[str, str | None] = {
    SIGNATURE: "signed", IN_FORCE: "stated", DENOUNCED: None,
    **{form: "bound" for form in AFTER_SIGNATURE | ALONE}}


class Instrument(Stream):
    """An instrument such as a network's constitutive statute, with its states' consents."""

    prefix = "instrument"
    kind = "instrument"

    class Event(Stream.Event):
        pass

    class InstrumentAdopted(Event, Stream.Created):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.exists = True
            aggregate.title = self.data["title"]
            aggregate.adopted_on = self.effective_date
            aggregate.adopted_version = self.originator_version
            aggregate.required = (self.data.get("entry_into_force") or {}).get(
                "consents_required")
            aggregate.touched.add(Stream.WHOLE)

    class ConsentExpressed(Event):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.step(self.data["state"], Change(
                self.effective_date, self.order, self.data["form"], self.originator_version))

    class InstrumentEnteredIntoForce(Event):
        def apply_fact(self, aggregate: Any) -> None:
            change = Change(self.effective_date, self.order, IN_FORCE, self.originator_version)
            if self.data.get("state"):
                aggregate.step(self.data["state"], change)
            else:
                aggregate.general = added(aggregate.general, change)
                aggregate.touched.add(Stream.WHOLE)  # every stated date depends on it

    class Denunciation(Event):
        def apply_fact(self, aggregate: Any) -> None:
            aggregate.notices = {**aggregate.notices,
                                 self.originator_version: self.data["notified_on"]}
            aggregate.step(self.data["state"], Change(
                self.effective_date, self.order, DENOUNCED, self.originator_version))

    def _reset(self) -> None:
        self.title = ""
        self.adopted_on = ""
        self.adopted_version = 0
        self.required: int | None = None
        self.steps: dict[str, Timeline] = {}
        self.general: Timeline = EMPTY
        self.notices: dict[int, str] = {}  # a denunciation's entry -> the date of its notice

    def step(self, state: str, change: Change) -> None:
        """Put a step (a form of consent, IN_FORCE or DENOUNCED) in the state's timeline."""
        self.steps[state] = added(self.steps.get(state, EMPTY), change)
        self.touched.add(state)

    @classmethod
    def adopt(cls, p: c.InstrumentAdopted, entry: Entry) -> Instrument:
        """Record the adoption of a new instrument."""
        return cls.start(cls.InstrumentAdopted, p.instrument, p, entry)

    def decide(self, event_class: type[Stream.Event], p: c.Payload, entry: Entry) -> None:
        """Record a consent, an entry into force or a denunciation; the rules over the whole
        timeline are checked once the submission (or its batch) is applied."""
        self.require_exists()
        self.record(event_class, p, entry)

    @property
    def in_force_on(self) -> str | None:
        """The date of the general entry into force, if recorded."""
        return self.general[0].day if self.general else None

    def problems(self, keys: set[str]) -> dict[tuple[Any, ...], Contradiction]:
        """What breaks the rules among the steps of `keys`: a step before the adoption, a
        step the state's standing does not allow (`step_breaks`), a second general entry
        into force, and one on a day when fewer states are bound than it needs."""
        found: dict[tuple[Any, ...], Contradiction] = {}
        states = self.steps.keys() if Stream.WHOLE in keys else keys & self.steps.keys()
        general = self.in_force_on
        for state in states:
            timeline = self.steps[state]
            if timeline[0].day < self.adopted_on:
                found["early", state, timeline[0].entry] = self._early(state, timeline[0])
            for subject, before, why in step_breaks(timeline, general, self.notices):
                found["step", state, subject.entry] = self._step_problem(
                    state, subject, before, why)
        if self.general:
            first = self.general[0]
            if first.day < self.adopted_on:
                found["early", GENERAL, first.entry] = self._early(None, first)
            for again in self.general[1:]:
                found["same", GENERAL, again.entry] = Contradiction(
                    f"{self.code} would enter into force twice: on {first.day} ({{before}}) and "
                    f"on {again.day} ({{subject}}); retract or correct one of them",
                    **self.change_refs(again, first))
            if self.required is not None:
                bound = bound_on(self.steps, first.day)
                if len(bound) < self.required:
                    found["count", GENERAL, first.entry] = self._too_few(first, bound)
        return found

    def _early(self, state: str | None, first: Change) -> Contradiction:
        what = (f"{state} cannot take a step on {self.code}" if state else
                f"{self.code} cannot enter into force")
        return Contradiction(
            f"{what} on {first.day} ({{subject}}): it was adopted on {self.adopted_on} "
            "({adopted})", subject=self.ref(first.entry, first.day),
            adopted=self.ref(self.adopted_version, self.adopted_on))

    def _too_few(self, first: Change, bound: list[str]) -> Contradiction:
        who = f": {', '.join(bound)}" if bound else ""
        return Contradiction(
            f"{self.code} enters into force once {self.required} states have consented to be "
            f"bound by it, and on {first.day} ({{subject}}) only {len(bound)} "
            f"{'was' if len(bound) == 1 else 'were'}{who}",
            subject=self.ref(first.entry, first.day))

    def _step_problem(self, state: str, subject: Change, before: Change | None,
                      why: str) -> Contradiction:
        refs = self.change_refs(subject, before)
        step, day, code = subject.value, subject.day, self.code
        what = ("its entry into force for it" if step == IN_FORCE else
                "a denunciation" if step == DENOUNCED else f"its {step}")
        if why == "general":
            if not self.general:
                return Contradiction(
                    f"{code} has no entry into force on record, so it cannot enter into force "
                    f"for {state} on {day} ({{subject}}): a state's own date is on or after "
                    "the instrument's", **refs)
            first = self.general[0]
            return Contradiction(
                f"{code} entered into force only on {first.day} ({{general}}), so it cannot "
                f"enter into force for {state} on {day} ({{subject}}): a state's own date is "
                "on or after that", **refs, general=self.ref(first.entry, first.day))
        if why == "notice":
            assert before is not None
            return Contradiction(
                f"{state} gave notice of its denunciation of {code} ({{subject}}) on "
                f"{self.notices[subject.entry]}, before it consented to be bound on "
                f"{before.day} ({{before}}): notice is given once bound", **refs)
        if before is None:
            if step in AFTER_SIGNATURE:
                return Contradiction(
                    f"{state} has not signed {code} by {day}, so it cannot express its consent "
                    f"by {step} then ({{subject}}): {step} follows a signature; record the "
                    "signature first, or the consent as accession", **refs)
            return Contradiction(
                f"{state} has not consented to be bound by {code} by {day}, so {what} cannot "
                "be recorded then ({subject})", **refs)
        earlier = before.value
        if earlier == DENOUNCED:
            was = f"denounced {code} with effect from {before.day} ({{before}})"
        elif earlier == SIGNATURE:
            was = f"signed {code} on {before.day} ({{before}})"
        elif earlier == IN_FORCE:
            was = f"is bound by {code}, in force for it since {before.day} ({{before}})"
        else:
            was = f"is bound by {code} since {before.day} ({{before}}, by {earlier})"
        if why == "signed" and step == SIGNATURE:
            rule = "a second signature would change nothing"
        elif why == "signed":
            rule = (f"its consent to be bound follows by ratification, acceptance or approval, "
                    f"not by {step}")
        elif why == "stated":
            rule = "a second entry into force for it would change nothing"
        elif why == "bound" and step == SIGNATURE:
            rule = "it cannot sign it: it is bound by it already"
        elif why == "bound":
            rule = f"it cannot consent again unless it denounces {code} first"
        elif step in AFTER_SIGNATURE:
            rule = (f"it cannot express its consent by {step}, which follows a signature: "
                    "record one first, or the consent as accession")
        else:
            rule = f"{what} cannot be recorded: it is not bound by {code}"
        return Contradiction(f"{state} {was}, so on {day} ({{subject}}) {rule}", **refs)


def step_breaks(timeline: Timeline, general: str | None, notices: Mapping[int, str]
                ) -> list[tuple[Change, Change | None, str]]:
    """The steps of one state that its standing does not allow, each with the step it
    contradicts (the last allowed one before it, None if there is none) and why: "signed"
    (it has signed: a form that stands alone cannot follow), "bound" (already bound),
    "stated" (its entry into force is on record), "general" (a stated entry into force
    before the general one), "notice" (notice of denunciation before the consent), or
    "standing" (anything else the standing forbids)."""
    found: list[tuple[Change, Change | None, str]] = []
    standing: str | None = None
    last: Change | None = None
    consent: Change | None = None  # the consent to be bound in force
    for change in timeline:
        step = change.value
        assert step is not None
        if standing not in _ALLOWED[step]:
            why = ("signed" if standing == "signed" and step in ALONE | {SIGNATURE} else
                   "stated" if standing == "stated" and step == IN_FORCE else
                   "bound" if standing in ("bound", "stated") and step != IN_FORCE else
                   "standing")
            found.append((change, last, why))
            continue
        if step == IN_FORCE and (general is None or change.day < general):
            found.append((change, last, "general"))
            continue
        if step == DENOUNCED and consent is not None and notices.get(
                change.entry, change.day) < consent.day:
            found.append((change, consent, "notice"))
            continue
        if step in AFTER_SIGNATURE | ALONE:
            consent = change
        standing, last = _AFTER[step], change
    return found


class Consent(NamedTuple):
    """One consent of a state, from its signature (if any) to the denunciation's effect
    (if any): the steps of its timeline that keep the rules."""

    state: str
    signed_on: str | None
    bound_on: str | None  # its consent to be bound
    form: str | None  # the form of that consent
    stated_on: str | None  # its own entry into force, if stated
    ends_on: str | None  # the denunciation takes effect
    notified_on: str | None  # notice of the denunciation was given

    @property
    def starts_on(self) -> str:
        """The first day of this consent."""
        return self.signed_on or self.bound_on or ""

    def in_force_on(self, general: str | None) -> str | None:
        """The day the instrument enters into force for the state: the stated one, else
        the later of its consent to be bound and the general entry into force; None if it
        never does (no general entry into force, or denounced before)."""
        own = self.stated_on or self.bound_on
        if own is None or general is None:
            return None
        day = max(own, general)  # a stated date is never earlier, once the rules hold
        if self.ends_on is not None and self.ends_on <= day:
            return None
        return day

    def standing_on(self, day: str, general: str | None) -> str | None:
        """On `day`: "party" (bound, in force for it), "contracting" (bound, not yet in
        force for it), "signatory" (signed, not bound), or None (before it, or denounced)."""
        if day < self.starts_on or (self.ends_on is not None and self.ends_on <= day):
            return None
        if self.bound_on is None or day < self.bound_on:
            return "signatory"
        in_force = self.in_force_on(general)
        return "party" if in_force is not None and in_force <= day else "contracting"


def consents(state: str, steps: Iterable[tuple[str, str, str | None]]) -> list[Consent]:
    """The consents of `state` that its steps make: (day, step, notice date) in
    effective-date order, each allowed by the rules."""
    found: list[Consent] = []
    current: Consent | None = None
    for day, step, notice in steps:
        if step == SIGNATURE or (step in ALONE and current is None):
            if current is not None:
                found.append(current)
            current = Consent(state, day if step == SIGNATURE else None,
                              None if step == SIGNATURE else day,
                              None if step == SIGNATURE else step, None, None, None)
        elif current is None:
            continue
        elif step in AFTER_SIGNATURE:
            current = current._replace(bound_on=day, form=step)
        elif step == IN_FORCE:
            current = current._replace(stated_on=day)
        elif step == DENOUNCED:
            found.append(current._replace(ends_on=day, notified_on=notice))
            current = None
    if current is not None:
        found.append(current)
    return found


def bound_on(steps: Mapping[str, Timeline], day: str) -> list[str]:
    """The states bound on `day` (consented to be bound, not denounced), by code."""
    return sorted(
        state for state, timeline in steps.items()
        if any(consent.bound_on is not None and consent.bound_on <= day
               and (consent.ends_on is None or day < consent.ends_on)
               for consent in consents(state, ((change.day, str(change.value), None)
                                               for change in timeline))))
