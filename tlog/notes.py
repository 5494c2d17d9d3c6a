"""C2SP signed notes with Ed25519 (c2sp.org/signed-note) and checkpoint bodies
(c2sp.org/tlog-checkpoint), byte-compatible with Go's golang.org/x/mod/sumdb/note.

A signed note is its text (ending in a newline), a blank line, then one or more lines
`— <key name> base64(4-byte key ID || signature)`. Key strings use Go's formats:
`<name>+<key id hex>+base64(0x01 || public key)` for verifiers and
`PRIVATE+KEY+<name>+<key id hex>+base64(0x01 || seed)` for signers.
"""

from __future__ import annotations

import base64
import hashlib
import re
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

ED25519 = 0x01
"""The signature type byte of Ed25519 in key IDs and key strings."""

MAX_SIGNATURES = 100
"""More signature lines than this make a note malformed (the spec requires at least 16)."""

MAX_TREE_SIZE = 2**64 - 1
"""The largest tree size a checkpoint can state (an unsigned 64-bit number)."""

SIGNATURE_PREFIX = "\u2014 "
"""Every signature line starts with an em dash and a space."""

_PRIVATE_PREFIX = "PRIVATE+KEY+"
_KEY_ID_HEX = re.compile(r"[0-9a-fA-F]{8}")
_TREE_SIZE = re.compile(r"0|[1-9][0-9]*")
# Control characters other than newline, and lone surrogates (not encodable as UTF-8).
_FORBIDDEN = re.compile("[\x00-\x09\x0b-\x1f\ud800-\udfff]")


class NoteError(ValueError):
    """A note, key string, key file or checkpoint is malformed, or a signature does not verify."""


def compute_key_id(name: str, public_key: bytes, key_type: int = ED25519) -> bytes:
    """The C2SP key ID of a key: SHA-256(name || 0x0A || type || key)[:4], type 0x01 for a
    note signer's Ed25519 key."""
    data = name.encode("utf-8") + b"\n" + bytes([key_type]) + public_key
    return hashlib.sha256(data).digest()[:4]


def check_name(name: str) -> None:
    """Raise NoteError unless `name` is a valid key name: non-empty, without Unicode spaces,
    plus signs or control characters."""
    if not name:
        raise NoteError("a key name must not be empty")
    for char in name:
        if char == "+" or char.isspace() or _FORBIDDEN.match(char):
            raise NoteError(f"key name {name!r} has {char!r}: names may not contain spaces, "
                            "'+' or control characters")


def check_text(text: str) -> None:
    """Raise NoteError unless `text` can be a note's text: valid UTF-8 ending in a newline,
    with no control characters other than newlines."""
    if not text.endswith("\n"):
        raise NoteError("a note's text must end with a newline")
    _check_characters(text, "a note's text")


def _check_characters(text: str, what: str) -> None:
    found = _FORBIDDEN.search(text)
    if found is not None:
        raise NoteError(f"{what} has the character U+{ord(found.group()):04X} at {found.start()}: "
                        "notes must be UTF-8 without control characters other than newline")


def decode_base64(value: str, what: str) -> bytes:
    """Decode standard, padded base64, refusing any other spelling of the same bytes."""
    try:
        raw = base64.b64decode(value.encode("ascii"), validate=True)
    except ValueError:
        raise NoteError(f"{what} is not valid base64") from None
    if base64.b64encode(raw).decode("ascii") != value:
        raise NoteError(f"{what} is not canonical base64 (standard alphabet, padded)")
    return raw


def split_key_string(value: str, what: str,
                     key_types: tuple[int, ...] = (ED25519,)) -> tuple[str, bytes, int, bytes]:
    """Split `<name>+<key id hex>+<base64 key>` into name, key ID, type byte (one of
    `key_types`) and the 32 key bytes that follow it."""
    parts = value.split("+", 2)
    if len(parts) != 3:
        raise NoteError(f"{what} must have the form <name>+<key id>+<base64 key>")
    name, id_hex, key64 = parts
    check_name(name)
    if not _KEY_ID_HEX.fullmatch(id_hex):
        raise NoteError(f"{what} has key ID {id_hex!r}: it must be 8 hexadecimal digits")
    raw = decode_base64(key64, f"the key in {what}")
    if len(raw) != 33 or raw[0] not in key_types:
        expected = " or ".join(f"0x{t:02x}" for t in key_types)
        raise NoteError(f"{what} is not an Ed25519 key of this kind ({expected} followed by "
                        "32 bytes)")
    return name, bytes.fromhex(id_hex), raw[0], raw[1:]


