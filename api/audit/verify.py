"""Auditing the log without trusting its operator: an export against a signed checkpoint,
an old checkpoint against the server's new one, a data directory against its own tree.

Each check recomputes what it can from the entries themselves (their canonical leaves and
the Merkle root) and compares it with what was signed or stored. A report names the first
position found wrong.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import orjson

from concord.api.audit.client import Consistency, fetch
from concord.domain.envelope import Envelope
from concord.projections.db import Reader
from concord.projections.summaries import summarize
from concord.tlog.leaves import entry_hash, leaf_bytes
from concord.tlog.merkle import (
    ProofError,
    TreeBuilder,
    leaf_hash,
    root_of,
    verify_consistency,
    verify_inclusion,
)
from concord.tlog.notes import Checkpoint, NoteError, Verifier, open_checkpoint
from concord.tlog.policy import Policy, open_witnessed
from concord.tlog.proof import HEADER as TLOG_PROOF_HEADER
from concord.tlog.proof import TlogProof

Progress = Callable[[int], None]


@dataclass
class Report:
    """What a check found: how many entries it checked and what, if anything, is wrong."""

    checked: int = 0
    problems: list[str] = field(default_factory=list)
    first_bad_position: int | None = None
    notes: list[str] = field(default_factory=list)
    uncovered: int = 0  # entries checked for order only: later than what was signed
    first_bad_leaf: int | None = None  # where a check by leaf index names one

    @property
    def ok(self) -> bool:
        """Whether everything verified."""
        return not self.problems

    def fail(self, problem: str, position: int | None = None,
             leaf: int | None = None) -> Report:
        """Record a problem (and the first bad position and leaf index, if they are the
        first ones known)."""
        self.problems.append(problem)
        if position is not None and self.first_bad_position is None:
            self.first_bad_position = position
        if leaf is not None and self.first_bad_leaf is None:
            self.first_bad_leaf = leaf
        return self


def read_verifier(key: str) -> Verifier:
    """A verifier key given as the key itself or as a file holding it."""
    text = key.strip()
    path = Path(text)
    if "+" not in text or (len(text) < 4096 and path.is_file()):
        text = path.read_text().strip()
    return Verifier.parse(text)


def verify_export(lines: Iterable[bytes], note: str, verifier: Verifier,
                  progress: Progress | None = None,
                  consistency: Consistency | None = None,
                  policy: Policy | None = None) -> Report:
    """Check an export (JSON Lines of envelopes, from the start of the log) against a signed
    checkpoint: the signature, the order of the entries, and the root of the first
    `tree size` entries, recomputed from their canonical leaves.

    Entries after the checkpoint's tree size (the log grew since it was signed) are checked
    for order only and counted in `uncovered`: nothing signed vouches for them.

    An edited entry changes the root but does not say where it is. Given `consistency` (a
    source of consistency proofs, such as the server), the first edited entry is found by
    bisection: a prefix of the export whose root a proof links to the signed root is
    authentic, whoever supplied the proof.

    With `policy`, the checkpoint counts only if its cosignatures meet the policy's quorum."""
    report = Report()
    try:
        checkpoint = open_policy(note, verifier, policy, report)
    except NoteError as e:
        return report.fail(f"checkpoint: {e}")
    builder = TreeBuilder()
    hashes: list[bytes] = []  # kept only to locate an edit
    positions: list[int] = []
    previous, due = 0, 0  # the last position read, and the leaf index the next entry needs
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            envelope: dict[str, Any] = orjson.loads(line)
            position, index = envelope["position"], envelope["leaf_index"]
        except (orjson.JSONDecodeError, KeyError, TypeError):
            return report.fail(f"line {number}: not an entry's envelope", previous + 1)
        if type(position) is not int or type(index) is not int:
            return report.fail(f"line {number}: position and leaf_index must be integers",
                               previous + 1)
        if index != due or position <= previous:
            return report.fail(
                f"position {position} (line {number}): leaf_index {index} where {due} was "
                f"due, after position {previous}: an entry was deleted, inserted or "
                "reordered here", position)
        previous, due = position, due + 1
        if builder.size < checkpoint.size:
            digest = entry_hash(envelope)
            builder.append(digest)
            if consistency is not None:
                hashes.append(digest)
                positions.append(position)
            report.checked += 1
        else:
            report.uncovered += 1
        if progress is not None and due % 10_000 == 0:
            progress(due)
    if builder.size < checkpoint.size:
        return report.fail(f"the export has {builder.size} {entries(builder.size)}; the "
                           f"checkpoint covers {checkpoint.size}: entries are missing at the "
                           "end", previous + 1)
    if builder.root() != checkpoint.root:
        if consistency is None:
            return report.fail(
                f"the root of the first {checkpoint.size} entries is not the signed one: an "
                "entry was edited (add --server to find which)")
        found = _first_edit(hashes, checkpoint, consistency)
        if found is None:
            return report.fail(
                f"the root of the first {checkpoint.size} entries is not the signed one: an "
                "entry was edited, and the server's proofs did not locate it")
        return report.fail(f"the root of the first {checkpoint.size} entries is not the "
                           f"signed one: position {positions[found]} was edited",
                           positions[found])
    return report


