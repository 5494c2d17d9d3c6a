"""The verifiable log: signed checkpoints, the verifier key, leaves and proofs."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from concord.api.http.errors import ProblemError
from concord.api.http.proofs import (
    ConsistencyProof,
    InclusionProof,
    b64,
    consistency_proof,
    inclusion_proof,
    stored_tree,
)
from concord.api.http.reads import MinPosition, caught_up
from concord.api.http.schemas import problem_responses
from concord.domain.envelope import MAX_POSITION
from concord.projections.tree import Transparency
from concord.tlog.leaves import leaf_bytes

router = APIRouter(prefix="/v1/log", tags=["verifiable log"])

Size = Annotated[int, Query(ge=0, le=MAX_POSITION)]
_TEXT = {"content": {"text/plain": {"schema": {"type": "string"}}}}


@router.get("/checkpoint", response_class=Response,
            responses={200: {**_TEXT, "description": "A C2SP tlog-checkpoint signed note."},
                       **problem_responses(422, 503)})
async def checkpoint(request: Request, min_position: MinPosition = 0) -> Response:
    """The latest signed checkpoint: origin, tree size and root, signed with the log's key."""
    suffix, _ = await caught_up(request, Transparency.name, min_position)
    _, note = await run_in_threadpool(request.app.state.checkpoints.latest, suffix)
    return Response(note, media_type="text/plain; charset=utf-8")


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


@router.get("/proofs/inclusion", response_model=InclusionProof,
            responses=problem_responses(400, 404, 422, 503))
async def inclusion(request: Request, leaf_index: Size, tree_size: Size,
                    min_position: MinPosition = 0) -> dict[str, Any]:
    """The inclusion proof of leaf `leaf_index` in the tree of `tree_size` leaves."""
    if leaf_index >= tree_size:
        raise ProblemError(400, "impossible-proof", "No such proof",
                           f"leaf_index {leaf_index} is not in a tree of {tree_size} leaves",
                           errors=[{"field": "leaf_index", "reason": "not less than tree_size"}])
    suffix, _ = await caught_up(request, Transparency.name, min_position)

    def prove() -> dict[str, Any]:
        tree = stored_tree(request, suffix)
        size = tree.size()
        if tree_size > size:
            raise _not_in_tree(f"tree_size {tree_size}", size)
        return inclusion_proof(tree, leaf_index, tree_size)

    result: dict[str, Any] = await run_in_threadpool(prove)
    return result


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
