"""The verifiable log: signed checkpoints, the verifier key, leaves and proofs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from concord.api.http import queries
from concord.api.http.errors import ProblemError
from concord.api.http.proofs import (
    PROOF_SUFFIX,
    ConsistencyProof,
    InclusionProof,
    b64,
    consistency_proof,
    inclusion_proof,
    leaf_of,
    stored_tree,
    tlog_proof,
)
from concord.api.http.reads import MinPosition, caught_up
from concord.api.http.schemas import problem_responses
from concord.domain.envelope import MAX_POSITION
from concord.projections.tree import Transparency
from concord.tlog.leaves import leaf_bytes

router = APIRouter(prefix="/v1/log", tags=["verifiable log"])

Size = Annotated[int, Query(ge=0, le=MAX_POSITION)]
CHECKPOINT_CACHE = "public, max-age=2"
"""The checkpoint changes as the log grows: caches may keep it two seconds at most."""
_TEXT = {"content": {"text/plain": {"schema": {"type": "string"}}}}


@router.get("/checkpoint", response_class=Response,
            responses={200: {**_TEXT, "description": "A C2SP tlog-checkpoint signed note."},
                       **problem_responses(422, 503)})
async def checkpoint(request: Request, min_position: MinPosition = 0) -> Response:
    """The log's signed checkpoint (C2SP tlog-checkpoint): origin, tree size and root, signed
    with the log's key, and cosigned by every witness that has cosigned that size.

    With witnesses, this is the newest checkpoint the witnesses have been asked to cosign
    (at most CONCORD_WITNESS_INTERVAL_SECONDS behind, plus their answer); with
    `min_position` beyond it, a newer one the log alone has signed so far."""
    note = await queries.signed_checkpoint(request, min_position)
    return Response(note, media_type="text/plain; charset=utf-8",
                    headers={"Cache-Control": CHECKPOINT_CACHE})


@router.get("/public-key", response_class=Response,
            responses={200: {**_TEXT, "description": "The C2SP note verifier key."}})
async def public_key(request: Request) -> Response:
    """The verifier key of the log's checkpoints (`name+keyid+base64`)."""
    key = request.app.state.checkpoints.signer.verifier_key_string()
    return Response(key + "\n", media_type="text/plain; charset=utf-8")


@router.get("/leaves/{leaf_index}", response_class=Response,
            responses={200: {"content": {"application/json": {}},
                             "description": "The leaf's bytes: the entry's envelope without "
                                            "leaf_index, as RFC 8785 canonical JSON."},
                       **problem_responses(404, 422, 503)})
async def leaf(request: Request, leaf_index: Annotated[int, Path(ge=0, le=MAX_POSITION)],
               min_position: MinPosition = 0) -> Response:
    """The canonical bytes of one leaf; SHA-256(0x00 || them) is its leaf hash."""
    suffix, _ = await caught_up(request, Transparency.name, min_position)

    def read() -> tuple[bytes, bytes]:
        tree = stored_tree(request, suffix)
        found = tree.leaf(leaf_index)
        if found is None:
            raise _not_in_tree(f"leaf_index {leaf_index}", tree.size())
        envelope = request.app.state.log.envelopes_at([found[0]])[0]
        return leaf_bytes(envelope), found[1]

    body, digest = await run_in_threadpool(read)
    return Response(body, media_type="application/json", headers={"X-Leaf-Hash": b64(digest)})


def _not_in_tree(what: str, size: int) -> ProblemError:
    return ProblemError(404, "beyond-the-tree", "Beyond the tree",
                        f"{what} is beyond the tree, which has {size} leaves (pass "
                        "min_position to wait for a recent entry)", tree_size=size)


ProofFormat = Annotated[Literal["json", "tlog-proof"], Query(
    alias="format", description=(
        "json (the default), or tlog-proof: a C2SP tlog-proof file (`.tlog-proof`) holding "
        "the entry's leaf (in its `extra` line), its audit path and the signed, cosigned "
        "checkpoint of tree_size, for `concord verify --receipt` or any tlog-proof "
        "verifier."))]


@router.get("/proofs/inclusion", response_model=InclusionProof,
            responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}},
                             "description": "The proof (as JSON, or as a tlog-proof file)."},
                       **problem_responses(400, 404, 422, 503)})
async def inclusion(request: Request, leaf_index: Size,
                    tree_size: Annotated[int | None, Query(
                        ge=0, le=MAX_POSITION, description=(
                            "The tree the proof is in (default: the size of the checkpoint "
                            "/v1/log/checkpoint serves); with format=tlog-proof, a size the "
                            "log has issued a checkpoint at."))] = None,
                    min_position: MinPosition = 0,
                    proof_format: ProofFormat = "json") -> Any:
    """The inclusion proof of leaf `leaf_index` in the tree of `tree_size` leaves."""
    if tree_size is not None and leaf_index >= tree_size:
        raise ProblemError(400, "impossible-proof", "No such proof",
                           f"leaf_index {leaf_index} is not in a tree of {tree_size} leaves",
                           errors=[{"field": "leaf_index", "reason": "not less than tree_size"}])
    suffix, _ = await caught_up(request, Transparency.name, min_position)
    checkpoints = request.app.state.checkpoints

    def prove() -> tuple[dict[str, Any], str | None]:
        tree = stored_tree(request, suffix)
        size = tree.size()
        note = None
        if tree_size is None:
            size, note = checkpoints.served(suffix, leaf_index + 1
                                            if leaf_index < size else 0)
            if leaf_index >= size:
                raise _not_in_tree(f"leaf_index {leaf_index}", size)
        elif tree_size > size:
            raise _not_in_tree(f"tree_size {tree_size}", size)
        else:
            size = tree_size
            if proof_format == "tlog-proof":
                note = checkpoints.at(size)
                if note is None:
                    raise ProblemError(
                        404, "no-checkpoint", "No checkpoint at that size",
                        f"tree_size: the log has issued no checkpoint of {size} leaves; "
                        "omit tree_size for the one it serves", errors=[{
                            "field": "tree_size", "reason": "no checkpoint at that size"}])
        return inclusion_proof(tree, leaf_index, size), note

    found, note = await run_in_threadpool(prove)
    if proof_format == "json":
        return found
    assert note is not None
    leaf = await run_in_threadpool(leaf_of, request, suffix, leaf_index)
    bundle = tlog_proof(leaf_index, found["proof"], note, leaf)
    return Response(bundle, media_type="text/plain; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="leaf-{leaf_index}{PROOF_SUFFIX}"'})


@router.get("/proofs/consistency", response_model=ConsistencyProof,
            responses=problem_responses(400, 404, 422, 503))
async def consistency(request: Request, first: Size, second: Size,
                      min_position: MinPosition = 0) -> dict[str, Any]:
    """The consistency proof between the trees of `first` and `second` leaves."""
    if not 1 <= first <= second:
        raise ProblemError(400, "impossible-proof", "No such proof",
                           f"no consistency proof from {first} to {second} leaves: first must "
                           "be at least 1 and at most second",
                           errors=[{"field": "first", "reason": "not from 1 to second"}])
    suffix, _ = await caught_up(request, Transparency.name, min_position)

    def prove() -> dict[str, Any]:
        tree = stored_tree(request, suffix)
        size = tree.size()
        if second > size:
            raise _not_in_tree(f"second {second}", size)
        return consistency_proof(tree, first, second)

    result: dict[str, Any] = await run_in_threadpool(prove)
    return result
