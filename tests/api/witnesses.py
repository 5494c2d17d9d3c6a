"""Helpers for the witness's tests: logs kept in memory (their leaves, checkpoints and
consistency proofs), a cosignature checked with the `cryptography` package alone, as
C2SP tlog-cosignature defines it, without Concord's code, and a client that never sends
the rest of its request body."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from concord.tlog.merkle import consistency_proof, leaf_hash, root_of
from concord.tlog.notes import Checkpoint, Signer
from concord.tlog.witnessing import encode_add_checkpoint

ORIGIN = "relacopaz.example/concord"


@dataclass
class MemoryLog:
    """A log whose leaves are in memory; `fork` names the history its entries tell."""

    signer: Signer
    fork: str = "main"
    leaves: list[bytes] = field(default_factory=list)

    def grow(self, size: int) -> MemoryLog:
        """This log with entries appended up to `size`."""
        while len(self.leaves) < size:
            self.leaves.append(leaf_hash(f"{self.fork} entry {len(self.leaves)}".encode()))
        return self

    def forked(self, at: int, fork: str) -> MemoryLog:
        """Another history that shares this one's first `at` entries."""
        return MemoryLog(self.signer, fork, self.leaves[:at])

    def root(self, size: int) -> bytes:
        """The root of the tree of the first `size` leaves."""
        return root_of(self.leaves[:size])

    def checkpoint(self, size: int, *signers: Signer) -> str:
        """The checkpoint of the first `size` leaves, signed by the log (or `signers`)."""
        text = Checkpoint(self.signer.name, size, self.root(size)).body()
        notes = [signer.sign(text) for signer in signers or (self.signer,)]
        return notes[0] + "".join(note.split("\n\n")[-1] for note in notes[1:])

    def proof(self, old_size: int, size: int) -> list[bytes]:
        """The consistency proof from `old_size` to `size` leaves (none from 0)."""
        if old_size == 0:
            return []
        return consistency_proof(lambda start, end: root_of(self.leaves[start:end]),
                                 old_size, size)

    def body(self, old_size: int, size: int) -> bytes:
        """The add-checkpoint request of the checkpoint at `size`, from `old_size`."""
        self.grow(size)
        return encode_add_checkpoint(old_size, self.proof(old_size, size),
                                     self.checkpoint(size))


def key_id(name: str, public_key: bytes) -> bytes:
    """A cosignature/v1 key ID: SHA-256(name || 0x0A || 0x04 || public key)[:4]."""
    return hashlib.sha256(name.encode() + b"\n\x04" + public_key).digest()[:4]


def check_cosignature(line: str, name: str, public_key: bytes, text: str) -> int:
    """The timestamp of the cosignature/v1 `line` by the witness `name`, with the raw
    Ed25519 `public_key`, of the checkpoint text `text`; AssertionError or InvalidSignature
    if it is not one."""
    prefix = f"\u2014 {name} "
    assert line.startswith(prefix) and line.endswith("\n"), line
    payload = base64.b64decode(line[len(prefix):-1], validate=True)
    assert len(payload) == 4 + 8 + 64
    assert payload[:4] == key_id(name, public_key)
    timestamp = int.from_bytes(payload[4:12], "big")
    assert 0 < timestamp < 2**63
    message = f"cosignature/v1\ntime {timestamp}\n{text}".encode()
    Ed25519PublicKey.from_public_bytes(public_key).verify(payload[12:], message)
    return timestamp


def check_log_signature(line: str, signer: Signer, text: str) -> None:
    """Check the Ed25519 note signature `line` by the log's key over `text` directly."""
    prefix = f"\u2014 {signer.name} "
    assert line.startswith(prefix) and line.endswith("\n"), line
    payload = base64.b64decode(line[len(prefix):-1], validate=True)
    public_key = signer.private_key.public_key()
    public_key.verify(payload[4:], text.encode())


Message = MutableMapping[str, Any]
ASGIApp = Callable[[Message, Callable[[], Awaitable[Message]],
                    Callable[[Message], Awaitable[None]]], Awaitable[None]]


async def post_stalled(app: ASGIApp, path: str, first: bytes, declared: int) -> list[Message]:
    """The messages `app` sends for a POST to `path` whose client declares a body of
    `declared` bytes, sends `first`, then nothing more while the connection stays open."""
    chunks: list[Message] = [{"type": "http.request", "body": first, "more_body": True}]
    sent: list[Message] = []

    async def receive() -> Message:
        if chunks:
            return chunks.pop()
        await asyncio.Event().wait()  # never set: the rest of the body never comes
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    scope: Message = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST",
        "scheme": "http", "path": path, "raw_path": path.encode(), "root_path": "",
        "query_string": b"", "headers": [(b"content-length", str(declared).encode())],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8080),
    }
    await app(scope, receive, send)
    return sent
