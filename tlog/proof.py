"""Offline proofs that an entry is in the log: C2SP tlog-proof (`.tlog-proof` files).

    c2sp.org/tlog-proof@v1
    extra <base64 of opaque data>        (optional)
    index <leaf index>
    <base64 hash>                        (the inclusion proof, leaf level first)
    ...
    <empty line>
    <the checkpoint note, verbatim, with its signature and cosignatures>

Concord puts the entry's leaf (its canonical envelope) in `extra`, so that a proof carries
the entry it proves: the leaf hash is computed from it, never taken on trust.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from concord.tlog.merkle import HASH_SIZE
from concord.tlog.notes import NoteError, b64, decode_base64

HEADER = "c2sp.org/tlog-proof@v1"

_INDEX = re.compile(r"index (0|[1-9][0-9]*)")
_MAX_PROOF = 64  # the audit path in a tree of up to 2**64 leaves


@dataclass(frozen=True)
class TlogProof:
    """An entry's index, its inclusion proof in a checkpoint's tree, the checkpoint, and
    optional extra data."""

    index: int
    proof: tuple[bytes, ...]
    checkpoint: str
    extra: bytes | None = None

    def encode(self) -> str:
        """The proof in the spec's text form."""
        lines = [HEADER]
        if self.extra is not None:
            lines.append(f"extra {b64(self.extra)}")
        lines.append(f"index {self.index}")
        lines.extend(b64(digest) for digest in self.proof)
        return "\n".join(lines) + "\n\n" + self.checkpoint

    @classmethod
    def parse(cls, text: str) -> TlogProof:
        """The proof in `text`; NoteError saying what is malformed (the checkpoint itself
        is checked when it is opened)."""
        head, blank, checkpoint = text.partition("\n\n")
        if not blank or not checkpoint:
            raise NoteError("a tlog-proof has its proof lines, an empty line, then the "
                            "checkpoint")
        lines = head.split("\n")
        if lines[0] != HEADER:
            raise NoteError(f"a tlog-proof starts with the line {HEADER!r}")
        rest = lines[1:]
        extra = None
        if rest and rest[0].startswith("extra "):
            extra = decode_base64(rest.pop(0)[len("extra "):], "the extra line")
        if not rest:
            raise NoteError("the tlog-proof has no index line")
        found = _INDEX.fullmatch(rest.pop(0))
        if found is None:
            raise NoteError("the index line must be 'index <decimal, no leading zeros>'")
        if len(rest) > _MAX_PROOF:
            raise NoteError(f"the inclusion proof has {len(rest)} hashes, more than the "
                            f"{_MAX_PROOF} a tree of up to 2**64 leaves needs")
        proof = []
        for number, line in enumerate(rest, start=1):
            digest = decode_base64(line, f"proof hash {number}")
            if len(digest) != HASH_SIZE:
                raise NoteError(f"proof hash {number} has {len(digest)} bytes, not {HASH_SIZE}")
            proof.append(digest)
        return cls(int(found.group(1)), tuple(proof), checkpoint, extra)
