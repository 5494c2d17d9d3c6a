"""Which checkpoints a verifier accepts: C2SP tlog-policy.

A policy names the logs whose signature makes a checkpoint (any one of them, for the origin
it signs), the witnesses whose cosignatures count, and a quorum: one witness, a group of
witnesses and groups with a threshold (`all`, `any` or k of n), or `none`. The file format
is the spec's, line by line:

    log <vkey> [<url>]
    witness <name> <vkey> [<url>]
    group <name> all|any|<k> <name>...
    quorum <name>|none

`Policy.of(witnesses, quorum)` builds the common case, k of the witnesses given, as
`concord verify --witness VKEY... --quorum K` asks for it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from concord.tlog.cosignature import CosignatureVerifier
from concord.tlog.notes import Checkpoint, NoteError, Verifier, split_note

NONE = "none"
_WHITESPACE = re.compile(r"[ \t]+")
_FORBIDDEN = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class PolicyError(NoteError):
    """A policy is malformed, or a checkpoint does not meet it."""


@dataclass(frozen=True)
class Group:
    """Witnessed when at least `threshold` of `members` (witnesses or groups) are."""

    name: str
    threshold: int
    members: tuple[str, ...]


@dataclass(frozen=True)
class Witnessed:
    """A checkpoint that met a policy, and the witnesses (by name) that cosigned it."""

    checkpoint: Checkpoint
    cosigned: tuple[str, ...]


@dataclass(frozen=True)
class Policy:
    """Logs, witnesses by name, groups by name, and the quorum's name (or `none`)."""

    logs: tuple[Verifier, ...] = ()
    witnesses: dict[str, CosignatureVerifier] = field(default_factory=dict)
    groups: dict[str, Group] = field(default_factory=dict)
    quorum: str = NONE

    @classmethod
    def of(cls, witnesses: Sequence[CosignatureVerifier], quorum: int,
           logs: Sequence[Verifier] = ()) -> Policy:
        """At least `quorum` cosignatures from `witnesses` (0: none needed)."""
        if not 0 <= quorum <= len(witnesses):
            raise PolicyError(f"a quorum of {quorum} is not possible with {len(witnesses)} "
                              f"witness{'es' if len(witnesses) != 1 else ''}: it must be "
                              f"from 0 to {len(witnesses)}")
        named: dict[str, CosignatureVerifier] = {}
        for witness in witnesses:
            if any(w.public_key == witness.public_key for w in named.values()):
                raise PolicyError(f"witness {witness.label} is given twice")
            named[witness.label] = witness
        if quorum == 0:
            return cls(tuple(logs), named)
        group = Group("quorum", quorum, tuple(named))
        return cls(tuple(logs), named, {group.name: group}, group.name)

    @classmethod
    def parse(cls, text: str) -> Policy:
        """The policy in a tlog-policy file; PolicyError naming the line at fault."""
        logs: list[Verifier] = []
        witnesses: dict[str, CosignatureVerifier] = {}
        groups: dict[str, Group] = {}
        quorum: str | None = None
        members_of_groups: set[str] = set()  # each name counts in one group at most
        for number, raw in enumerate(text.split("\n"), start=1):
            where = f"policy line {number}"
            if _FORBIDDEN.search(raw):
                raise PolicyError(f"{where} has a control character other than tab")
            line = raw.strip(" \t")
            if not line or line.startswith("#"):
                continue
            keyword, *args = _WHITESPACE.split(line)
            try:
                if keyword == "log" and len(args) in (1, 2):
                    log = Verifier.parse(args[0])
                    if any(known.public_key == log.public_key for known in logs):
                        raise PolicyError("this log's key is listed twice")
                    logs.append(log)
                elif keyword == "witness" and len(args) in (2, 3):
                    name = _new_name(args[0], witnesses, groups)
                    witness = CosignatureVerifier.parse(args[1])
                    if any(w.public_key == witness.public_key for w in witnesses.values()):
                        raise PolicyError("this witness's key is listed twice")
                    witnesses[name] = witness
                elif keyword == "group" and len(args) >= 3:
                    name = _new_name(args[0], witnesses, groups)
                    members = tuple(args[2:])
                    for member in members:
                        if member not in witnesses and member not in groups:
                            raise PolicyError(f"{member!r} is not a witness or group defined "
                                              "on an earlier line")
                    if len(set(members)) != len(members):
                        raise PolicyError("a group lists a member twice")
                    again = sorted(members_of_groups.intersection(members))
                    if again:
                        raise PolicyError(f"{', '.join(again)} is already a member of another "
                                          "group: each name may be listed once, so that a "
                                          "witness counts once")
                    members_of_groups.update(members)
                    groups[name] = Group(name, _threshold(args[1], len(members)), members)
                elif keyword == "quorum" and len(args) == 1:
                    if quorum is not None:
                        raise PolicyError("a policy has exactly one quorum line")
                    if args[0] != NONE and args[0] not in witnesses and args[0] not in groups:
                        raise PolicyError(f"{args[0]!r} is not a witness or group defined on "
                                          "an earlier line")
                    quorum = args[0]
                else:
                    raise PolicyError(f"{keyword!r} with {len(args)} argument(s) is not a "
                                      "log, witness, group or quorum line")
            except NoteError as e:
                raise PolicyError(f"{where}: {e}") from None
        if quorum is None:
            raise PolicyError("the policy has no quorum line (quorum none needs no witness)")
        return cls(tuple(logs), witnesses, groups, quorum)

    def with_logs(self, logs: Sequence[Verifier]) -> Policy:
        """This policy, accepting the checkpoints of `logs` too."""
        return Policy((*self.logs, *logs), self.witnesses, self.groups, self.quorum)

    def describe(self) -> str:
        """The quorum in words."""
        return _describe(self, self.quorum)

    def cosigners(self, note: str) -> tuple[str, ...]:
        """The names of the policy's witnesses with a valid cosignature on `note`, in policy
        order; NoteError if one of theirs is there but does not verify."""
        return tuple(name for name, witness in self.witnesses.items()
                     if witness.find(note) is not None)

    def met_by(self, cosigned: Sequence[str]) -> bool:
        """Whether the witnesses named `cosigned` make the quorum."""
        return _witnessed(self, self.quorum, frozenset(cosigned))

    def open(self, note: str, origin: str | None = None) -> Witnessed:
        """The checkpoint in `note` if one of the policy's logs signed it and its
        cosignatures meet the quorum; PolicyError (a NoteError) saying what is missing."""
        try:
            claimed = Checkpoint.parse(split_note(note)[0])
        except NoteError as e:
            raise PolicyError(f"not a checkpoint: {e}") from None
        logs = [log for log in self.logs if log.name == claimed.origin]
        if not logs:
            raise PolicyError(f"the checkpoint is of {claimed.origin!r}: no log of that origin "
                              "is trusted")
        errors = []
        for log in logs:
            try:
                checkpoint = Checkpoint.parse(log.verify(note))
                break
            except NoteError as e:
                errors.append(str(e))
        else:
            raise PolicyError("; ".join(errors))
        if origin is not None and checkpoint.origin != origin:
            raise PolicyError(f"the checkpoint is of {checkpoint.origin!r}, not {origin!r}")
        cosigned = self.cosigners(note)
        if not self.met_by(cosigned):
            have = ", ".join(cosigned) or "none"
            raise PolicyError(f"the checkpoint of {checkpoint.size} entries is not witnessed "
                              f"enough: the policy needs {self.describe()}; cosigned by: "
                              f"{have}")
        return Witnessed(checkpoint, cosigned)


