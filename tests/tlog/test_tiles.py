"""C2SP tlog-tiles: tile paths, the tiles a tree has, tiles' and bundles' bytes, and tiles
computed from the tiles below, checked against the spec's examples and a reference tree."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from concord.tlog.tiles import (
    MAX_ENTRY_SIZE,
    Bundle,
    BundleError,
    Tile,
    TileError,
    bundle_bytes,
    bundles_for_size,
    encode_index,
    level_above,
    parse_bundle,
    parse_path,
    parse_tile,
    partial_tiles,
    partial_width,
    tile_bytes,
    tile_root,
    tiles_for_size,
)


def mth(hashes: list[bytes]) -> bytes:
    """RFC 6962's MTH over already-hashed leaves, written out recursively."""
    if len(hashes) == 1:
        return hashes[0]
    split = 1
    while split * 2 < len(hashes):
        split *= 2
    return hashlib.sha256(b"\x01" + mth(hashes[:split]) + mth(hashes[split:])).digest()


def leaf(number: int) -> bytes:
    return hashlib.sha256(b"\x00" + number.to_bytes(4, "big")).digest()


@pytest.mark.parametrize(("index", "encoded"), [
    (0, "000"), (7, "007"), (999, "999"), (1000, "x001/000"), (1234, "x001/234"),
    (1234067, "x001/x234/067"), (1_000_000, "x001/x000/000"),
    (123_456_789_012, "x123/x456/x789/012"),
])
def test_an_index_is_written_in_three_digit_groups_all_but_the_last_prefixed_x(
    index: int, encoded: str,
) -> None:
    assert encode_index(index) == encoded
    assert parse_path(f"tile/0/{encoded}") == Tile(0, index)
    assert parse_path(f"tile/entries/{encoded}.p/5") == Bundle(index, 5)


@pytest.mark.parametrize(("tile", "path"), [
    (Tile(0, 0), "tile/0/000"),
    (Tile(0, 1234067), "tile/0/x001/x234/067"),
    (Tile(3, 2, 17), "tile/3/002.p/17"),
    (Tile(63, 1000, 255), "tile/63/x001/000.p/255"),
    (Bundle(0, 1), "tile/entries/000.p/1"),
    (Bundle(1234), "tile/entries/x001/234"),
])
def test_a_tile_path_names_its_level_index_and_width(tile: Tile | Bundle, path: str) -> None:
    assert tile.path() == path
    assert parse_path(path) == tile


@pytest.mark.parametrize("path", [
    "tile/00/000", "tile/01/000", "tile/64/000", "tile/100/000", "tile/-1/000",
    "tile/0/0", "tile/0/00", "tile/0/0000", "tile/0/1234", "tile/0/x000/001",
    "tile/0/x1/000", "tile/0/001/000", "tile/0/x001", "tile/0/X001/000",
    "tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/01", "tile/0/000.p/", "tile/0/000.p",
    "tile/0/000.p/1000", "tile/0/000/", "/tile/0/000", "tile/0/000 ", "tile/0/+12",
    "tile/entries/x000/001", "tile/entries/0", "tile/entry/000", "tile/entries",
    "tile/8/0/000", "checkpoint", "", "tile/0/٠٠٠",
    "tile/0/" + "x001/" * 7 + "000", "tile/entries/" + "x999/" * 2000 + "999",
])
def test_anything_but_a_canonical_tile_path_is_not_a_tile(path: str) -> None:
    with pytest.raises(TileError):
        parse_path(path)


@given(st.integers(0, 10**15), st.integers(0, 63), st.integers(1, 256))
def test_every_tile_path_parses_back_to_its_tile(index: int, level: int, width: int) -> None:
    assert parse_path(Tile(level, index, width).path()) == Tile(level, index, width)
    assert parse_path(Bundle(index, width).path()) == Bundle(index, width)


def test_a_tree_of_70000_has_the_tiles_the_spec_lists() -> None:
    tiles = list(tiles_for_size(70_000))
    full0 = [t for t in tiles if t.level == 0 and t.full]
    assert len(full0) == 273 and full0 == [Tile(0, n) for n in range(273)]
    assert [t for t in tiles if t.level == 0 and not t.full] == [Tile(0, 273, 112)]
    assert [t for t in tiles if t.level == 1] == [Tile(1, 0), Tile(1, 1, 17)]
    assert [t for t in tiles if t.level == 2] == [Tile(2, 0, 1)]
    assert len(tiles) == 273 + 1 + 2 + 1
    assert [partial_width(70_000, level) for level in range(4)] == [112, 17, 1, 0]
    bundles = list(bundles_for_size(70_000))
    assert bundles == [*(Bundle(n) for n in range(273)), Bundle(273, 112)]


def test_a_tree_of_256_has_a_full_tile_and_a_partial_one_of_width_1_above() -> None:
    assert list(tiles_for_size(256)) == [Tile(0, 0), Tile(1, 0, 1)]
    assert list(bundles_for_size(256)) == [Bundle(0)]


@pytest.mark.parametrize(("size", "tiles"), [
    (0, []), (1, [Tile(0, 0, 1)]), (255, [Tile(0, 0, 255)]),
    (257, [Tile(0, 0), Tile(0, 1, 1), Tile(1, 0, 1)]),
    (65_536, [*(Tile(0, n) for n in range(256)), Tile(1, 0), Tile(2, 0, 1)]),
    (65_539, [*(Tile(0, n) for n in range(256)), Tile(0, 256, 3), Tile(1, 0), Tile(2, 0, 1)]),
])
def test_small_and_boundary_trees_have_no_empty_tiles(size: int, tiles: list[Tile]) -> None:
    assert list(tiles_for_size(size)) == tiles
    assert all(t.needs_size() <= size for t in tiles)