def open_policy(note: str, verifier: Verifier | None, policy: Policy | None,
                report: Report) -> Checkpoint:
    """The checkpoint in `note`, signed by `verifier` (or a log of the policy) and
    witnessed as `policy` demands; the witnesses that cosigned it are noted in `report`.
    NoteError if it does not verify or is not witnessed enough."""
    witnessed = open_witnessed(note, verifier, policy)
    if policy is not None and policy.witnesses:
        names = ", ".join(witnessed.cosigned) or "no witness"
        report.notes.append(f"the checkpoint of {witnessed.checkpoint.size} "
                            f"{entries(witnessed.checkpoint.size)} is cosigned by {names}; "
                            f"the policy needs {policy.describe()}")
    return witnessed.checkpoint


def entries(count: int) -> str:
    """'entry' or 'entries', as `count` needs."""
    return "entry" if count == 1 else "entries"


def _first_edit(hashes: list[bytes], checkpoint: Checkpoint,
                consistency: Consistency) -> int | None:
    """The index of the first leaf of `hashes` not in the signed tree, by bisection over
    prefixes; None if the proofs do not show it."""

    def proves(size: int, root: bytes) -> bool:
        try:
            verify_consistency(size, checkpoint.size, root, checkpoint.root,
                               consistency(size, checkpoint.size)[1])
        except (OSError, ValueError):
            return False
        return True

    good, bad = 0, checkpoint.size  # the empty prefix is authentic; the whole one is not
    while bad - good > 1:
        middle = (good + bad) // 2
        if proves(middle, root_of(hashes[:middle])):
            good = middle
        else:
            bad = middle
    # The export's first `bad` leaves are not the signed ones, its first `good` are: leaf
    # `bad - 1` was edited, provided the server can prove its own prefix of `bad` leaves.
    try:
        server_root = consistency(bad, checkpoint.size)[0]
    except (OSError, ValueError):
        return None
    return bad - 1 if proves(bad, server_root) else None


def verify_receipt(body: bytes, verifier: Verifier | None,
                   policy: Policy | None = None) -> Report:
    """Check a receipt: a C2SP tlog-proof file (`.tlog-proof`, with the entry's leaf as its
    extra data), or the answer to POST /v1/events?proof=true (an entry's envelope and its
    `proof`). Checked: the checkpoint's signature (and, with `policy`, its cosignatures),
    that the leaf hash is the entry's, and the inclusion proof against the signed root."""
    if body.startswith(TLOG_PROOF_HEADER.encode()):
        return _verify_tlog_proof(body, verifier, policy)
    report = Report()
    try:
        receipt = orjson.loads(body)
        envelope = {k: v for k, v in receipt.items() if k != "proof"}
        proof = receipt["proof"]
        position, index = envelope["position"], envelope["leaf_index"]
        size, note = proof["tree_size"], proof["checkpoint"]
        claimed = base64.b64decode(proof["leaf_hash"], validate=True)
        path = [base64.b64decode(h, validate=True) for h in proof["inclusion"]]
    except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError, ValueError) as e:
        return report.fail(f"not a receipt (a tlog-proof, or an envelope with its proof): "
                           f"{e}")
    if type(position) is not int or type(index) is not int or type(size) is not int:
        return report.fail("position, leaf_index and proof.tree_size must be integers")
    try:
        checkpoint = open_policy(str(note), verifier, policy, report)
    except NoteError as e:
        return report.fail(f"position {position}: the receipt's checkpoint: {e}", position)
    if size != checkpoint.size:
        return report.fail(f"position {position}: the receipt says tree size {size}; its "
                           f"signed checkpoint says {checkpoint.size}", position)
    digest = entry_hash(envelope)
    if claimed != digest:
        return report.fail(f"position {position}: the receipt's leaf hash is not the hash of "
                           "its envelope: the envelope was edited", position)
    return _included(report, digest, index, position, path, checkpoint)