def open_witnessed(note: str, verifier: Verifier | None, policy: Policy | None = None,
                   origin: str | None = None) -> Witnessed:
    """The checkpoint in `note`, signed by `verifier` (or by one of the policy's logs) and
    cosigned as `policy` demands (nothing, without one); NoteError saying what failed."""
    if policy is None:
        policy = Policy()
    if verifier is not None:
        policy = policy.with_logs([verifier])
    return policy.open(note, origin)


def _new_name(name: str, witnesses: dict[str, CosignatureVerifier],
              groups: dict[str, Group]) -> str:
    if name == NONE:
        raise PolicyError("'none' is reserved for `quorum none`")
    if name in witnesses or name in groups:
        raise PolicyError(f"the name {name!r} is defined twice")
    return name


def _threshold(word: str, members: int) -> int:
    if word == "all":
        return members
    if word == "any":
        return 1
    if not re.fullmatch(r"[1-9][0-9]*", word) or not 1 <= int(word) <= members:
        raise PolicyError(f"the threshold {word!r} must be all, any or a number from 1 to "
                          f"{members}")
    return int(word)


def _witnessed(policy: Policy, name: str, cosigned: frozenset[str]) -> bool:
    if name == NONE:
        return True
    if name in policy.witnesses:
        return name in cosigned
    group = policy.groups[name]
    return sum(_witnessed(policy, member, cosigned) for member in group.members) \
        >= group.threshold


def _describe(policy: Policy, name: str) -> str:
    if name == NONE:
        return "no cosignature"
    if name in policy.witnesses:
        return name
    group = policy.groups[name]
    members = ", ".join(_describe(policy, member) for member in group.members)
    return f"{group.threshold} of ({members})"
