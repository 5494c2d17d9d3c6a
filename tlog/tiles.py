"""C2SP tlog-tiles (c2sp.org/tlog-tiles): the Merkle tree and the entries of a log as static
resources, with no I/O.

A tile is 256 consecutive hashes at one tile level: at level 0 the leaf hashes, at level L
the roots of the full tiles of level L - 1 (each hash the root of 256**L leaves). Its path is
`tile/<L>/<N>`, or `tile/<L>/<N>.p/<W>` for a partial tile of W < 256 hashes, the rightmost
of its level; N is written as 3-digit groups, all but the last prefixed with `x` (1234067:
`x001/x234/067`). An entry bundle, `tile/entries/<N>[.p/<W>]`, holds the entries whose leaf
hashes level-0 tile N holds, each prefixed with its length as a big-endian uint16.

A tree of `size` leaves has, at each level L, floor(size / 256**(L+1)) full tiles and, when
floor(size / 256**L) mod 256 is not 0, one partial tile of that width. Only canonical paths
parse: no leading zeros, no `.p/256`, no `x` group where none is needed.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from concord.tlog.merkle import HASH_SIZE, root_of

TILE_WIDTH = 256
"""Hashes in a full tile, and entries in a full bundle."""
TILE_HEIGHT = 8
"""Tree levels a tile spans: 256 == 2**8."""
MAX_LEVEL = 63
"""The highest tile level a path may name."""
MAX_ENTRY_SIZE = 0xFFFF
"""The largest entry a bundle can hold: its length prefix is a uint16."""
FULL_TILE_BYTES = TILE_WIDTH * HASH_SIZE

_LEVEL = r"0|[1-9][0-9]?"
MAX_INDEX_GROUPS = 7
"""The most 3-digit groups a tile index may have: 10**21 - 1 is above any index a tree of
2**64 leaves needs, and a longer index would only make int() slow (or refuse it)."""

_INDEX = rf"(?:x[0-9]{{3}}/){{0,{MAX_INDEX_GROUPS - 1}}}[0-9]{{3}}"
_WIDTH = r"[1-9][0-9]{0,2}"
_PATH = re.compile(rf"tile/(?P<level>{_LEVEL}|entries)/(?P<index>{_INDEX})"
                   rf"(?:\.p/(?P<width>{_WIDTH}))?")
_LENGTH = struct.Struct(">H")


class TileError(ValueError):
    """A path is not a tile's, or a tile's or bundle's bytes are malformed."""


class BundleError(TileError):
    """An entry bundle is malformed; `entry` is the index within the bundle of the entry at
    fault (or of the first one missing)."""

    def __init__(self, message: str, entry: int) -> None:
        super().__init__(message)
        self.entry = entry


def encode_index(index: int) -> str:
    """A tile index as path elements: zero-padded 3-digit groups, all but the last prefixed
    with `x` (1234067 -> `x001/x234/067`)."""
    if index < 0:
        raise ValueError(f"a tile index cannot be negative, got {index}")
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(groups))


def _decode_index(text: str) -> int:
    groups = text.split("/")
    if len(groups) > 1 and groups[0] == "x000":
        raise TileError(f"{text!r} is not a canonical tile index: it starts with a zero group")
    return int("".join(group.removeprefix("x") for group in groups))


def _check_width(width: int) -> None:
    if not 1 <= width <= TILE_WIDTH:
        raise ValueError(f"a tile holds 1 to {TILE_WIDTH} hashes or entries, not {width}")


