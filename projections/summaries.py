"""One line saying what an entry records, as a person would put it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from concord.domain.codes import iso_name
from concord.domain.envelope import Envelope

# (kind, code) -> the name on record ('network', 'RELACOPAZ') -> 'Latin American ...', or None
Names = Callable[[str, str], str | None]


def no_names(kind: str, code: str) -> str | None:
    """A lookup that knows no names: summaries then use codes."""
    return None


# How a form of consent reads: 'Argentina ratified ...'.
_CONSENTED = {"signature": "signed", "ratification": "ratified", "acceptance": "accepted",
              "approval": "approved", "accession": "acceded to",
              "definitive-signature": "signed definitively"}


def summarize(envelope: Envelope, names: Names = no_names) -> str:
    """'Argentina signed the Buenos Aires Declaration (BUENOS-AIRES-2023)'."""
    d: dict[str, Any] = envelope["data"]

    def state(code: str) -> str:
        return iso_name(code) or names("state", code) or code

    # Networks, declarations and instruments are named ("Buenos Aires Declaration
    # (BUENOS-AIRES-2023)"); conferences go by their code, their titles being too long for
    # one line.
    def called(kind: str, code: str) -> str:
        name = names(kind, code)
        return f"{name} ({code})" if name else code

    def dates() -> str:
        return f"{d['starts_on']} to {d['ends_on']}" if d.get("ends_on") else d["starts_on"]

    def at() -> str:
        return f" at {d['conference']}" if d.get("conference") else ""

    match envelope["type"]:
        case "NetworkEstablished":
            return f"{d['network']} established: {d['name']}"
        case "StatuteApproved":
            return f"{called('network', d['network'])} approved its {d['title']}{at()}"
        case "StateRegistered":
            return f"{d['state']} registered for {d['name']}"
        case "StateJoinedNetwork":
            return f"{state(d['state'])} joined {called('network', d['network'])} as {d['role']}"
        case "StateLeftNetwork":
            notice = f" (notice given on {d['notified_on']})" if d.get("notified_on") else ""
            return f"{state(d['state'])} left {called('network', d['network'])}{notice}"
        case "WithdrawalRevoked":
            return (f"{state(d['state'])} revoked its withdrawal from "
                    f"{called('network', d['network'])}")
        case "MembershipSuspended":
            by = f" by {d['authority']}" if d.get("authority") else ""
            return f"{state(d['state'])} suspended from {called('network', d['network'])}{by}"
        case "SuspensionLifted":
            return (f"{state(d['state'])}'s suspension from "
                    f"{called('network', d['network'])} lifted")
        case "OfficeAssumed":
            until = f" until {d['term_ends_on']}" if d.get("term_ends_on") else ""
            return (f"{state(d['state'])} assumed the office {d['office']} of "
                    f"{called('network', d['network'])}{until}")
        case "OfficeRelinquished":
            return (f"{state(d['state'])} relinquished the office {d['office']} of "
                    f"{called('network', d['network'])}")
        case "ConferenceScheduled":
            city = f"{d['city']}, " if d.get("city") else ""
            return (f"{d['conference']} scheduled: {d['title']}, {city}"
                    f"{state(d['host_state'])}, {dates()}")
        case "ConferenceRescheduled":
            return f"{d['conference']} rescheduled: {dates()}"
        case "ConferenceCancelled":
            return f"{d['conference']} cancelled"
        case "ConferenceHeld":
            return f"{d['conference']} held"
        case "DelegationAttended":
            return (f"{state(d['state'])} attended {d['conference']} "
                    f"as {d['role']}")
        case "SessionHeld":
            speakers = ": " + ", ".join(s["name"] for s in d["speakers"]) if d.get(
                "speakers") else ""
            return f"{d['conference']} session: {d['title']}{speakers}"
        case "DeclarationAdopted":
            return f"{d['title']} ({d['declaration']}) adopted{at()}"
        case "DeclarationSigned":
            return f"{state(d['state'])} signed {called('declaration', d['declaration'])}"
        case "SignatureWithdrawn":
            return (f"{state(d['state'])} withdrew its signature from "
                    f"{called('declaration', d['declaration'])}")
        case "InstrumentAdopted":
            return f"{d['title']} ({d['instrument']}) adopted{at()}"
        case "ConsentExpressed":
            return (f"{state(d['state'])} {_CONSENTED[d['form']]} "
                    f"{called('instrument', d['instrument'])}")
        case "InstrumentEnteredIntoForce":
            whom = f" for {state(d['state'])}" if d.get("state") else ""
            return f"{called('instrument', d['instrument'])} entered into force{whom}"
        case "Denunciation":
            return (f"{state(d['state'])} denounced {called('instrument', d['instrument'])} "
                    f"(notice given on {d['notified_on']})")
        case "EntryRetracted":
            return f"entry {d['position']} retracted: {d['reason']}"
        case "EntryCorrected":
            fact: Envelope = {**envelope, "type": d["replacement"]["type"],
                              "data": d["replacement"]["data"]}
            return (f"entry {d['position']} corrected ({d['reason']}): "
                    f"{summarize(fact, names)}")
    return envelope["type"]