@dataclass(frozen=True)
class Signer:
    """A named Ed25519 key that signs notes; two signers are equal if name and key ID are."""

    name: str
    key_id: bytes
    private_key: Ed25519PrivateKey = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        check_name(self.name)
        if self.key_id != compute_key_id(self.name, self.public_key):
            raise NoteError(f"key ID {self.key_id.hex()} is not that of key {self.name!r}")

    @classmethod
    def generate(cls, name: str) -> Signer:
        """A new random key called `name`."""
        private_key = Ed25519PrivateKey.generate()
        public_key = private_key.public_key().public_bytes_raw()
        return cls(name, compute_key_id(name, public_key), private_key)

    @classmethod
    def parse(cls, private_key_string: str) -> Signer:
        """The signer in a `PRIVATE+KEY+<name>+<key id>+<base64 seed>` string."""
        what = "the private key string"
        if not private_key_string.startswith(_PRIVATE_PREFIX):
            raise NoteError(f"{what} must start with {_PRIVATE_PREFIX!r}")
        name, expected_id, _, seed = split_key_string(
            private_key_string[len(_PRIVATE_PREFIX):], what)
        private_key = Ed25519PrivateKey.from_private_bytes(seed)
        actual_id = compute_key_id(name, private_key.public_key().public_bytes_raw())
        if actual_id != expected_id:
            raise NoteError(f"{what} says key ID {expected_id.hex()} but the key of "
                            f"{name!r} has ID {actual_id.hex()}")
        return cls(name, actual_id, private_key)

    @property
    def public_key(self) -> bytes:
        """The 32-byte Ed25519 public key."""
        return self.private_key.public_key().public_bytes_raw()

    def private_key_string(self) -> str:
        """The secret key string, `PRIVATE+KEY+<name>+<key id>+<base64 seed>`."""
        seed = bytes([ED25519]) + self.private_key.private_bytes_raw()
        return f"{_PRIVATE_PREFIX}{self.name}+{self.key_id.hex()}+{b64(seed)}"

    def verifier_key_string(self) -> str:
        """The public key string, `<name>+<key id>+<base64 key>`, to give to verifiers."""
        return f"{self.name}+{self.key_id.hex()}+{b64(bytes([ED25519]) + self.public_key)}"

    def verifier(self) -> Verifier:
        """The verifier of this signer's signatures."""
        return Verifier(self.name, self.key_id, self.public_key)

    def sign(self, text: str) -> str:
        """The signed note of `text` (which must end with a newline), signed by this key."""
        check_text(text)
        signature = self.private_key.sign(text.encode("utf-8"))
        return f"{text}\n{SIGNATURE_PREFIX}{self.name} {b64(self.key_id + signature)}\n"


@dataclass(frozen=True)
class Verifier:
    """A named Ed25519 public key that checks notes."""

    name: str
    key_id: bytes
    public_key: bytes

    def __post_init__(self) -> None:
        check_name(self.name)
        if len(self.public_key) != 32:
            raise NoteError("an Ed25519 public key has 32 bytes")
        if self.key_id != compute_key_id(self.name, self.public_key):
            raise NoteError(f"key ID {self.key_id.hex()} is not that of key {self.name!r}")

    @classmethod
    def parse(cls, vkey_string: str) -> Verifier:
        """The verifier in a `<name>+<key id>+<base64 key>` string."""
        what = "the verifier key string"
        name, expected_id, _, public_key = split_key_string(vkey_string, what)
        actual_id = compute_key_id(name, public_key)
        if actual_id != expected_id:
            raise NoteError(f"{what} says key ID {expected_id.hex()} but the key of "
                            f"{name!r} has ID {actual_id.hex()}")
        return cls(name, actual_id, public_key)

    def key_string(self) -> str:
        """The verifier key string, `<name>+<key id>+<base64 key>`."""
        return f"{self.name}+{self.key_id.hex()}+{b64(bytes([ED25519]) + self.public_key)}"

    def verify(self, note: str) -> str:
        """The text of `note` if this key signed it; NoteError if the note is malformed, has
        no signature by this key, or has one that does not verify. Other keys' signatures
        are ignored."""
        text, lines = split_note(note)
        public_key = Ed25519PublicKey.from_public_bytes(self.public_key)
        message = text.encode("utf-8")
        verified = False
        for number, (name, signature) in enumerate(lines, start=1):
            if name != self.name or signature[:4] != self.key_id:
                continue
            try:
                public_key.verify(signature[4:], message)
            except InvalidSignature:
                raise NoteError(f"the signature by {self.name}+{self.key_id.hex()} "
                                f"(line {number}) does not verify") from None
            verified = True
        if not verified:
            raise NoteError(f"the note has no signature by {self.name}+{self.key_id.hex()}")
        return text