@dataclass(frozen=True)
class Tile:
    """Tile `index` of tile level `level`, `width` hashes wide (256 unless partial)."""

    level: int
    index: int
    width: int = TILE_WIDTH

    def __post_init__(self) -> None:
        if not 0 <= self.level <= MAX_LEVEL:
            raise ValueError(f"a tile level is from 0 to {MAX_LEVEL}, not {self.level}")
        if self.index < 0:
            raise ValueError(f"a tile index cannot be negative, got {self.index}")
        _check_width(self.width)

    @property
    def full(self) -> bool:
        """Whether the tile is full (256 hashes)."""
        return self.width == TILE_WIDTH

    @property
    def start(self) -> int:
        """The index of its first hash among the hashes of its level."""
        return self.index * TILE_WIDTH

    @property
    def leaves(self) -> tuple[int, int]:
        """The leaves [first, end) its hashes span."""
        shift = TILE_HEIGHT * self.level
        return self.start << shift, (self.start + self.width) << shift

    def path(self) -> str:
        """`tile/<L>/<N>[.p/<W>]`."""
        return f"tile/{self.level}/{encode_index(self.index)}{_partial(self.width)}"

    def needs_size(self) -> int:
        """The smallest tree size that has this tile's hashes."""
        return self.leaves[1]

    def max_bytes(self) -> int:
        """The size of its resource: 32 bytes a hash."""
        return self.width * HASH_SIZE


@dataclass(frozen=True)
class Bundle:
    """Entry bundle `index`: the entries of level-0 tile `index`, `width` of them."""

    index: int
    width: int = TILE_WIDTH

    def __post_init__(self) -> None:
        if self.index < 0:
            raise ValueError(f"a bundle index cannot be negative, got {self.index}")
        _check_width(self.width)

    @property
    def full(self) -> bool:
        """Whether the bundle is full (256 entries)."""
        return self.width == TILE_WIDTH

    @property
    def leaves(self) -> tuple[int, int]:
        """The leaves [first, end) whose entries it holds."""
        return self.index * TILE_WIDTH, self.index * TILE_WIDTH + self.width

    def path(self) -> str:
        """`tile/entries/<N>[.p/<W>]`."""
        return f"tile/entries/{encode_index(self.index)}{_partial(self.width)}"

    def needs_size(self) -> int:
        """The smallest tree size that has these entries."""
        return self.leaves[1]

    def max_bytes(self) -> int:
        """The largest its resource can be: each entry at most 65,535 bytes, after its
        2-byte length."""
        return self.width * (_LENGTH.size + MAX_ENTRY_SIZE)


def _partial(width: int) -> str:
    return "" if width == TILE_WIDTH else f".p/{width}"


def parse_path(path: str) -> Tile | Bundle:
    """The tile or bundle at `path` (relative to the log's prefix, as `tile/0/x001/234`);
    TileError unless it is a canonical tile path."""
    found = _PATH.fullmatch(path)
    if found is None:
        raise TileError(f"{path!r} is not a tile path: tile/<L>/<N>[.p/<W>] or "
                        "tile/entries/<N>[.p/<W>], N in 3-digit groups (x001/234), "
                        "L and W without leading zeros")
    index = _decode_index(found["index"])
    width = TILE_WIDTH
    if found["width"]:
        width = int(found["width"])
        if width >= TILE_WIDTH:
            raise TileError(f"{path!r}: a partial tile's width is from 1 to "
                            f"{TILE_WIDTH - 1}")
    level = found["level"]
    if level == "entries":
        return Bundle(index, width)
    if int(level) > MAX_LEVEL:
        raise TileError(f"{path!r}: a tile level is from 0 to {MAX_LEVEL}")
    return Tile(int(level), index, width)


def partial_width(size: int, level: int) -> int:
    """The width of the partial tile at `level` of a tree of `size` leaves (0: none)."""
    return (size >> TILE_HEIGHT * level) % TILE_WIDTH


