"""The verifiable log as C2SP tlog-tiles (c2sp.org/tlog-tiles), under the prefix /v1/log:
hash tiles and entry bundles, read from the stored tree, byte for byte as the spec lays
them out, so that any tlog-tiles client can audit the log from its checkpoint.

A tile's bytes never change once its hashes exist (a partial tile is a prefix of the full
one it grows into), so every tile served is cacheable for good. A full tile is served once
the tree holds all of it, a partial one whenever the tree has its hashes: that covers every
size a checkpoint was signed for.
"""

from __future__ import annotations

import gzip
from typing import Annotated, TypeVar

from fastapi import APIRouter, Path, Request, Response
from starlette.concurrency import run_in_threadpool

from concord.api.http.errors import ProblemError
from concord.api.http.proofs import stored_tree
from concord.api.http.reads import caught_up
from concord.api.http.schemas import problem_responses
from concord.domain.envelope import MAX_POSITION
from concord.projections.tree import Transparency
from concord.tlog.leaves import leaf_bytes
from concord.tlog.tiles import (
    MAX_ENTRY_SIZE,
    TILE_HEIGHT,
    Bundle,
    Tile,
    TileError,
    bundle_bytes,
    parse_path,
    tile_bytes,
)

router = APIRouter(prefix="/v1/log", tags=["verifiable log"])

IMMUTABLE = "public, max-age=31536000, immutable"
"""A tile's bytes never change: caches may keep them for a year, without revalidating."""
OCTETS = "application/octet-stream"
_GZIP_LEVEL = 6

_INDEX_DESCRIPTION = (
    "The tile's index N in zero-padded 3-digit path elements, all but the last prefixed "
    "with `x` (1234067: `x001/x234/067`), followed by `.p/<W>` for a partial tile of W "
    "(1 to 255) hashes or entries.")
Index = Annotated[str, Path(description=_INDEX_DESCRIPTION, examples=["000", "x001/234.p/17"])]
Level = Annotated[str, Path(description=(
    "The tile level L, 0 to 63 without leading zeros: level 0 holds leaf hashes, level L "
    "the roots of full tiles of level L - 1."), examples=["0", "1"])]

_BINARY = {"schema": {"type": "string", "format": "binary"}}


def _responses(description: str) -> dict[int | str, dict[str, object]]:
    return {200: {"content": {OCTETS: _BINARY}, "description": description},
            **problem_responses(404, 422, 503)}


@router.get("/tile/entries/{index:path}", response_class=Response,
            responses=_responses("The entries, each after its length as a big-endian uint16 "
                                 "(gzip-compressed if the client accepts it)."))
@router.head("/tile/entries/{index:path}", response_class=Response, include_in_schema=False)
async def entry_bundle(request: Request, index: Index) -> Response:
    """An entry bundle (C2SP tlog-tiles): the canonical leaves of level-0 tile N, each
    prefixed with its length as a big-endian uint16."""
    bundle = _parse(f"tile/entries/{index}", Bundle)
    compress = accepts_gzip(request.headers.get("accept-encoding"))
    suffix, _ = await caught_up(request, Transparency.name, 0)

    def read() -> bytes | int:
        tree = stored_tree(request, suffix)
        if bundle.needs_size() > MAX_POSITION:
            return tree.size()
        found = tree.leaves(bundle.leaves[0], bundle.width)
        if len(found) < bundle.width:
            return tree.size()
        envelopes = request.app.state.log.envelopes_at([position for _, position, _ in found])
        leaves = [leaf_bytes(envelope) for envelope in envelopes]
        for (leaf_index, position, _), leaf in zip(found, leaves, strict=True):
            if len(leaf) > MAX_ENTRY_SIZE:
                raise _unbundlable(bundle, leaf_index, position, len(leaf))
        body = bundle_bytes(leaves)
        return gzip.compress(body, _GZIP_LEVEL, mtime=0) if compress else body

    body = await run_in_threadpool(read)
    if isinstance(body, int):
        raise _beyond(bundle, body)
    headers = {"Cache-Control": IMMUTABLE, "Vary": "Accept-Encoding"}
    if compress:
        headers["Content-Encoding"] = "gzip"
    return _answer(request, body, headers)


