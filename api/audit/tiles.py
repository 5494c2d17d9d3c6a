"""Auditing a log published as C2SP tlog-tiles: a Concord server's prefix (`/v1/log`), a
static copy's URL, or a directory holding one (`concord export-tiles`).

From the checkpoint at `<prefix>/checkpoint`, every entry bundle and hash tile of its tree
size is fetched and checked: each entry is the canonical leaf of an envelope, in order (the
entry at index i is position i + 1, whose leaf index is i); each level-0 tile holds the
entries' leaf hashes; each hash of a higher tile is the root of the full tile below it; the
root of all the leaves is the signed one. When the entries do not give the signed root and
the level-0 tiles do, the first entry whose hash differs from its tile's is the edited one.
"""

from __future__ import annotations

import gzip
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from concord.api.audit.verify import Progress, Report, entries, open_policy
from concord.domain.envelope import Envelope
from concord.tlog.leaves import leaf_bytes
from concord.tlog.merkle import EMPTY_ROOT, TreeBuilder, leaf_hash
from concord.tlog.notes import Checkpoint, NoteError, Verifier, open_checkpoint
from concord.tlog.policy import Policy
from concord.tlog.tiles import (
    Bundle,
    BundleError,
    Tile,
    TileError,
    bundles_for_size,
    parse_bundle,
    parse_tile,
    tile_root,
    tiles_for_size,
)

TileSource = Callable[[str], bytes]
"""A tile log's resource by its path under the prefix (`checkpoint`, `tile/0/000`...);
OSError if it cannot be had."""

ENTRY_FIELDS = frozenset(Envelope.__required_keys__) - {"leaf_index"}
"""The fields of an entry's leaf: its envelope's, but leaf_index."""
_AHEAD = 16  # resources fetched ahead of the check, in parallel


def tile_source(location: str, token: str | None = None) -> TileSource:
    """The tile log at `location`: an http(s) URL of its prefix, or a directory; ValueError
    if it is neither."""
    if location.startswith(("http://", "https://")):
        return url_source(location, token)
    folder = Path(location)
    if not folder.is_dir():
        raise ValueError(f"{location!r} is neither an http(s) URL nor a directory")
    return directory_source(folder)


def directory_source(folder: Path) -> TileSource:
    """A tile log's resources read from the files of `folder`."""

    def read(path: str) -> bytes:
        try:
            return (folder / path).read_bytes()
        except OSError as e:
            raise OSError(f"{folder / path}: {e.strerror or e}") from None

    return read


def url_source(prefix: str, token: str | None = None) -> TileSource:
    """A tile log's resources fetched over HTTP under `prefix`, gzip accepted (with a bearer
    token if given)."""
    base = prefix.rstrip("/")

    def fetch(path: str) -> bytes:
        url = f"{base}/{path}"
        request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip, identity"})
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=30) as answer:
                body: bytes = answer.read()
                if answer.headers.get("Content-Encoding", "").lower() == "gzip":
                    body = gzip.decompress(body)
                return body
        except urllib.error.HTTPError as e:
            raise OSError(f"{url}: HTTP {e.code}") from e
        except urllib.error.URLError as e:
            raise OSError(f"{url}: {e.reason}") from e
        except (EOFError, gzip.BadGzipFile) as e:
            raise OSError(f"{url}: the gzip encoding is corrupt: {e}") from e

    return fetch