def _included(report: Report, digest: bytes, index: int, position: int,
              path: list[bytes], checkpoint: Checkpoint) -> Report:
    try:
        verify_inclusion(digest, index, checkpoint.size, path, checkpoint.root)
    except ProofError as e:
        return report.fail(f"position {position}: the inclusion proof does not lead to the "
                           f"signed root: {e}", position)
    report.checked = 1
    report.notes.append(f"position {position} (leaf {index}) is in the log of "
                        f"{checkpoint.size} {entries(checkpoint.size)} signed by "
                        f"{checkpoint.origin}")
    return report


def _verify_tlog_proof(body: bytes, verifier: Verifier | None,
                       policy: Policy | None) -> Report:
    """A tlog-proof whose extra data is the entry's leaf (as Concord makes them)."""
    report = Report()
    try:
        proof = TlogProof.parse(body.decode("utf-8"))
    except (UnicodeDecodeError, NoteError) as e:
        return report.fail(f"not a tlog-proof: {e}")
    if proof.extra is None:
        return report.fail("the tlog-proof has no extra line: Concord's proofs carry the "
                           "entry's leaf there, and without it there is nothing to check")
    try:
        envelope = orjson.loads(proof.extra)
        position = envelope["position"]
    except (orjson.JSONDecodeError, KeyError, TypeError) as e:
        return report.fail(f"the tlog-proof's extra data is not an entry's leaf: {e}")
    if type(position) is not int or "leaf_index" in envelope:
        return report.fail("the tlog-proof's extra data is not an entry's leaf (an envelope "
                           "without leaf_index, with an integer position)")
    if leaf_bytes(envelope) != proof.extra:
        return report.fail(f"position {position}: the leaf is not in canonical form (RFC "
                           "8785): it was edited", position)
    if position != proof.index + 1:
        return report.fail(f"the proof is for leaf {proof.index}, but its entry is position "
                           f"{position}, which is leaf {position - 1}", position)
    try:
        checkpoint = open_policy(proof.checkpoint, verifier, policy, report)
    except NoteError as e:
        return report.fail(f"position {position}: the proof's checkpoint: {e}", position)
    _included(report, leaf_hash(proof.extra), proof.index, position, list(proof.proof),
              checkpoint)
    if report.ok:
        report.notes.append(f"the entry it proves: {_described(envelope)}; a proof of another "
                            "entry verifies as well, so check that this is the one you meant")
    return report


def _described(envelope: dict[str, Any]) -> str:
    """What an entry says, in one line, for a person to recognise it."""
    try:
        said = summarize(cast(Envelope, envelope))
    except (KeyError, TypeError, ValueError, AttributeError):
        said = orjson.dumps(envelope.get("data")).decode()
    return (f"{envelope.get('type')} (effective {envelope.get('effective_date')}, recorded "
            f"{envelope.get('recorded_at')} by {envelope.get('recorded_by')}): {said}")