@router.get("/tile/{level}/{index:path}", response_class=Response,
            responses=_responses("The tile's hashes (32 bytes each), concatenated."))
@router.head("/tile/{level}/{index:path}", response_class=Response, include_in_schema=False)
async def hash_tile(request: Request, level: Level, index: Index) -> Response:
    """A Merkle tree tile (C2SP tlog-tiles): 256 consecutive hashes at tile level L (fewer
    in a partial tile), each the root of 256**L leaves."""
    tile = _parse(f"tile/{level}/{index}", Tile)
    suffix, _ = await caught_up(request, Transparency.name, 0)

    def read() -> bytes | int:
        tree = stored_tree(request, suffix)
        if tile.needs_size() > MAX_POSITION:
            return tree.size()
        # Tile level L holds the stored subtrees of tree level 8L.
        hashes = tree.hashes(tile.level * TILE_HEIGHT, tile.start, tile.width)
        return tile_bytes(hashes) if len(hashes) == tile.width else tree.size()

    body = await run_in_threadpool(read)
    if isinstance(body, int):
        raise _beyond(tile, body)
    return _answer(request, body, {"Cache-Control": IMMUTABLE})


def _answer(request: Request, body: bytes, headers: dict[str, str]) -> Response:
    """The resource, or for HEAD its headers alone (its length included)."""
    if request.method == "HEAD":
        return Response(b"", media_type=OCTETS,
                        headers={**headers, "Content-Length": str(len(body))})
    return Response(body, media_type=OCTETS, headers=headers)


T = TypeVar("T", Tile, Bundle)


def _parse(path: str, kind: type[T]) -> T:
    """The tile or bundle at `path`, or a 404 saying why it is not one."""
    try:
        found = parse_path(path)
    except TileError as e:
        raise _not_found("not-a-tile", "Not a tile", str(e)) from None
    if not isinstance(found, kind):
        raise _not_found("not-a-tile", "Not a tile", f"{path!r} is not a tile path")
    return found


def _beyond(tile: Tile | Bundle, size: int) -> ProblemError:
    """The 404 of a tile the tree of `size` leaves does not hold (yet)."""
    what = "entry bundle" if isinstance(tile, Bundle) else "tile"
    first, end = tile.leaves
    return _not_found("beyond-the-tree", "Beyond the tree",
                      f"{tile.path()}: the {what} spans leaves {first:,} to {end - 1:,}, "
                      f"so it needs a tree of at least {end:,} leaves; the tree has "
                      f"{size:,}", tree_size=size)


def _unbundlable(bundle: Bundle, leaf_index: int, position: int, length: int) -> ProblemError:
    """The problem of a bundle holding an entry too long for its uint16 length prefix (one
    recorded before submissions were bounded)."""
    problem = ProblemError(
        500, "entry-too-large-for-a-bundle", "Entry too large for a bundle",
        f"{bundle.path()}: leaf {leaf_index:,} (position {position:,}) has {length:,} bytes; "
        f"an entry bundle holds entries of at most {MAX_ENTRY_SIZE:,} (a uint16 length), so "
        f"this bundle cannot be served; /v1/log/leaves/{leaf_index} serves that leaf alone",
        leaf_index=leaf_index, position=position, leaf_bytes=length)
    problem.headers["Cache-Control"] = "no-store"
    return problem


def _not_found(slug: str, title: str, detail: str, **extensions: object) -> ProblemError:
    """A 404 problem that caches never keep: the tile may appear as the log grows."""
    problem = ProblemError(404, slug, title, detail, **extensions)
    problem.headers["Cache-Control"] = "no-store"
    return problem


def accepts_gzip(header: str | None) -> bool:
    """Whether an Accept-Encoding header allows gzip: named (or `*`) with a non-zero q."""
    if not header:
        return False
    star = False
    for item in header.split(","):
        coding, _, params = item.strip().partition(";")
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        coding = coding.strip().lower()
        if coding in ("gzip", "x-gzip"):
            return quality > 0
        if coding == "*":
            star = quality > 0
    return star