@given(st.integers(0, 2**22))
def test_each_level_has_its_full_tiles_then_the_spec_s_partial_width(size: int) -> None:
    tiles = list(tiles_for_size(size))
    for level in range(4):
        at = [t for t in tiles if t.level == level]
        full = [t for t in at if t.full]
        assert full == [Tile(level, n) for n in range(size // 256 ** (level + 1))]
        partial = [t.width for t in at if not t.full]
        assert partial == ([partial_width(size, level)] if partial_width(size, level) else [])
    assert all(t.needs_size() <= size for t in tiles)


def test_a_tile_is_its_hashes_concatenated_and_parses_back_strictly() -> None:
    hashes = [leaf(n) for n in range(3)]
    data = tile_bytes(hashes)
    assert data == hashes[0] + hashes[1] + hashes[2]
    assert parse_tile(data, 3) == hashes
    for wrong in (data[:-1], data + b"\x00", b""):
        with pytest.raises(TileError):
            parse_tile(wrong, 3)
    with pytest.raises(ValueError, match="32"):
        tile_bytes([b"short"])
    with pytest.raises(ValueError):
        tile_bytes([])
    with pytest.raises(ValueError):
        tile_bytes([leaf(0)] * 257)


def test_a_bundle_prefixes_each_entry_with_its_big_endian_uint16_length() -> None:
    entries = [b"{}", b"", b"x" * 300, b"y" * MAX_ENTRY_SIZE]
    data = bundle_bytes(entries)
    assert data[:4] == b"\x00\x02{}"
    assert data[4:6] == b"\x00\x00"
    assert data[6:8] == b"\x01\x2c"  # 300
    assert data[308:310] == b"\xff\xff"
    assert len(data) == 2 * 4 + 2 + 300 + MAX_ENTRY_SIZE
    assert parse_bundle(data, 4) == entries
    with pytest.raises(ValueError, match="65,535"):
        bundle_bytes([b"z" * (MAX_ENTRY_SIZE + 1)])


@pytest.mark.parametrize(("data", "width", "entry"), [
    (b"\x00\x02{}\x00\x05abc", 2, 1),        # the second entry is cut short
    (b"\x00\x02{}\x00", 2, 1),              # cut off in its length prefix
    (b"\x00\x02{}", 2, 1),                  # an entry missing
    (b"\x00\x02{}\x00\x00", 1, 0),          # an entry too many: the last one's fault
    (b"\x00\x02{}trailing", 1, 0),          # bytes after the last entry
    (b"\x00\x01a\x00\x01bc", 2, 1),        # bytes after the last of two
    (b"", 1, 0),
])
def test_a_malformed_bundle_is_refused_naming_the_entry(data: bytes, width: int,
                                                        entry: int) -> None:
    with pytest.raises(BundleError) as refused:
        parse_bundle(data, width)
    assert refused.value.entry == entry


def test_each_hash_of_a_level_is_the_root_of_a_full_tile_below() -> None:
    leaves = [leaf(n) for n in range(256 * 3 + 5)]
    level1 = level_above(leaves)
    assert level1 == [mth(leaves[i * 256:(i + 1) * 256]) for i in range(3)]
    assert tile_root(leaves[256:512]) == level1[1]
    # The root of a full level-1 tile is the root of its 65,536 leaves.
    level1_full = [mth([leaf(n) for n in range(k * 256, (k + 1) * 256)]) for k in range(256)]
    assert tile_root(level1_full) == mth([leaf(n) for n in range(65_536)])
    with pytest.raises(ValueError, match="full tile"):
        tile_root(leaves[:255])
    assert level_above(leaves[:255]) == []


@pytest.mark.parametrize("size", [1, 2, 255, 256, 257, 511, 512, 1000])
def test_the_tiles_of_a_tree_hold_the_reference_tree_s_subtree_hashes(size: int) -> None:
    leaves = [leaf(n) for n in range(size)]
    levels = [leaves]
    while len(levels[-1]) >= 256:
        levels.append(level_above(levels[-1]))
    for tile in tiles_for_size(size):
        span = 256 ** tile.level
        expected = [mth(leaves[(tile.start + i) * span:(tile.start + i + 1) * span])
                    for i in range(tile.width)]
        assert levels[tile.level][tile.start:tile.start + tile.width] == expected


def test_an_index_has_at_most_seven_groups_enough_for_any_tree_of_2_to_the_64() -> None:
    assert encode_index(2**64).count("/") == 7 - 1
    largest = "tile/0/" + "x999/" * 6 + "999"
    assert parse_path(largest) == Tile(0, 10**21 - 1)
    with pytest.raises(TileError):
        parse_path("tile/0/" + "x001/" * 7 + "000")


@pytest.mark.parametrize("size", [0, 1, 255, 256, 600, 65_536, 70_000, 2**40 + 3])
def test_the_partial_tiles_of_a_size_are_those_tiles_for_size_lists(size: int) -> None:
    if size <= 70_000:
        assert list(partial_tiles(size)) == [t for t in tiles_for_size(size) if not t.full]
    assert [(t.level, t.width) for t in partial_tiles(size)] == [
        (level, partial_width(size, level)) for level in range(8)
        if partial_width(size, level)]


def test_a_resource_is_at_most_its_width_of_hashes_or_of_longest_entries() -> None:
    assert Tile(0, 0).max_bytes() == 8192 and Tile(2, 5, 3).max_bytes() == 96
    assert Bundle(0).max_bytes() == 256 * 65_537 and Bundle(1, 2).max_bytes() == 131_074