def tiles_for_size(size: int) -> Iterator[Tile]:
    """Every tile of a tree of `size` leaves: level by level, full tiles in order then the
    level's partial one, if any; none for the empty tree."""
    if size < 0:
        raise ValueError(f"a tree size cannot be negative, got {size}")
    level = 0
    while size >> TILE_HEIGHT * level and level <= MAX_LEVEL:
        hashes = size >> TILE_HEIGHT * level
        for index in range(hashes // TILE_WIDTH):
            yield Tile(level, index)
        if hashes % TILE_WIDTH:
            yield Tile(level, hashes // TILE_WIDTH, hashes % TILE_WIDTH)
        level += 1


def partial_tiles(size: int) -> Iterator[Tile]:
    """The partial tiles of a tree of `size` leaves, lowest level first: those a client
    holding a checkpoint of that size reads its proofs from."""
    if size < 0:
        raise ValueError(f"a tree size cannot be negative, got {size}")
    for level in range(MAX_LEVEL + 1):
        hashes = size >> TILE_HEIGHT * level
        if not hashes:
            return
        if hashes % TILE_WIDTH:
            yield Tile(level, hashes // TILE_WIDTH, hashes % TILE_WIDTH)


def bundles_for_size(size: int) -> Iterator[Bundle]:
    """Every entry bundle of a tree of `size` leaves: the full ones, then the partial one."""
    if size < 0:
        raise ValueError(f"a tree size cannot be negative, got {size}")
    for index in range(size // TILE_WIDTH):
        yield Bundle(index)
    if size % TILE_WIDTH:
        yield Bundle(size // TILE_WIDTH, size % TILE_WIDTH)


def tile_bytes(hashes: Sequence[bytes]) -> bytes:
    """A tile's resource: its hashes (1 to 256 of 32 bytes), concatenated."""
    _check_width(len(hashes))
    for number, digest in enumerate(hashes):
        if len(digest) != HASH_SIZE:
            raise ValueError(f"hash {number} of the tile has {len(digest)} bytes, not "
                             f"{HASH_SIZE}")
    return b"".join(hashes)


def parse_tile(data: bytes, width: int) -> list[bytes]:
    """The hashes of a tile's resource, which must hold exactly `width` of them."""
    _check_width(width)
    if len(data) != width * HASH_SIZE:
        raise TileError(f"a tile of {width} hashes has {width * HASH_SIZE} bytes, not "
                        f"{len(data)}")
    return [data[i:i + HASH_SIZE] for i in range(0, len(data), HASH_SIZE)]


def bundle_bytes(entries: Sequence[bytes]) -> bytes:
    """An entry bundle's resource: each entry (1 to 256 of them) after its length as a
    big-endian uint16; ValueError if one is longer than 65,535 bytes."""
    _check_width(len(entries))
    parts = []
    for number, entry in enumerate(entries):
        if len(entry) > MAX_ENTRY_SIZE:
            raise ValueError(f"entry {number} of the bundle has {len(entry):,} bytes; a "
                             f"bundle holds entries of at most {MAX_ENTRY_SIZE:,}")
        parts.append(_LENGTH.pack(len(entry)))
        parts.append(entry)
    return b"".join(parts)


def parse_bundle(data: bytes, width: int) -> list[bytes]:
    """The entries of a bundle's resource, which must hold exactly `width` of them and
    nothing after; BundleError naming the entry at fault."""
    _check_width(width)
    entries: list[bytes] = []
    offset = 0
    while offset < len(data):
        if len(entries) == width:
            # The fault is the last entry's: its length says less than follows it.
            raise BundleError(f"the bundle has {len(data) - offset} bytes after its {width} "
                              f"{'entry' if width == 1 else 'entries'}", width - 1)
        if offset + _LENGTH.size > len(data):
            raise BundleError(f"entry {len(entries)} of the bundle is cut off in its length "
                              "prefix", len(entries))
        (length,) = _LENGTH.unpack_from(data, offset)
        offset += _LENGTH.size
        if offset + length > len(data):
            raise BundleError(f"entry {len(entries)} of the bundle says it has {length} "
                              f"bytes; only {len(data) - offset} follow", len(entries))
        entries.append(data[offset:offset + length])
        offset += length
    if len(entries) != width:
        raise BundleError(f"the bundle has {len(entries)} entries, not {width}", len(entries))
    return entries


def tile_root(hashes: Sequence[bytes]) -> bytes:
    """The root of a full tile's 256 hashes: its hash in the tile of the level above."""
    if len(hashes) != TILE_WIDTH:
        raise ValueError(f"only a full tile ({TILE_WIDTH} hashes) has a hash in the level "
                         f"above, not one of {len(hashes)}")
    return root_of(hashes)


def level_above(hashes: Sequence[bytes]) -> list[bytes]:
    """The hashes of the next tile level from consecutive hashes of one level, starting at a
    tile boundary: the root of each full group of 256 (a trailing partial group has none)."""
    return [tile_root(hashes[start:start + TILE_WIDTH])
            for start in range(0, len(hashes) - TILE_WIDTH + 1, TILE_WIDTH)]
