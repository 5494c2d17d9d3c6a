"""Proofs of the verifiable log as the HTTP API answers them: inclusion and consistency
proofs from the stored tree, and the receipt of an appended entry. Built here alone, for the
log's routes and the events' `?proof=true`."""

from __future__ import annotations

import base64
from typing import Any

from fastapi import Request
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from concord.api.http.reads import caught_up, forget_log_end
from concord.projections.tree import StoredTree, Transparency
from concord.tlog.leaves import leaf_bytes
from concord.tlog.merkle import leaf_hash
from concord.tlog.proof import TlogProof


def b64(digest: bytes) -> str:
    """A hash as JSON carries it: base64, standard alphabet."""
    return base64.b64encode(digest).decode()


class InclusionProof(BaseModel):
    """The audit path of a leaf in the tree of `tree_size` leaves (RFC 9162 §2.1.3)."""

    leaf_index: int
    tree_size: int
    leaf_hash: str = Field(description="SHA-256(0x00 || leaf), base64.")
    root: str = Field(description="The root of the tree of tree_size leaves, base64.")
    proof: list[str] = Field(description="The audit path, leaf to root, base64.")


class ConsistencyProof(BaseModel):
    """The proof that the tree of `second` leaves extends the tree of `first` (RFC 9162
    §2.1.4)."""

    first: int
    second: int
    first_root: str
    second_root: str
    proof: list[str]


class Receipt(BaseModel):
    """Proof that an appended entry is in the log: a signed checkpoint covering it, and the
    entry's audit path in that checkpoint's tree; the same as a C2SP tlog-proof file."""

    tree_size: int
    checkpoint: str = Field(description="A C2SP tlog-checkpoint signed note.")
    leaf_hash: str
    inclusion: list[str]
    tlog_proof: str = Field(description=(
        "The same proof as a C2SP tlog-proof file (save it as `.tlog-proof`): the entry's "
        "leaf in its `extra` line, its audit path, the checkpoint."))


PROOF_SUFFIX = ".tlog-proof"


def tlog_proof(leaf_index: int, path: list[str], note: str, leaf: bytes) -> str:
    """The C2SP tlog-proof of a leaf, carrying the leaf itself as its extra data."""
    return TlogProof(leaf_index, tuple(base64.b64decode(h) for h in path), note,
                     leaf).encode()


def leaf_of(request: Request, suffix: str, leaf_index: int) -> bytes:
    """The canonical bytes of a leaf the tree holds."""
    found = stored_tree(request, suffix).leaf(leaf_index)
    assert found is not None
    return leaf_bytes(request.app.state.log.envelopes_at([found[0]])[0])


def stored_tree(request: Request, suffix: str) -> StoredTree:
    """The Merkle tree of the transparency projection's copy `suffix`."""
    return StoredTree(request.app.state.projection_store.reader(), suffix)


def inclusion_proof(tree: StoredTree, leaf_index: int, tree_size: int) -> dict[str, Any]:
    """The inclusion proof of a leaf the tree holds, in the tree of `tree_size` leaves."""
    found = tree.leaf(leaf_index)
    assert found is not None
    return {"leaf_index": leaf_index, "tree_size": tree_size, "leaf_hash": b64(found[1]),
            "root": b64(tree.root(tree_size)),
            "proof": [b64(h) for h in tree.inclusion(leaf_index, tree_size)]}


def consistency_proof(tree: StoredTree, first: int, second: int) -> dict[str, Any]:
    """The consistency proof between two sizes the tree has reached."""
    return {"first": first, "second": second, "first_root": b64(tree.root(first)),
            "second_root": b64(tree.root(second)),
            "proof": [b64(h) for h in tree.consistency(first, second)]}


async def receipt(request: Request, envelope: dict[str, Any]) -> dict[str, Any]:
    """A proof that a just-appended entry is in the log: a signed checkpoint that covers it
    and the entry's audit path in that checkpoint's tree."""
    index = envelope["leaf_index"]
    forget_log_end(request)  # the entry was appended after any end read before
    suffix, _ = await caught_up(request, Transparency.name, envelope["position"])

    def prove() -> dict[str, Any]:
        size, note = request.app.state.checkpoints.latest(suffix, at_least=index + 1)
        tree = stored_tree(request, suffix)
        leaf = leaf_bytes(envelope)
        path = [b64(h) for h in tree.inclusion(index, size)]
        return {"tree_size": size, "checkpoint": note, "leaf_hash": b64(leaf_hash(leaf)),
                "inclusion": path, "tlog_proof": tlog_proof(index, path, note, leaf)}

    result: dict[str, Any] = await run_in_threadpool(prove)
    return result
