"""The rules of add-checkpoint (C2SP tlog-witness): a checkpoint is cosigned only when a
key the witness trusts for its origin signed it, the request's old size is the size the
witness last cosigned for that origin, and the consistency proof shows the checkpoint's
tree extends that one. Each refusal carries the HTTP status the protocol gives it.

The check of the state and its update are one transaction of the state file, committed to
disk before the witness signs: whatever crashes, the witness never cosigns a smaller tree
than one it cosigned, nor two roots for one size.

A refused checkpoint is kept as evidence only when it shows the log misbehaving by itself:
signed by the log, of the size the witness holds but with another root (or of size 0 with
a root other than the empty tree's). A consistency proof that does not verify proves
nothing against the log: the log signs checkpoints, not proofs, and anyone can send a
public checkpoint with a proof of their own.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ClassVar

from concord.api.witness.state import CosignedCheckpoint, Kept, WitnessState
from concord.tlog.cosignature import Cosigner
from concord.tlog.merkle import EMPTY_ROOT, ProofError, verify_consistency
from concord.tlog.notes import (
    SIGNATURE_PREFIX,
    Checkpoint,
    NoteError,
    Verifier,
    b64,
    split_note,
)
from concord.tlog.witnessing import (
    AddCheckpointRequest,
    WitnessFormatError,
    origin_hash,
    parse_add_checkpoint,
)

MAX_STORED_SIZE = 2**63 - 1
"""The largest tree size the state file records (SQLite's integers are signed 64-bit)."""


class Refused(Exception):
    """The witness will not cosign: the request and why, with the status the protocol
    gives the refusal. `evidence` says whether the checkpoint, validly signed, contradicts
    what the witness holds; `kept`, where that evidence is kept (None if the state holds
    its most refusals already)."""

    status: ClassVar[int]

    def __init__(self, reason: str, request: AddCheckpointRequest | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.request = request
        self.evidence = False
        self.kept: Kept | None = None


class Malformed(Refused):
    """The request is malformed, or its old size is larger than its checkpoint's (400)."""

    status = 400


class NotSigned(Refused):
    """No key the witness trusts for the origin signed the checkpoint, or a signature by one
    of them does not verify (403)."""

    status = 403


class UnknownLog(Refused):
    """The witness witnesses no log of the checkpoint's origin (404)."""

    status = 404


class OldSizeMismatch(Refused):
    """The old size is not the size the witness last cosigned for the log (409); `size` is
    that size, 0 if it cosigned none."""

    status = 409

    def __init__(self, reason: str, request: AddCheckpointRequest, size: int) -> None:
        super().__init__(reason, request)
        self.size = size


class Inconsistent(Refused):
    """The checkpoint does not extend the one the witness holds: a bad consistency proof, a
    proof from size 0, another root for the same size, or a size-0 tree whose root is not
    the empty tree's (422)."""

    status = 422


@dataclass(frozen=True)
class Cosigned:
    """A checkpoint cosigned: the request, and the cosignature line(s) to answer with."""

    request: AddCheckpointRequest
    lines: str
    timestamp: int


class Witness:
    """A witness: its key, the logs it witnesses (each log's origin is its keys' name, per
    tlog-checkpoint) and its state."""

    def __init__(self, cosigner: Cosigner, log_keys: Iterable[Verifier], state: WitnessState,
                 clock: Callable[[], float] = time.time) -> None:
        self.cosigner = cosigner
        self.state = state
        self._clock = clock
        keys: dict[str, list[Verifier]] = {}
        for verifier in dict.fromkeys(log_keys):  # a key given twice counts once
            keys.setdefault(verifier.name, []).append(verifier)
        if not keys:
            raise ValueError("a witness needs the key of at least one log")
        self._keys = {origin: tuple(verifiers) for origin, verifiers in keys.items()}
        self._by_hash = {origin_hash(origin): origin for origin in self._keys}

    @property
    def logs(self) -> dict[str, tuple[Verifier, ...]]:
        """The origins witnessed, each with the keys trusted to sign its checkpoints."""
        return dict(self._keys)

    def add_checkpoint(self, body: bytes) -> Cosigned:
        """Cosign the checkpoint of the add-checkpoint request `body`, once every rule of the
        protocol holds and the new state is on disk; Refused (a subclass per status) if
        not. A refused checkpoint that contradicts what the witness holds by itself is kept
        in the state as evidence."""
        try:
            request = parse_add_checkpoint(body)
        except WitnessFormatError as error:
            raise Malformed(str(error)) from None
        checkpoint = request.checkpoint
        keys = self._keys.get(checkpoint.origin)
        if keys is None:
            raise UnknownLog(f"this witness does not witness a log of origin "
                             f"{checkpoint.origin!r}", request)
        text, verified = self._verified_signatures(request, keys)
        if request.old_size > checkpoint.size:
            raise Malformed(f"the old size {request.old_size} is larger than the checkpoint's "
                            f"size {checkpoint.size}", request)
        if checkpoint.size > MAX_STORED_SIZE:
            raise Malformed(f"this witness cosigns trees of at most 2**63 - 1 leaves, not "
                            f"{checkpoint.size}", request)
        with self.state.transaction() as held:
            latest = held.latest(checkpoint.origin)
            refusal = _refusal(request, latest)
            if refusal is None:
                # Never older than the last cosignature, should the clock step back.
                timestamp = max(int(self._clock()), latest.timestamp if latest else 1, 1)
                held.cosigned(CosignedCheckpoint(checkpoint.origin, checkpoint.size,
                                                 checkpoint.root, text + "\n" + verified,
                                                 timestamp))
            elif _contradicts(checkpoint, latest):
                refusal.evidence = True
                refusal.kept = held.refused(
                    checkpoint.origin, request.old_size, checkpoint.size, checkpoint.root,
                    refusal.status, refusal.reason,
                    "".join(f"{b64(digest)}\n" for digest in request.proof), request.note)
        if refusal is not None:
            raise refusal
        return Cosigned(request, self.cosigner.cosign(text, timestamp), timestamp)

    def latest_checkpoint(self, hashed_origin: str) -> str | None:
        """The checkpoint last cosigned for the log whose origin hashes to `hashed_origin`
        (lowercase hex SHA-256), with the log's signatures the witness verified and its
        cosignature; None if it witnesses no such log or cosigned none of its checkpoints."""
        origin = self._by_hash.get(hashed_origin)
        latest = None if origin is None else self.state.latest(origin)
        if latest is None:
            return None
        text, _ = split_note(latest.note)
        # Ed25519 signatures are deterministic: this is the line add-checkpoint answered.
        return latest.note + self.cosigner.cosign(text, latest.timestamp)

    def _verified_signatures(self, request: AddCheckpointRequest,
                             keys: tuple[Verifier, ...]) -> tuple[str, str]:
        """The note's text and its signature lines by `keys`, once each of them verifies and
        there is one; NotSigned if not. Lines by other keys are ignored."""
        text, lines = split_note(request.note)
        kept = ""
        for verifier in keys:
            theirs = [(name, payload) for name, payload in lines
                      if name == verifier.name and payload[:4] == verifier.key_id]
            if not theirs:
                continue
            try:
                verifier.verify(request.note)
            except NoteError as error:
                raise NotSigned(str(error), request) from None
            kept += "".join(dict.fromkeys(f"{SIGNATURE_PREFIX}{name} {b64(payload)}\n"
                                          for name, payload in theirs))
        if not kept:
            labels = ", ".join(key_label(verifier) for verifier in keys)
            raise NotSigned(f"the checkpoint has no signature by a key this witness trusts "
                            f"for {request.checkpoint.origin!r} ({labels})", request)
        return text, kept


def _refusal(request: AddCheckpointRequest, latest: CosignedCheckpoint | None) -> Refused | None:
    """Why the checkpoint of `request`, validly signed, may not be cosigned by a witness that
    last cosigned `latest` of its log; None if it may."""
    checkpoint, old_size = request.checkpoint, request.old_size
    held_size = 0 if latest is None else latest.size
    if old_size != held_size:
        return OldSizeMismatch(f"this witness last cosigned {checkpoint.origin!r} at size "
                               f"{held_size}, not {old_size}", request, held_size)
    if checkpoint.size == 0 and checkpoint.root != EMPTY_ROOT:
        return Inconsistent("a checkpoint of size 0 must have the empty tree's root, "
                            f"{b64(EMPTY_ROOT)}", request)
    if old_size == 0:
        if request.proof:
            return Inconsistent("from old size 0 the consistency proof must be empty: every "
                                "tree extends the empty tree", request)
        return None
    assert latest is not None
    if old_size == checkpoint.size and checkpoint.root != latest.root:
        return Inconsistent(f"this witness cosigned size {old_size} of {checkpoint.origin!r} "
                            f"with root {b64(latest.root)}, not {b64(checkpoint.root)}",
                            request)
    try:
        verify_consistency(old_size, checkpoint.size, latest.root, checkpoint.root,
                           request.proof)
    except ProofError as error:
        return Inconsistent(f"the consistency proof does not verify: {error}", request)
    return None


def _contradicts(checkpoint: Checkpoint, latest: CosignedCheckpoint | None) -> bool:
    """Whether `checkpoint`, signed by its log, shows by itself that the log signed two trees
    of one size: it has the size of `latest` (the checkpoint last cosigned) but another root,
    or size 0 and a root other than the empty tree's. Whatever the request's old size and
    proof say: those are not signed by the log."""
    if checkpoint.size == 0:
        return checkpoint.root != EMPTY_ROOT
    return (latest is not None and checkpoint.size == latest.size
            and checkpoint.root != latest.root)


def key_label(verifier: Verifier) -> str:
    """A log's key as messages name it: its name and key ID."""
    return f"{verifier.name}+{verifier.key_id.hex()}"
