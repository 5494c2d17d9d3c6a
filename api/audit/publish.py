"""Publishing a log as static C2SP tlog-tiles: the files a plain web server serves so that
the directory is a tile log whose prefix is its URL.

`export_tiles` writes, for a signed checkpoint, every entry bundle and hash tile of its tree
size, computed from the log's own entries (their canonical leaves, hashed), and the
checkpoint itself, verbatim. Nothing is written unless the root of the entries is the
checkpoint's, nor over a checkpoint it does not extend (another log's, a larger one, one of
another history). Each file appears whole (written beside the directory, flushed to disk,
then renamed into place), the checkpoint last, so a reader never finds a checkpoint whose
tiles are not all there, even after a crash. Run again into the same directory as the log
grows, it rewrites only the files that differ: full tiles and bundles never change, and
the partial ones of earlier sizes stay right.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from concord.api.audit.verify import Progress, entries
from concord.api.keyfile import fsync_directory
from concord.domain.envelope import Envelope
from concord.tlog.leaves import leaf_bytes
from concord.tlog.merkle import EMPTY_ROOT, TreeBuilder, leaf_hash
from concord.tlog.notes import Checkpoint, NoteError, split_note
from concord.tlog.tiles import (
    MAX_ENTRY_SIZE,
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
_FILE_MODE = 0o644  # what a web server serving the directory needs to read them
_DIR_MODE = 0o755
_CHECKPOINT_LIMIT = 1 << 20  # a signed note is a few hundred bytes


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
    `out`, from the entries `read` gives; ExportError if the entries do not give its root,
    or if `out` holds a checkpoint this one does not extend (then nothing is written)."""
    try:
        checkpoint = Checkpoint.parse(split_note(note)[0])
    except NoteError as e:
        raise ExportError(f"the checkpoint is malformed: {e}") from None
    previous = _previous(out, checkpoint)
    _make_dirs(out)
    _remove_stale_staging(out)
    # Staged beside `out`, on its file system: inside, a web server would publish it.
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.concord-export-", dir=out.parent))
    try:
        exported = Exported(checkpoint.size)
        staged: list[str] = []

        def stage(path: str, data: bytes) -> None:
            if _holds(out / path, data):
                exported.unchanged += 1
                return
            _make_dirs((staging / path).parent, staging)
            _write_file(staging / path, data)
            staged.append(path)

        roots, root, old_root = _stage_leaves(read, checkpoint.size, stage, progress,
                                              previous.size if previous else None)
        if root != checkpoint.root:
            raise ExportError(f"the root of the log's first {checkpoint.size} "
                              f"{entries(checkpoint.size)} is not the checkpoint's: the log "
                              "does not match what was signed (`concord verify --data-dir` "
                              "says where); nothing was written")
        if previous is not None and old_root != previous.root:
            raise ExportError(f"{out / 'checkpoint'} signs a tree of {previous.size} "
                              f"{entries(previous.size)} whose root is not that of the log's "
                              f"first {previous.size}: the log was rewritten since (or {out} "
                              "is another log's); nothing was written")
        for tile, hashes in _upper_tiles(checkpoint.size, roots):
            stage(tile.path(), tile_bytes(hashes))
        touched: set[Path] = set()
        for path in staged:
            touched.update(_make_dirs((out / path).parent, out))
            os.replace(staging / path, out / path)
            touched.add((out / path).parent)
        for folder in sorted(touched):
            fsync_directory(folder)  # every tile durable before the checkpoint names them
        exported.written = len(staged)
        _write_file(staging / "checkpoint", note.encode("utf-8"))
        os.replace(staging / "checkpoint", out / "checkpoint")
        fsync_directory(out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return exported


def _previous(out: Path, checkpoint: Checkpoint) -> Checkpoint | None:
    """The checkpoint `out` already holds, if any; ExportError unless `checkpoint` may
    replace it: of the same log, and no smaller (a restored backup must not roll the
    published log back)."""
    path = out / "checkpoint"
    try:
        with path.open("rb") as file:
            data = file.read(_CHECKPOINT_LIMIT + 1)
    except FileNotFoundError:
        return None
    except OSError as e:
        raise ExportError(f"{path}: {e.strerror or e}") from None
    try:
        if len(data) > _CHECKPOINT_LIMIT:
            raise NoteError(f"it has more than {_CHECKPOINT_LIMIT:,} bytes")
        previous = Checkpoint.parse(split_note(data.decode("utf-8"))[0])
    except (UnicodeDecodeError, NoteError) as e:
        raise ExportError(f"{path} is not a checkpoint ({e}): {out} is not a tile log this "
                          "log wrote; nothing was written") from None
    if previous.origin != checkpoint.origin:
        raise ExportError(f"{path} is the checkpoint of {previous.origin!r}, not of "
                          f"{checkpoint.origin!r}: {out} is another log's; nothing was "
                          "written")
    if previous.size > checkpoint.size:
        raise ExportError(f"{path} signs {previous.size} {entries(previous.size)}, more than "
                          f"the {checkpoint.size} of this log's checkpoint: writing it would "
                          "roll the published log back (from a restored backup, or an "
                          "older copy of the data?); nothing was written")
    return previous


def _stage_leaves(read: ReadEntries, size: int, stage: Callable[[str, bytes], None],
                  progress: Progress | None,
                  old_size: int | None) -> tuple[list[bytes], bytes, bytes | None]:
    """Stage the entry bundles and level-0 tiles of the first `size` entries; the roots of
    the full level-0 tiles, the root of the tree, and that of its first `old_size` leaves."""
    builder = TreeBuilder()
    roots: list[bytes] = []
    leaves: list[bytes] = []
    hashes: list[bytes] = []
    old_root = EMPTY_ROOT if old_size == 0 else None

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
        if len(leaf) > MAX_ENTRY_SIZE:
            raise ExportError(f"position {envelope['position']} (leaf {builder.size}) has a "
                              f"leaf of {len(leaf):,} bytes; an entry bundle holds entries of "
                              f"at most {MAX_ENTRY_SIZE:,} (recorded before submissions were "
                              "bounded?), so the log cannot be a tile log; nothing was "
                              "written")
        leaves.append(leaf)
        hashes.append(leaf_hash(leaf))
        builder.append(hashes[-1])
        if builder.size == old_size:
            old_root = builder.root()
        if len(leaves) == TILE_WIDTH:
            flush()
            if progress is not None:
                progress(builder.size)
    if builder.size < size:
        raise ExportError(f"the log has {builder.size} {entries(builder.size)}; the "
                          f"checkpoint covers {size}: nothing was written")
    if leaves:
        flush()
    return roots, builder.root(), old_root


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


def _make_dirs(folder: Path, within: Path | None = None) -> list[Path]:
    """Make `folder` and its missing parents (up to `within`), each 0755 whatever the umask;
    the folders whose entries changed (the parents of those made)."""
    missing: list[Path] = []
    at = folder
    while not at.exists() and at != within and at != at.parent:
        missing.append(at)
        at = at.parent
    changed = []
    for made in reversed(missing):
        made.mkdir(exist_ok=True)
        os.chmod(made, _DIR_MODE)
        changed.append(made.parent)
    return changed


def _write_file(path: Path, data: bytes) -> None:
    """Write a new file 0644 whatever the umask, readable by the web server, and flush it
    to disk."""
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _FILE_MODE)
    with os.fdopen(handle, "wb") as file:
        os.fchmod(file.fileno(), _FILE_MODE)
        file.write(data)
        file.flush()
        os.fsync(file.fileno())


def _remove_stale_staging(out: Path) -> None:
    """Remove the staging directories an interrupted export left inside `out` (where earlier
    versions staged): a web server would publish them."""
    for stale in out.glob(".concord-export-*"):
        if stale.is_dir() and not stale.is_symlink():
            shutil.rmtree(stale, ignore_errors=True)