def verify_growth(old_note: str, server: str, verifier: Verifier,
                  token: str | None = None,
                  policy: Policy | None = None) -> tuple[Report, str | None]:
    """Check that the server's log only grew since `old_note`: its new checkpoint is signed
    by the same key for the same origin (and witnessed as `policy` demands), and a
    consistency proof links the two roots. Returns the report and the new checkpoint's
    note."""
    report = Report()
    try:
        old = open_checkpoint(old_note, verifier)
    except NoteError as e:
        return report.fail(f"old checkpoint: {e}"), None
    base = server.rstrip("/")
    try:
        note = fetch(f"{base}/v1/log/checkpoint", token).decode()
        new = open_policy(note, verifier, policy, report)
        if new.origin != old.origin:
            raise NoteError(f"the checkpoint is of {new.origin!r}, not {old.origin!r}")
    except (OSError, NoteError, UnicodeDecodeError) as e:
        return report.fail(f"new checkpoint: {e}"), None
    report.checked = new.size
    if new.size < old.size:
        return report.fail(f"the log shrank from {old.size} to {new.size} {entries(new.size)}",
                           new.size + 1), note
    if new.size == old.size:
        if new.root != old.root:
            report.fail(f"same size {new.size}, different roots: the log was rewritten")
        return report, note
    try:
        answer = orjson.loads(fetch(f"{base}/v1/log/proofs/consistency?first={old.size}"
                                    f"&second={new.size}", token))
        proof = [base64.b64decode(h, validate=True) for h in answer["proof"]]
        verify_consistency(old.size, new.size, old.root, new.root, proof)
    except (OSError, ValueError, KeyError, TypeError) as e:
        reason = str(e) if isinstance(e, ProofError | OSError) else f"malformed proof ({e})"
        return report.fail(f"no proof that the log of {new.size} {entries(new.size)} extends "
                           f"the one of {old.size}: {reason}; the first {old.size} were "
                           "rewritten, or the server is broken"), note
    report.notes.append(f"the log grew from {old.size} to {new.size} {entries(new.size)}, "
                        "consistently")
    return report, note


# (after, limit) -> up to `limit` envelopes after that position, in order.
ReadEntries = Callable[[int, int], list[Envelope]]


def verify_data_dir(read: ReadEntries, reader: Reader, tree_suffix: str,
                    checkpoint: tuple[int, str] | None, verifier: Verifier | None,
                    progress: Progress | None = None) -> Report:
    """Check the stored entries against the stored tree (leaf by leaf: position and hash)
    and both against the latest signed checkpoint."""
    from concord.projections.tree import StoredTree

    report = Report()
    tree = StoredTree(reader, tree_suffix)
    size = tree.size()
    signed: Checkpoint | None = None
    if checkpoint is not None and verifier is not None:
        try:
            signed = open_checkpoint(checkpoint[1], verifier)
        except NoteError as e:
            report.fail(f"latest checkpoint (tree size {checkpoint[0]}): {e}")
    builder = TreeBuilder()
    leaves_root = builder.root()
    after = 0
    while True:
        envelopes = read(after, 10_000)
        if not envelopes:
            break
        stored = {index: (position, digest) for index, position, digest
                  in tree.leaves(builder.size, len(envelopes))}
        for envelope in envelopes:
            index, position = builder.size, envelope["position"]
            digest = entry_hash(envelope)
            if index < size:
                leaf = stored.get(index)
                if leaf is None or leaf[0] != position:
                    missing = leaf[0] if leaf is not None else position
                    return report.fail(
                        f"position {missing}: the tree's leaf {index} is position {missing}, "
                        f"the log's next entry is position {position}: an entry was deleted "
                        "or inserted", min(missing, position))
                if leaf[1] != digest:
                    return report.fail(f"position {position}: the entry is not the one the "
                                       "tree recorded: it was edited or moved", position)
            builder.append(digest)
            if builder.size == size:
                leaves_root = builder.root()
            if (signed is not None and builder.size == signed.size
                    and builder.root() != signed.root):
                report.fail(f"the root of the first {signed.size} entries is not the one "
                            "signed in the latest checkpoint: the log and its tree were "
                            "rewritten together")
            report.checked += 1
        after = envelopes[-1]["position"]
        if progress is not None:
            progress(report.checked)
    if builder.size < size:
        extra = tree.leaf(builder.size)
        return report.fail(f"the tree has {size} leaves but the log only {builder.size} "
                           "entries: entries were deleted at the end",
                           extra[0] if extra else None)
    if size and tree.root(size) != leaves_root:
        report.fail("the tree's stored subtree hashes do not give the root of its leaves")
    if signed is not None and builder.size < signed.size:
        report.fail(f"the latest checkpoint covers {signed.size} entries; the log has "
                    f"{builder.size}")
    if checkpoint is None:
        report.notes.append("no checkpoint has been issued yet: nothing signed to compare")
    if builder.size > size:
        behind = builder.size - size
        report.notes.append(f"{behind} {entries(behind)} {'is' if behind == 1 else 'are'} not in "
                            "the tree yet (the projection catches up when the server runs)")
    return report