def verify_tiles(source: TileSource, verifier: Verifier, old_note: str | None = None,
                 policy: Policy | None = None, progress: Progress | None = None) -> Report:
    """Check a tile log against its signed checkpoint (see the module's docstring); with
    `old_note`, a checkpoint saved earlier, check too that the log only grew since (its
    root is that of the first `old size` leaves). With `policy`, the checkpoint counts
    only if its cosignatures meet the policy's quorum."""
    report = Report()
    try:
        note = source("checkpoint").decode("utf-8")
        checkpoint = open_policy(note, verifier, policy, report)
    except (OSError, UnicodeDecodeError, NoteError) as e:
        return report.fail(f"checkpoint: {e}")
    old: Checkpoint | None = None
    if old_note is not None:
        try:
            old = open_checkpoint(old_note, verifier, checkpoint.origin)
        except NoteError as e:
            return report.fail(f"the saved checkpoint: {e}")
        if old.size > checkpoint.size:
            return report.fail(f"the saved checkpoint covers {old.size} "
                               f"{entries(old.size)}, the tile log's only {checkpoint.size}: "
                               "the log shrank, or this copy is older than the saved "
                               "checkpoint", checkpoint.size + 1, checkpoint.size)
    with ThreadPoolExecutor(max_workers=8, thread_name_prefix="concord-tiles") as pool:
        below = _check_leaves(source, pool, checkpoint, old, report, progress)
        if below is not None:
            _check_levels(source, pool, checkpoint.size, below, report)
    if report.ok:
        report.checked = checkpoint.size
        report.notes.append(f"the tile log of {checkpoint.origin} holds {checkpoint.size} "
                            f"{entries(checkpoint.size)}, as its checkpoint signs"
                            + (f"; it extends the saved checkpoint of {old.size}"
                               if old is not None else ""))
    return report


def _check_leaves(source: TileSource, pool: ThreadPoolExecutor, checkpoint: Checkpoint,
                  old: Checkpoint | None, report: Report,
                  progress: Progress | None) -> list[bytes] | None:
    """Check the entry bundles and level-0 tiles, and the root of the leaves; the roots of
    the full level-0 tiles as served (the hashes level 1 must hold), or None if the check
    cannot go on."""
    from_entries, from_tiles = TreeBuilder(), TreeBuilder()
    roots: list[bytes] = []
    # The first leaf whose entry's hash is not its tile's: (leaf index, bundle, tile).
    differs: tuple[int, Bundle, Tile] | None = None
    old_root = EMPTY_ROOT if old is not None and old.size == 0 else None
    bundles = list(bundles_for_size(checkpoint.size))
    paths = [path for b in bundles for path in (b.path(), Tile(0, b.index, b.width).path())]
    fetched = _prefetched(source, pool, paths)
    for bundle in bundles:
        tile = Tile(0, bundle.index, bundle.width)
        first = bundle.leaves[0]
        try:
            data = next(fetched).result()
        except OSError as e:
            last = bundle.leaves[1] - 1
            report.fail(f"{bundle.path()}: {e}: the entries of leaves {first} to {last} are "
                        "missing", first + 1, first)
            return None
        try:
            hashes = _entry_hashes(data, bundle)
        except _BadEntry as e:
            report.fail(f"leaf {e.leaf} (position {e.leaf + 1}), in {bundle.path()}: {e}",
                        e.leaf + 1, e.leaf)
            return None
        try:
            served = parse_tile(next(fetched).result(), tile.width)
        except (OSError, TileError) as e:
            report.fail(f"{tile.path()}: {e}: leaves {first} to {first + tile.width - 1} "
                        "cannot be checked", first + 1, first)
            return None
        for offset, (digest, tiled) in enumerate(zip(hashes, served, strict=True)):
            if differs is None and digest != tiled:
                differs = (first + offset, bundle, tile)
            from_entries.append(digest)
            from_tiles.append(tiled)
            if old is not None and from_entries.size == old.size:
                old_root = from_entries.root()
        if tile.full:
            roots.append(tile_root(served))
        if progress is not None:
            progress(from_entries.size)
    _conclude(report, checkpoint, from_entries.root(), from_tiles.root(), differs)
    if old is not None and old_root != old.root:
        report.fail(f"the root of the first {old.size} {entries(old.size)} is not the one the "
                    "saved checkpoint signed: the log was rewritten since")
    return roots


class _BadEntry(ValueError):
    """An entry of a bundle is not the canonical leaf it must be."""

    def __init__(self, message: str, leaf: int) -> None:
        super().__init__(message)
        self.leaf = leaf