def split_note(note: str) -> tuple[str, list[tuple[str, bytes]]]:
    """The text of a signed note and its signature lines, each as (key name, base64-decoded
    payload: key ID || signature); NoteError if the note is malformed."""
    _check_characters(note, "the note")
    split = note.rfind("\n\n")
    if split < 0:
        raise NoteError("the note has no blank line between its text and its signatures")
    text, signatures = note[: split + 1], note[split + 2:]
    if not signatures.endswith("\n"):
        raise NoteError("the note must end with a signature line and a newline")
    lines = signatures[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError(f"the note has {len(lines)} signatures, more than {MAX_SIGNATURES}")
    return text, [_parse_signature_line(line, number)
                  for number, line in enumerate(lines, start=1)]


def _parse_signature_line(line: str, number: int) -> tuple[str, bytes]:
    """The key name and base64-decoded payload (key ID || signature) of a signature line."""
    what = f"signature line {number}"
    if not line.startswith(SIGNATURE_PREFIX):
        raise NoteError(f"{what} does not start with an em dash (U+2014) and a space")
    name, space, encoded = line[len(SIGNATURE_PREFIX):].partition(" ")
    if not space:
        raise NoteError(f"{what} must be '— <key name> <base64 signature>'")
    check_name(name)
    payload = decode_base64(encoded, what)
    if len(payload) < 5:
        raise NoteError(f"{what} is too short to hold a key ID and a signature")
    return name, payload


@dataclass(frozen=True)
class Checkpoint:
    """A C2SP tlog-checkpoint body: the log's origin, its tree size and root hash."""

    origin: str
    size: int
    root: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "the checkpoint origin")
        if isinstance(self.size, bool) or not isinstance(self.size, int):
            raise NoteError(f"the tree size must be an int, not {type(self.size).__name__}")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise NoteError(f"the tree size {self.size} is not between 0 and 2**64 - 1")
        if len(self.root) != 32:
            raise NoteError(f"the root hash has {len(self.root)} bytes, not 32")
        for extension in self.extensions:
            _check_line(extension, "a checkpoint extension line")

    def body(self) -> str:
        """The note text: origin, size and base64 root, then any extension lines."""
        lines = [self.origin, str(self.size), b64(self.root), *self.extensions]
        return "".join(f"{line}\n" for line in lines)

    @classmethod
    def parse(cls, text: str) -> Checkpoint:
        """The checkpoint whose body is `text`, refusing anything but the canonical form."""
        if not text.endswith("\n"):
            raise NoteError("a checkpoint body must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise NoteError(f"a checkpoint body has at least 3 lines (origin, tree size, "
                            f"root hash), not {len(lines)}")
        origin, size, root, *extensions = lines
        if not _TREE_SIZE.fullmatch(size):
            raise NoteError(f"the tree size {size!r} is not a decimal number without "
                            "leading zeros")
        return cls(origin, int(size), decode_base64(root, "the root hash"), tuple(extensions))


def _check_line(line: str, what: str) -> None:
    if not line:
        raise NoteError(f"{what} must not be empty")
    if "\n" in line:
        raise NoteError(f"{what} must be a single line")
    _check_characters(line, what)


def sign_checkpoint(signer: Signer, checkpoint: Checkpoint) -> str:
    """The signed note of the checkpoint's body."""
    return signer.sign(checkpoint.body())


def open_checkpoint(note: str, verifier: Verifier, origin: str | None = None) -> Checkpoint:
    """The checkpoint in `note`, once its signature by `verifier` has been checked, and its
    origin if `origin` is given."""
    checkpoint = Checkpoint.parse(verifier.verify(note))
    if origin is not None and checkpoint.origin != origin:
        raise NoteError(f"the checkpoint is of {checkpoint.origin!r}, not {origin!r}")
    return checkpoint


def b64(data: bytes) -> str:
    """Standard, padded base64."""
    return base64.b64encode(data).decode("ascii")
