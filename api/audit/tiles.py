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

import http.client
import urllib.error
import urllib.request
import zlib
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

import orjson

from concord.api.audit.verify import Progress, Report, entries, open_policy
from concord.domain.envelope import MAX_POSITION, Envelope
from concord.tlog.leaves import leaf_bytes
from concord.tlog.merkle import EMPTY_ROOT, TreeBuilder, leaf_hash
from concord.tlog.notes import Checkpoint, NoteError, Verifier
from concord.tlog.policy import Policy, open_witnessed
from concord.tlog.tiles import (
    MAX_LEVEL,
    TILE_HEIGHT,
    TILE_WIDTH,
    Bundle,
    BundleError,
    Tile,
    TileError,
    parse_bundle,
    parse_tile,
    partial_tiles,
    tile_root,
)

TileSource = Callable[[str, int], bytes]
"""A tile log's resource by its path under the prefix (`checkpoint`, `tile/0/000`...) and
the most bytes it may have; OSError if it cannot be had, or is larger."""

CHECKPOINT_LIMIT = 1 << 20
"""The most bytes a checkpoint may have: a signed note is a few hundred."""
ENTRY_FIELDS = frozenset(Envelope.__required_keys__) - {"leaf_index"}
"""The fields of an entry's leaf: its envelope's, but leaf_index."""
_AHEAD = 16  # resources fetched ahead of the check, in parallel
_MAX_UPPER_PROBLEMS = 100  # a tree of wrong tiles is reported by its first ones


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

    def read(path: str, limit: int) -> bytes:
        try:
            with (folder / path).open("rb") as file:
                data = file.read(limit + 1)
        except OSError as e:
            raise OSError(f"{folder / path}: {e.strerror or e}") from None
        if len(data) > limit:
            raise OSError(f"{folder / path}: larger than {limit:,} bytes, the most it can be")
        return data

    return read