def _entry_hashes(data: bytes, bundle: Bundle) -> list[bytes]:
    """The leaf hashes of a bundle's entries, each checked to be the canonical leaf of the
    envelope whose leaf index is the entry's; _BadEntry naming the first that is not."""
    first = bundle.leaves[0]
    try:
        leaves = parse_bundle(data, bundle.width)
    except BundleError as e:
        raise _BadEntry(f"the bundle is malformed: {e}", first + e.entry) from None
    hashes = []
    for offset, leaf in enumerate(leaves):
        index = first + offset
        try:
            envelope: Any = orjson.loads(leaf)
        except orjson.JSONDecodeError as e:
            raise _BadEntry(f"the entry is not JSON: {e}", index) from None
        if not isinstance(envelope, dict) or envelope.keys() != ENTRY_FIELDS:
            raise _BadEntry("the entry is not an envelope without leaf_index (fields "
                            f"{', '.join(sorted(ENTRY_FIELDS))})", index)
        position = envelope["position"]
        if type(position) is not int or position != index + 1:
            raise _BadEntry(f"the entry is position {position!r}, not {index + 1}: an entry "
                            "was deleted, inserted or reordered before it", index)
        if leaf_bytes(envelope) != leaf:
            raise _BadEntry("the entry is not in canonical form (RFC 8785): it was edited",
                            index)
        hashes.append(leaf_hash(leaf))
    return hashes


def _conclude(report: Report, checkpoint: Checkpoint, from_entries: bytes,
              from_tiles: bytes, differs: tuple[int, Bundle, Tile] | None) -> None:
    """Say which of the entries and the level-0 tiles the signed root vouches for."""
    size = checkpoint.size
    if from_entries == checkpoint.root:
        if differs is not None:
            leaf, _, tile = differs
            report.fail(f"{tile.path()}: hash {leaf - tile.start} is not the hash of leaf "
                        f"{leaf} (position {leaf + 1}), whose entry the signed root vouches "
                        "for: the tile is wrong", leaf + 1, leaf)
        return
    if differs is None:
        report.fail(f"the root of the {size} {entries(size)} is not the signed one, and the "
                    "level-0 tiles agree with the entries: both were rewritten, or the "
                    "checkpoint is not of this log")
        return
    leaf, bundle, tile = differs
    if from_tiles == checkpoint.root:
        report.fail(f"leaf {leaf} (position {leaf + 1}), in {bundle.path()}: the entry is not "
                    f"the one the log signed: its hash is not {tile.path()}'s, whose hashes "
                    "give the signed root; it was edited", leaf + 1, leaf)
    else:
        report.fail(f"the root of the {size} {entries(size)} is not the signed one, nor is "
                    f"that of the level-0 tiles; they first differ at leaf {leaf} (position "
                    f"{leaf + 1}), in {bundle.path()} and {tile.path()}", leaf + 1, leaf)


def _check_levels(source: TileSource, pool: ThreadPoolExecutor, size: int,
                  below: list[bytes], report: Report) -> None:
    """Check the tiles of level 1 and up: each hash the root of a full tile below it, as
    served (`below`: the roots of the full level-0 tiles)."""
    levels: dict[int, list[Tile]] = {}
    for tile in tiles_for_size(size):
        if tile.level:
            levels.setdefault(tile.level, []).append(tile)
    for level, tiles in sorted(levels.items()):
        roots: list[bytes] = []
        for tile, future in zip(tiles, _prefetched(source, pool, [t.path() for t in tiles]),
                                strict=True):
            try:
                served = parse_tile(future.result(), tile.width)
            except (OSError, TileError) as e:
                first, end = tile.leaves
                report.fail(f"{tile.path()}: {e}: it covers leaves {first} to {end - 1}",
                            first + 1, first)
                return
            expected = below[tile.start:tile.start + tile.width]
            for offset, (digest, root) in enumerate(zip(served, expected, strict=True)):
                if digest != root:
                    below_tile = Tile(level - 1, tile.start + offset)
                    first, end = below_tile.leaves
                    report.fail(f"{tile.path()}: hash {offset} is not the root of "
                                f"{below_tile.path()} as served (leaves {first} to "
                                f"{end - 1})", first + 1, first)
            if tile.full:
                roots.append(tile_root(served))
        below = roots


def _prefetched(source: TileSource, pool: ThreadPoolExecutor,
                paths: Sequence[str]) -> Iterator[Future[bytes]]:
    """The resources at `paths`, in order, each fetched up to `_AHEAD` resources ahead."""
    pending: list[Future[bytes]] = []
    upcoming = iter(paths)
    for path in upcoming:
        pending.append(pool.submit(source, path))
        if len(pending) >= _AHEAD:
            break
    while pending:
        future = pending.pop(0)
        following = next(upcoming, None)
        if following is not None:
            pending.append(pool.submit(source, following))
        yield future
