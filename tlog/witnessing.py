"""The messages of the C2SP tlog-witness protocol, encoded and parsed strictly, with no I/O.

A log asks a witness to cosign a checkpoint with `POST <prefix>/add-checkpoint`, whose body
is

    old <size of the checkpoint the witness last cosigned for the log, or 0>
    <zero to 63 lines: a consistency proof from that size, one base64 hash a line>
    <an empty line>
    <the signed checkpoint note>

Every line ends in a newline; the old size is decimal without leading zeros. A witness
whose latest cosigned checkpoint for the log has another size answers 409 with the body
`<that size>\n` (`text/x.tlog.size`); a witness that cosigns answers 200 with its
cosignature lines, which the log appends to its checkpoint's signatures.

Both sides use this module: the log encodes the request (`encode_add_checkpoint`) and parses
a 409 (`parse_tree_size`); the witness parses the request (`parse_add_checkpoint`) and
encodes the 409 (`encode_tree_size`). A malformed message raises WitnessFormatError, which
a witness answers with 400.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from concord.tlog.merkle import HASH_SIZE
from concord.tlog.notes import (
    MAX_TREE_SIZE,
    Checkpoint,
    NoteError,
    b64,
    decode_base64,
    split_note,
)

MAX_PROOF_LINES = 63
"""The most consistency proof lines an add-checkpoint request may carry."""

TREE_SIZE_MEDIA_TYPE = "text/x.tlog.size"
"""The Content-Type of a witness's 409 answer, whose body is a tree size line."""

_OLD_SIZE_LINE = re.compile(r"old (0|[1-9][0-9]{0,19})")
_TREE_SIZE_LINE = re.compile(r"(0|[1-9][0-9]{0,19})\n")


class WitnessFormatError(ValueError):
    """A witness protocol message is malformed: a witness answers such a request with 400."""


@dataclass(frozen=True)
class AddCheckpointRequest:
    """An add-checkpoint request, parsed but not verified: the note's signatures, the old
    size and the proof are for the witness to check."""

    old_size: int
    proof: tuple[bytes, ...]
    note: str
    """The signed checkpoint note as sent, with every signature line."""
    checkpoint: Checkpoint
    """The note's text, parsed; nothing vouches for it until a log signature is verified."""


def encode_add_checkpoint(old_size: int, proof: Sequence[bytes], note: str) -> bytes:
    """The body of an add-checkpoint request asking to cosign the signed checkpoint `note`,
    with the consistency proof `proof` from the tree of `old_size` leaves (empty when
    `old_size` is 0). ValueError if the arguments cannot make a well-formed body."""
    _check_size(old_size, "the old size")
    if len(proof) > MAX_PROOF_LINES:
        raise ValueError(f"a consistency proof sent to a witness has at most "
                         f"{MAX_PROOF_LINES} hashes, not {len(proof)}")
    for number, digest in enumerate(proof, start=1):
        if len(digest) != HASH_SIZE:
            raise ValueError(f"proof hash {number} has {len(digest)} bytes, not {HASH_SIZE}")
    text, _ = split_note(note)
    Checkpoint.parse(text)
    lines = [f"old {old_size}", *(b64(digest) for digest in proof), ""]
    return ("".join(f"{line}\n" for line in lines) + note).encode("utf-8")


def parse_add_checkpoint(body: bytes) -> AddCheckpointRequest:
    """The add-checkpoint request in `body`, refusing anything but the exact form (the old
    size line, at most 63 base64 lines of 32-byte hashes, an empty line, a well-formed
    checkpoint note) with WitnessFormatError. Signatures are not verified here."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise WitnessFormatError("the request body is not UTF-8") from None
    first, newline, rest = text.partition("\n")
    if not newline:
        raise WitnessFormatError("the request body must start with a line 'old <size>' "
                                 "ending in a newline")
    found = _OLD_SIZE_LINE.fullmatch(first)
    if found is None:
        raise WitnessFormatError(f"the first line must be 'old <size>', the size in decimal "
                                 f"without leading zeros, not {_shown(first)}")
    old_size = int(found[1])
    if old_size > MAX_TREE_SIZE:
        raise WitnessFormatError(f"the old size {old_size} is larger than 2**64 - 1")
    proof: list[bytes] = []
    while True:
        line, newline, rest = rest.partition("\n")
        if not newline:
            raise WitnessFormatError("the request body has no empty line between the "
                                     "consistency proof and the checkpoint")
        if not line:
            break
        if len(proof) == MAX_PROOF_LINES:
            raise WitnessFormatError(f"the consistency proof has more than "
                                     f"{MAX_PROOF_LINES} lines")
        proof.append(_proof_hash(line, len(proof) + 1))
    if not rest:
        raise WitnessFormatError("the request body has no checkpoint after the empty line")
    try:
        note_text, _ = split_note(rest)
        checkpoint = Checkpoint.parse(note_text)
    except NoteError as error:
        raise WitnessFormatError(f"the checkpoint is malformed: {error}") from None
    return AddCheckpointRequest(old_size, tuple(proof), rest, checkpoint)


def encode_tree_size(size: int) -> bytes:
    """The body of a witness's 409 answer: the size of the checkpoint it last cosigned for
    the log (0 if none), in decimal, and a newline."""
    _check_size(size, "a tree size")
    return f"{size}\n".encode("ascii")


def parse_tree_size(body: bytes) -> int:
    """The tree size in a witness's 409 answer; WitnessFormatError unless `body` is exactly
    a decimal number without leading zeros and a newline."""
    try:
        found = _TREE_SIZE_LINE.fullmatch(body.decode("ascii"))
    except UnicodeDecodeError:
        found = None
    if found is None or int(found[1]) > MAX_TREE_SIZE:
        raise WitnessFormatError(f"a tree size body is a decimal number without leading zeros "
                                 f"and a newline, not {body[:40]!r}")
    return int(found[1])


def origin_hash(origin: str) -> str:
    """The lowercase hex SHA-256 of a log's origin: the path segment naming the log in a
    witness's `GET <prefix>/<origin hash>/checkpoint`."""
    return hashlib.sha256(origin.encode("utf-8")).hexdigest()


def _check_size(size: int, what: str) -> None:
    if isinstance(size, bool) or not isinstance(size, int):
        raise ValueError(f"{what} must be an int, not {type(size).__name__}")
    if not 0 <= size <= MAX_TREE_SIZE:
        raise ValueError(f"{what} {size} is not between 0 and 2**64 - 1")


def _proof_hash(line: str, number: int) -> bytes:
    what = f"consistency proof line {number}"
    try:
        digest = decode_base64(line, what)
    except NoteError as error:
        raise WitnessFormatError(f"{error}: each proof line is one base64 hash") from None
    if len(digest) != HASH_SIZE:
        raise WitnessFormatError(f"{what} holds {len(digest)} bytes, not a {HASH_SIZE}-byte "
                                 "hash")
    return digest


def _shown(line: str) -> str:
    """A line of a refused request, cut short, for an error message."""
    return repr(line if len(line) <= 40 else line[:40] + "...")