def url_source(prefix: str, token: str | None = None) -> TileSource:
    """A tile log's resources fetched over HTTP under `prefix`, gzip accepted, each read no
    further than it may be long (with a bearer token if given, which no redirect to another
    origin receives)."""
    base = prefix.rstrip("/")
    opener = urllib.request.build_opener(*([_SameOrigin()] if token else []))

    def fetch(path: str, limit: int) -> bytes:
        url = f"{base}/{path}"
        request = urllib.request.Request(url, headers={"Accept-Encoding": "gzip, identity"})
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with opener.open(request, timeout=30) as answer:
                encoding = answer.headers.get("Content-Encoding", "").strip().lower()
                if encoding not in ("", "identity", "gzip"):
                    raise OSError(f"{url}: encoded as {encoding!r}, which was not asked for")
                gzipped = encoding == "gzip"
                # Compression can add a little to incompressible bytes, never an eighth.
                body = _read_at_most(answer, limit + limit // 8 + 1024 if gzipped else limit)
        except urllib.error.HTTPError as e:
            raise OSError(f"{url}: HTTP {e.code}") from e
        except urllib.error.URLError as e:
            raise OSError(f"{url}: {e.reason}") from e
        except TimeoutError as e:
            raise OSError(f"{url}: no answer in time ({e})") from e
        if body is None:
            raise OSError(f"{url}: larger than {limit:,} bytes, the most it can be")
        if gzipped:
            body = _gunzip(body, limit, url)
        return body

    return fetch


def _read_at_most(answer: IO[bytes], limit: int) -> bytes | None:
    """The body of `answer`, or None once it has more than `limit` bytes."""
    chunks: list[bytes] = []
    total = 0
    while total <= limit:
        chunk = answer.read(min(limit + 1 - total, 1 << 16))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    return None if total > limit else b"".join(chunks)


def _gunzip(data: bytes, limit: int, url: str) -> bytes:
    """The bytes gzip-encoded in `data` (one or more members), never more than `limit` of
    them decompressed: OSError naming `url` if they would be more, or are corrupt."""
    out = bytearray()
    while data:
        inflate = zlib.decompressobj(wbits=31)
        try:
            out += inflate.decompress(data, limit + 1 - len(out))
        except zlib.error as e:
            raise OSError(f"{url}: the gzip encoding is corrupt: {e}") from None
        if len(out) > limit or inflate.unconsumed_tail:
            raise OSError(f"{url}: more than {limit:,} bytes once decompressed, the most it "
                          "can be")
        if not inflate.eof:
            raise OSError(f"{url}: the gzip encoding is cut short")
        data = inflate.unused_data
    return bytes(out)


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    return scheme, (parts.hostname or ""), parts.port or {"http": 80, "https": 443}.get(scheme)


class _SameOrigin(urllib.request.HTTPRedirectHandler):
    """Follows a redirect only within the origin a request went to: urllib would send the
    bearer token along to any other."""

    def redirect_request(self, req: urllib.request.Request, fp: IO[bytes], code: int,
                         msg: str, headers: http.client.HTTPMessage,
                         newurl: str) -> urllib.request.Request | None:
        if _origin(newurl) != _origin(req.full_url):
            fp.close()
            raise urllib.error.URLError(f"redirected to {newurl}, another origin, which the "
                                        "token is not for: not followed")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def verify_tiles(source: TileSource, verifier: Verifier | None, old_note: str | None = None,
                 policy: Policy | None = None, progress: Progress | None = None) -> Report:
    """Check a tile log against its signed checkpoint (see the module's docstring), signed
    by `verifier` (or by a log of the policy); with `old_note`, a checkpoint saved earlier,
    check too that the log only grew since (its root is that of the first `old size`
    leaves) and still serves the partial tiles of that size. With `policy`, the checkpoint
    counts only if its cosignatures meet the policy's quorum."""
    report = Report()
    try:
        checkpoint, old = _checkpoints(source, verifier, old_note, policy, report)
        if checkpoint is not None:
            with ThreadPoolExecutor(max_workers=8, thread_name_prefix="concord-tiles") as pool:
                audit = _Audit(source, pool, checkpoint, old, report, progress)
                if audit.run() and old is not None:
                    audit.check_old_partials()
    except Exception as e:  # an audit reports whatever stops it, never with a traceback
        report.fail(f"the check stopped: {type(e).__name__}: {e}")
        return report
    if report.ok and checkpoint is not None:
        report.checked = checkpoint.size
        report.notes.append(f"the tile log of {checkpoint.origin} holds {checkpoint.size} "
                            f"{entries(checkpoint.size)}, as its checkpoint signs"
                            + (f"; it extends the saved checkpoint of {old.size}"
                               if old is not None else ""))
    return report


def _checkpoints(source: TileSource, verifier: Verifier | None, old_note: str | None,
                 policy: Policy | None,
                 report: Report) -> tuple[Checkpoint | None, Checkpoint | None]:
    """The tile log's checkpoint and the saved one, verified; (None, None) once `report`
    says why they cannot be."""
    try:
        note = source("checkpoint", CHECKPOINT_LIMIT).decode("utf-8")
        checkpoint = open_policy(note, verifier, policy, report)
    except (OSError, UnicodeDecodeError, NoteError) as e:
        report.fail(f"checkpoint: {e}")
        return None, None
    if checkpoint.size > MAX_POSITION:
        report.fail(f"checkpoint: it signs a tree of {checkpoint.size:,} entries, more than a "
                    f"log can hold ({MAX_POSITION:,}): it is not a checkpoint of a real log")
        return None, None
    if old_note is None:
        return checkpoint, None
    try:
        logs = Policy(policy.logs) if policy is not None else None
        old = open_witnessed(old_note, verifier, logs, checkpoint.origin).checkpoint
    except NoteError as e:
        report.fail(f"the saved checkpoint: {e}")
        return None, None
    if old.size > checkpoint.size:
        report.fail(f"the saved checkpoint covers {old.size} {entries(old.size)}, the tile "
                    f"log's only {checkpoint.size}: the log shrank, or this copy is older "
                    "than the saved checkpoint", checkpoint.size + 1, checkpoint.size)
        return None, None
    return checkpoint, old


def resources(size: int) -> Iterator[Tile | Bundle]:
    """The bundles and tiles of a tree of `size` leaves, lazily, in the order the check
    reads them: each bundle, then its level-0 tile, then each tile of a higher level the
    moment the tiles below it are all read; the partial tiles of the higher levels last."""
    full = size // TILE_WIDTH
    for index in range(full):
        yield Bundle(index)
        yield Tile(0, index)
        done, level = index + 1, 1
        while done % TILE_WIDTH == 0 and level <= MAX_LEVEL:
            done //= TILE_WIDTH
            yield Tile(level, done - 1)
            level += 1
    if size % TILE_WIDTH:
        yield Bundle(full, size % TILE_WIDTH)
    yield from partial_tiles(size)


@dataclass
class _Audit:
    """One check of a tile log: its resources read in the order `resources` lists them,
    each hash of a higher level compared as soon as the full tile below it is read, so that
    memory stays O(256 log n)."""

    source: TileSource
    pool: ThreadPoolExecutor
    checkpoint: Checkpoint
    old: Checkpoint | None
    report: Report
    progress: Progress | None
    from_entries: TreeBuilder = field(default_factory=TreeBuilder)
    from_tiles: TreeBuilder = field(default_factory=TreeBuilder)
    # The first leaf whose entry's hash is not its tile's: (leaf index, bundle, tile).
    differs: tuple[int, Bundle, Tile] | None = None
    old_root: bytes | None = None
    # Per level from 1: the roots, as served, of the full tiles below not yet compared.
    pending: dict[int, list[bytes]] = field(default_factory=dict)
    broken: int = MAX_LEVEL + 1  # the lowest level whose tiles can no longer be checked
    # The saved size's partial tiles and bundle, and what they must hold: the prefix of
    # the tile (or bundle) of the same index, as verified.
    wanted: dict[tuple[int, int], Tile | Bundle] = field(default_factory=dict)
    held: dict[tuple[int, int], tuple[Tile | Bundle, list[bytes]]] = field(
        default_factory=dict)
    # The problems found above level 0, reported after those of the leaves.
    upper: list[tuple[str, int]] = field(default_factory=list)
    dropped: int = 0

    def __post_init__(self) -> None:
        if self.old is not None:
            if self.old.size == 0:
                self.old_root = EMPTY_ROOT
            for tile in partial_tiles(self.old.size):
                self.wanted[tile.level, tile.index] = tile
            if self.old.size % TILE_WIDTH:
                bundle = Bundle(self.old.size // TILE_WIDTH, self.old.size % TILE_WIDTH)
                self.wanted[-1, bundle.index] = bundle

    def run(self) -> bool:
        """Check every resource; whether the check went to its end."""
        hashes: list[bytes] = []
        for item, future in _prefetched(self.source, self.pool,
                                        resources(self.checkpoint.size)):
            if isinstance(item, Bundle):
                found = self._bundle(item, future)
                if found is None:
                    return False
                hashes = found
            elif item.level == 0:
                if not self._leaf_tile(item, future, hashes):
                    return False
            else:
                self._upper_tile(item, future)
        _conclude(self.report, self.checkpoint, self.from_entries.root(),
                  self.from_tiles.root(), self.differs)
        # The leaves come first: a wrong level-0 tile is wrong in the levels above too.
        for problem, leaf in self.upper:
            self.report.fail(problem, leaf + 1, leaf)
        if self.dropped:
            self.report.fail(f"and {self.dropped:,} more hashes of higher tiles are wrong")
        if self.old is not None and self.old_root != self.old.root:
            self.report.fail(f"the root of the first {self.old.size} {entries(self.old.size)} "
                             "is not the one the saved checkpoint signed: the log was "
                             "rewritten since")
        return True

    def _later(self, problem: str, leaf: int) -> None:
        """Report a problem of a higher level once the leaves' are (a bounded number)."""
        if len(self.upper) < _MAX_UPPER_PROBLEMS:
            self.upper.append((problem, leaf))
        else:
            self.dropped += 1

    def _hold(self, key: tuple[int, int], current: Tile | Bundle, items: list[bytes]) -> None:
        """Keep what the saved size's partial resource at `key` must hold, if it is one."""
        want = self.wanted.get(key)
        if want is not None:
            self.held[key] = (current, items[:want.width])

    def _bundle(self, bundle: Bundle, future: Future[bytes]) -> list[bytes] | None:
        first = bundle.leaves[0]
        try:
            data = future.result()
        except OSError as e:
            last = bundle.leaves[1] - 1
            self.report.fail(f"{bundle.path()}: {e}: the entries of leaves {first} to {last} "
                             "are missing", first + 1, first)
            return None
        try:
            leaves, hashes = _entry_hashes(data, bundle)
        except _BadEntry as e:
            self.report.fail(f"leaf {e.leaf} (position {e.leaf + 1}), in {bundle.path()}: {e}",
                             e.leaf + 1, e.leaf)
            return None
        self._hold((-1, bundle.index), bundle, leaves)
        return hashes

    def _leaf_tile(self, tile: Tile, future: Future[bytes], hashes: list[bytes]) -> bool:
        first = tile.start
        try:
            served = parse_tile(future.result(), tile.width)
        except (OSError, TileError) as e:
            self.report.fail(f"{tile.path()}: {e}: leaves {first} to {first + tile.width - 1} "
                             "cannot be checked", first + 1, first)
            return False
        bundle = Bundle(tile.index, tile.width)
        for offset, (digest, tiled) in enumerate(zip(hashes, served, strict=True)):
            if self.differs is None and digest != tiled:
                self.differs = (first + offset, bundle, tile)
            self.from_entries.append(digest)
            self.from_tiles.append(tiled)
            if self.old is not None and self.from_entries.size == self.old.size:
                self.old_root = self.from_entries.root()
        self._hold((0, tile.index), tile, served)
        if tile.full:
            self.pending.setdefault(1, []).append(tile_root(served))
        if self.progress is not None:
            self.progress(self.from_entries.size)
        return True

    def _upper_tile(self, tile: Tile, future: Future[bytes]) -> None:
        """Check a tile of level 1 and up: each hash the root of a full tile below it, as
        served."""
        expected = self.pending.pop(tile.level, [])
        if tile.level >= self.broken:
            return
        first, end = tile.leaves
        try:
            served = parse_tile(future.result(), tile.width)
        except (OSError, TileError) as e:
            self._later(f"{tile.path()}: {e}: it covers leaves {first} to {end - 1}", first)
            self.broken = tile.level
            return
        if len(expected) != tile.width:
            raise AssertionError(f"{tile.path()}: {len(expected)} hashes below it were read")
        for offset, (digest, root) in enumerate(zip(served, expected, strict=True)):
            if digest != root:
                below = Tile(tile.level - 1, tile.start + offset)
                low, high = below.leaves
                self._later(f"{tile.path()}: hash {offset} is not the root of "
                            f"{below.path()} as served (leaves {low} to {high - 1})", low)
        self._hold((tile.level, tile.index), tile, served)
        if tile.full:
            self.pending.setdefault(tile.level + 1, []).append(tile_root(served))

    def check_old_partials(self) -> None:
        """Check the saved size's partial tiles and bundle are served, each the prefix of
        what was verified: a client holding that checkpoint reads its proofs from them."""
        for key, want in self.wanted.items():
            if key not in self.held:
                continue  # its level could not be checked: already reported
            current, prefix = self.held[key]
            if current == want:
                continue  # the same resource, verified already
            try:
                data = self.source(want.path(), want.max_bytes())
                items = (parse_bundle(data, want.width) if isinstance(want, Bundle)
                         else parse_tile(data, want.width))
            except (OSError, TileError) as e:
                first = want.leaves[0]
                if isinstance(e, OSError):
                    # Availability, not integrity: what it would hold was verified above.
                    why = (f"the spec lets a log delete it once {current.path()} is full"
                           if current.full else "a static copy exported after the log grew "
                           "does not have it; a client holding the saved checkpoint cannot "
                           "read its proofs from this copy")
                    self.report.notes.append(
                        f"{want.path()}, which the saved checkpoint's size needs, is not "
                        f"served ({e}); {why}")
                    continue
                self.report.fail(f"{want.path()}: {e}: the saved checkpoint's size needs it, "
                                 "so the log must serve it", first + 1, first)
                continue
            what = "entry" if isinstance(want, Bundle) else "hash"
            for offset, (got, verified) in enumerate(zip(items, prefix, strict=True)):
                if got != verified:
                    leaf = _first_leaf(want, offset)
                    self.report.fail(f"{want.path()}: {what} {offset} is not {what} {offset} "
                                     f"of {current.path()} as verified: the saved "
                                     "checkpoint's partial tiles are not a prefix of the "
                                     "log's", leaf + 1, leaf)
                    break


def _first_leaf(resource: Tile | Bundle, offset: int) -> int:
    """The first leaf under item `offset` of a tile or bundle."""
    if isinstance(resource, Bundle):
        return resource.leaves[0] + offset
    return (resource.start + offset) << TILE_HEIGHT * resource.level


class _BadEntry(ValueError):
    """An entry of a bundle is not the canonical leaf it must be."""

    def __init__(self, message: str, leaf: int) -> None:
        super().__init__(message)
        self.leaf = leaf


def _entry_hashes(data: bytes, bundle: Bundle) -> tuple[list[bytes], list[bytes]]:
    """The entries of a bundle and their leaf hashes, each checked to be the canonical leaf
    of the envelope whose leaf index is the entry's; _BadEntry naming the first that is
    not."""
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
    return leaves, hashes


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


def _prefetched(source: TileSource, pool: ThreadPoolExecutor,
                items: Iterable[Tile | Bundle]) -> Iterator[tuple[Tile | Bundle, Future[bytes]]]:
    """The resources of `items`, in order, each fetched up to `_AHEAD` resources ahead."""
    pending: list[tuple[Tile | Bundle, Future[bytes]]] = []
    upcoming = iter(items)
    for item in upcoming:
        pending.append((item, pool.submit(source, item.path(), item.max_bytes())))
        if len(pending) >= _AHEAD:
            break
    while pending:
        found = pending.pop(0)
        following = next(upcoming, None)
        if following is not None:
            pending.append((following, pool.submit(source, following.path(),
                                                   following.max_bytes())))
        yield found
