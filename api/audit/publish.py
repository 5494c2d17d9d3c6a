"""Publishing a log as static C2SP tlog-tiles: the files a plain web server serves so that
the directory is a tile log whose prefix is its URL.

`export_tiles` writes, for a signed checkpoint, every entry bundle and hash tile of its tree
size, computed from the log's own entries (their canonical leaves, hashed), and the
checkpoint itself, verbatim. Nothing is written unless the root of the entries is the
checkpoint's. Each file appears whole (written aside, then renamed into place), the
checkpoint last, so a reader never finds a checkpoint whose tiles are not all there. Run
again into the same directory as the log grows, it rewrites only the files that differ:
full tiles and bundles never change, and the partial ones of earlier sizes stay right.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from concord.api.audit.verify import Progress, entries
from concord.domain.envelope import Envelope
from concord.tlog.leaves import leaf_bytes
from concord.tlog.merkle import TreeBuilder, leaf_hash
from concord.tlog.notes import Checkpoint, NoteError, split_note
from concord.tlog.tiles import (
    TILE_WIDTH,
    Bundle,
    Tile,
    bundle_bytes,
    level_above,
    tile_bytes,
    tile_root,
    tiles_for_size,
)

# (after, limit) -> up to `limit` envelopes after that position, in order.
ReadEntries = Callable[[int, int], list[Envelope]]
_PAGE = 10_000


class ExportError(Exception):
    """The tiles cannot be written: the message says why; nothing was written."""


@dataclass
class Exported:
    """What `export_tiles` did: the checkpoint's tree size, and how many tile files it wrote
    and found already right."""

    size: int
    written: int = 0
    unchanged: int = 0


def export_tiles(read: ReadEntries, note: str, out: Path,
                 progress: Progress | None = None) -> Exported:
    """Write the tile log of the checkpoint `note` (a signed note, written verbatim) into
    `out`, from the entries `read` gives; ExportError if the entries do not give its root
    (then nothing is written)."""
    try:
        checkpoint = Checkpoint.parse(split_note(note)[0])
    except NoteError as e:
        raise ExportError(f"the checkpoint is malformed: {e}") from None
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".concord-export-", dir=out))
    try:
        exported = Exported(checkpoint.size)
        staged: list[str] = []

        def stage(path: str, data: bytes) -> None:
            if _holds(out / path, data):
                exported.unchanged += 1
                return
            target = staging / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(data)
            staged.append(path)

        roots, root = _stage_leaves(read, checkpoint.size, stage, progress)
        if root != checkpoint.root:
            raise ExportError(f"the root of the log's first {checkpoint.size} "
                              f"{entries(checkpoint.size)} is not the checkpoint's: the log "
                              "does not match what was signed (`concord verify --data-dir` "
                              "says where); nothing was written")
        for tile, hashes in _upper_tiles(checkpoint.size, roots):
            stage(tile.path(), tile_bytes(hashes))
        for path in staged:
            (out / path).parent.mkdir(parents=True, exist_ok=True)
            os.replace(staging / path, out / path)
        exported.written = len(staged)
        _write_atomically(out / "checkpoint", note.encode("utf-8"), staging)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return exported


def _stage_leaves(read: ReadEntries, size: int, stage: Callable[[str, bytes], None],
                  progress: Progress | None) -> tuple[list[bytes], bytes]:
    """Stage the entry bundles and level-0 tiles of the first `size` entries; the roots of
    the full level-0 tiles, and the root of the tree."""
    builder = TreeBuilder()
    roots: list[bytes] = []
    leaves: list[bytes] = []
    hashes: list[bytes] = []

    def flush() -> None:
        index = (builder.size - 1) // TILE_WIDTH
        stage(Bundle(index, len(leaves)).path(), bundle_bytes(leaves))
        stage(Tile(0, index, len(hashes)).path(), tile_bytes(hashes))
        if len(hashes) == TILE_WIDTH:
            roots.append(tile_root(hashes))
        leaves.clear()
        hashes.clear()

    for envelope in _entries(read, size):
        if envelope["leaf_index"] != builder.size:
            raise ExportError(f"position {envelope['position']} has leaf index "
                              f"{envelope['leaf_index']}, where {builder.size} was due: the "
                              "log has a gap")
        leaf = leaf_bytes(envelope)
        leaves.append(leaf)
        hashes.append(leaf_hash(leaf))
        builder.append(hashes[-1])
        if len(leaves) == TILE_WIDTH:
            flush()
            if progress is not None:
                progress(builder.size)
    if builder.size < size:
        raise ExportError(f"the log has {builder.size} {entries(builder.size)}; the "
                          f"checkpoint covers {size}: nothing was written")
    if leaves:
        flush()
    return roots, builder.root()


def _entries(read: ReadEntries, size: int) -> Iterator[Envelope]:
    """The log's first `size` entries, in order."""
    after, count = 0, 0
    while count < size:
        page = read(after, min(_PAGE, size - count))
        if not page:
            return
        yield from page
        count += len(page)
        after = page[-1]["position"]


def _upper_tiles(size: int, roots: list[bytes]) -> Iterator[tuple[Tile, list[bytes]]]:
    """The tiles of level 1 and up of a tree of `size` leaves, with their hashes, from the
    roots of its full level-0 tiles (tiles_for_size lists them level by level)."""
    level, hashes = 1, roots
    for tile in tiles_for_size(size):
        if tile.level == 0:
            continue
        if tile.level > level:
            level, hashes = tile.level, level_above(hashes)
        yield tile, hashes[tile.start:tile.start + tile.width]


def _holds(path: Path, data: bytes) -> bool:
    """Whether the file at `path` holds exactly `data`."""
    try:
        if path.stat().st_size != len(data):
            return False
        return path.read_bytes() == data
    except OSError:
        return False


def _write_atomically(path: Path, data: bytes, scratch: Path) -> None:
    """Write `path` whole: into `scratch` (on the same file system), then renamed."""
    handle, temporary = tempfile.mkstemp(dir=scratch)
    with os.fdopen(handle, "wb") as file:
        file.write(data)
    os.chmod(temporary, 0o644)  # readable by the web server, like the tiles
    os.replace(temporary, path)
