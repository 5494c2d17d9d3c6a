"""Witness cosignatures of checkpoints: C2SP tlog-cosignature, Ed25519 `cosignature/v1`.

A cosignature is a note signature line `— <witness name> base64(key ID || timestamp ||
signature)`, where the key ID is SHA-256(name || 0x0A || 0x04 || public key)[:4], the
timestamp is 8 bytes big-endian (POSIX seconds, never zero) and the Ed25519 signature is over

    cosignature/v1
    time <timestamp>
    <the checkpoint's note text: origin, size, root, extension lines>

A witness's verifier key is `<name>+<key id hex>+base64(0x04 || public key)`. Its private key
is kept as an ordinary note signer key (`PRIVATE+KEY+<name>+<id>+base64(0x01 || seed)`, the
form Go's tools read for cosigning too); a `0x04` form is read as well.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from concord.tlog.notes import (
    ED25519,
    SIGNATURE_PREFIX,
    NoteError,
    Signer,
    b64,
    check_name,
    check_text,
    compute_key_id,
    split_key_string,
    split_note,
)

COSIGNATURE_V1 = 0x04
"""The signature type byte of Ed25519 cosignature/v1 in key IDs and verifier keys."""

MAX_TIMESTAMP = 2**63 - 1
_PRIVATE_PREFIX = "PRIVATE+KEY+"


def cosigned_message(text: str, timestamp: int) -> bytes:
    """The bytes a cosignature/v1 signs: its header line, its time line, the note text."""
    check_text(text)
    if not 0 < timestamp <= MAX_TIMESTAMP:
        raise NoteError(f"a cosignature's timestamp must be from 1 to 2**63 - 1, not {timestamp}")
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


@dataclass(frozen=True)
class Cosignature:
    """A valid cosignature found on a note: whose, and when it was made."""

    verifier: CosignatureVerifier
    timestamp: int


@dataclass(frozen=True)
class CosignatureVerifier:
    """A witness's named Ed25519 public key, checking cosignature/v1 lines."""

    name: str
    key_id: bytes
    public_key: bytes

    def __post_init__(self) -> None:
        check_name(self.name)
        if len(self.public_key) != 32:
            raise NoteError("an Ed25519 public key has 32 bytes")
        if self.key_id != compute_key_id(self.name, self.public_key, COSIGNATURE_V1):
            raise NoteError(f"key ID {self.key_id.hex()} is not that of witness {self.name!r}")

    @classmethod
    def parse(cls, vkey_string: str) -> CosignatureVerifier:
        """The verifier in a `<name>+<key id>+base64(0x04 || key)` string."""
        what = "the witness's verifier key"
        name, expected_id, _, public_key = split_key_string(vkey_string.strip(), what,
                                                            (COSIGNATURE_V1,))
        actual_id = compute_key_id(name, public_key, COSIGNATURE_V1)
        if actual_id != expected_id:
            raise NoteError(f"{what} says key ID {expected_id.hex()} but the key of "
                            f"{name!r} has ID {actual_id.hex()}")
        return cls(name, actual_id, public_key)

    def key_string(self) -> str:
        """The verifier key string, `<name>+<key id>+base64(0x04 || key)`."""
        encoded = b64(bytes([COSIGNATURE_V1]) + self.public_key)
        return f"{self.name}+{self.key_id.hex()}+{encoded}"

    @property
    def label(self) -> str:
        """The witness as messages name it: name and key ID."""
        return f"{self.name}+{self.key_id.hex()}"

    def check(self, text: str, payload: bytes) -> int:
        """The timestamp of the cosignature `payload` (key ID || timestamp || signature) of
        the note text `text`; NoteError if it is not one by this key or does not verify."""
        if payload[:4] != self.key_id:
            raise NoteError(f"the signature is not by {self.label}")
        if len(payload) != 4 + 8 + 64:
            raise NoteError(f"the cosignature by {self.label} has {len(payload) - 4} bytes, "
                            "not 72 (timestamp and Ed25519 signature)")
        timestamp = int.from_bytes(payload[4:12], "big")
        message = cosigned_message(text, timestamp)
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(payload[12:], message)
        except InvalidSignature:
            raise NoteError(f"the cosignature by {self.label} does not verify") from None
        return timestamp

    def find(self, note: str) -> Cosignature | None:
        """This witness's valid cosignature on `note`, None if it has none; NoteError if the
        note is malformed or carries a signature line by this key that does not verify."""
        text, lines = split_note(note)
        found: Cosignature | None = None
        for name, payload in lines:
            if name == self.name and payload[:4] == self.key_id:
                found = Cosignature(self, self.check(text, payload))
        return found


@dataclass(frozen=True)
class Cosigner:
    """A witness's named Ed25519 private key, making cosignature/v1 lines."""

    name: str
    private_key: Ed25519PrivateKey = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        check_name(self.name)

    @classmethod
    def generate(cls, name: str) -> Cosigner:
        """A new random witness key called `name`."""
        return cls(name, Ed25519PrivateKey.generate())

    @classmethod
    def parse(cls, private_key_string: str) -> Cosigner:
        """The witness key in a `PRIVATE+KEY+<name>+<id>+base64(type || seed)` string, of
        type 0x01 (a note signer key, the form `private_key_string` writes) or 0x04."""
        text = private_key_string.strip()
        if not text.startswith(_PRIVATE_PREFIX):
            raise NoteError(f"a witness's private key must start with {_PRIVATE_PREFIX!r}")
        name, expected_id, key_type, seed = split_key_string(
            text[len(_PRIVATE_PREFIX):], "the witness's private key",
            (ED25519, COSIGNATURE_V1))
        cosigner = cls(name, Ed25519PrivateKey.from_private_bytes(seed))
        actual_id = compute_key_id(name, cosigner.public_key, key_type)
        if actual_id != expected_id:
            raise NoteError(f"the witness's private key says key ID {expected_id.hex()} but "
                            f"the key of {name!r} has ID {actual_id.hex()}")
        return cosigner

    @property
    def public_key(self) -> bytes:
        """The 32-byte Ed25519 public key."""
        return self.private_key.public_key().public_bytes_raw()

    def private_key_string(self) -> str:
        """The secret key as a note signer key string (type 0x01), for the key file."""
        return Signer(self.name, compute_key_id(self.name, self.public_key),
                      self.private_key).private_key_string()

    def verifier(self) -> CosignatureVerifier:
        """The verifier of this witness's cosignatures."""
        return CosignatureVerifier(self.name, compute_key_id(self.name, self.public_key,
                                                             COSIGNATURE_V1), self.public_key)

    def cosign(self, text: str, timestamp: int) -> str:
        """The cosignature line (ending in a newline) of the note text `text` at
        `timestamp` (POSIX seconds)."""
        signature = self.private_key.sign(cosigned_message(text, timestamp))
        payload = self.verifier().key_id + timestamp.to_bytes(8, "big") + signature
        return f"{SIGNATURE_PREFIX}{self.name} {b64(payload)}\n"
