"""The Merkle tree (RFC 9162) over the log's canonical leaves: the read model named `transparency`.

It stores each leaf's hash and the hash of every complete subtree, so the root for any size,
and any inclusion or consistency proof, costs O(log n) lookups; nothing recomputes the tree
to answer a request. Appending a leaf adds its hash and the subtrees it completes (one more
on average). It is rebuilt like any projection, and a rebuild gives the same hashes.
"""

from __future__ import annotations

from collections.abc import Sequence

from concord.domain.envelope import Envelope
from concord.projections.db import Cursor, Reader
from concord.projections.projection import Projection
from concord.tlog.leaves import entry_hash
from concord.tlog.merkle import (
    TreeBuilder,
    consistency_proof,
    frontier_subtrees,
    inclusion_proof,
    root_at,
)

LEAVES_TABLE = "merkle_leaves"  # and merkle_nodes: the hashes of the complete subtrees


class Transparency(Projection):
    """Every entry's leaf hash, and the hashes of the complete subtrees above them."""

    name = "transparency"

    def create_tables(self, cursor: Cursor) -> None:
        s = self.suffix
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS merkle_leaves{s} (leaf_index INTEGER PRIMARY KEY, "
            "position INTEGER NOT NULL UNIQUE, hash BLOB NOT NULL)")
        # Level k, index i: the subtree of leaves [i * 2^k, (i + 1) * 2^k), for k >= 1.
        cursor.execute(
            f"CREATE TABLE IF NOT EXISTS merkle_nodes{s} (level INTEGER NOT NULL, "
            "idx INTEGER NOT NULL, hash BLOB NOT NULL, PRIMARY KEY (level, idx)) WITHOUT ROWID")

    def drop_tables(self, cursor: Cursor) -> None:
        for table in ("merkle_leaves", "merkle_nodes"):
            cursor.execute(f"DROP TABLE IF EXISTS {table}{self.suffix}")

    def apply(self, cursor: Cursor, envelopes: Sequence[Envelope]) -> None:
        s = self.suffix
        size = tree_size(cursor, s)
        # Resumed from the right frontier: the complete subtrees the next leaves combine with.
        builder = TreeBuilder.resume(size, [subtree_hash(cursor, s, level, index)
                                            for level, index in frontier_subtrees(size)])
        leaves: list[tuple[int, int, bytes]] = []
        nodes: list[tuple[int, int, bytes]] = []
        for envelope in envelopes:
            digest = entry_hash(envelope)
            leaves.append((builder.size, envelope["position"], digest))
            builder.append(digest, nodes)
        cursor.executemany(f"INSERT INTO merkle_leaves{s} VALUES (?, ?, ?)", leaves)
        cursor.executemany(f"INSERT INTO merkle_nodes{s} VALUES (?, ?, ?)", nodes)
        super().apply(cursor, envelopes)


def tree_size(reader: Reader | Cursor, suffix: str = "") -> int:
    """How many leaves the tree has."""
    row = reader.execute(f"SELECT MAX(leaf_index) FROM merkle_leaves{suffix}").fetchone()
    return 0 if row[0] is None else int(row[0]) + 1


def subtree_hash(reader: Reader | Cursor, suffix: str, level: int,
                 index: int) -> bytes:
    """The stored hash of the complete subtree at `level`, `index`."""
    if level == 0:
        row = reader.execute(f"SELECT hash FROM merkle_leaves{suffix} WHERE leaf_index=?",
                             (index,)).fetchone()
    else:
        row = reader.execute(f"SELECT hash FROM merkle_nodes{suffix} WHERE level=? AND idx=?",
                             (level, index)).fetchone()
    if row is None:
        raise LookupError(f"no subtree at level {level}, index {index}")
    return bytes(row[0])


class StoredTree:
    """Roots and proofs from the stored hashes of one copy of the tree."""

    def __init__(self, reader: Reader, suffix: str = "") -> None:
        self.reader, self.suffix = reader, suffix

    def size(self) -> int:
        """How many leaves the tree has."""
        return tree_size(self.reader, self.suffix)

    def _subtree(self, start: int, end: int) -> bytes:
        level = (end - start).bit_length() - 1
        return subtree_hash(self.reader, self.suffix, level, start >> level)

    def leaf(self, index: int) -> tuple[int, bytes] | None:
        """The position and hash of leaf `index`, or None beyond the tree."""
        row = self.reader.execute(
            f"SELECT position, hash FROM merkle_leaves{self.suffix} WHERE leaf_index=?",
            (index,)).fetchone()
        return None if row is None else (int(row[0]), bytes(row[1]))

    def leaves(self, after: int, limit: int) -> list[tuple[int, int, bytes]]:
        """(leaf_index, position, hash) of up to `limit` leaves from index `after` on."""
        return [(int(i), int(p), bytes(h)) for i, p, h in self.reader.execute(
            f"SELECT leaf_index, position, hash FROM merkle_leaves{self.suffix} "
            "WHERE leaf_index >= ? ORDER BY leaf_index LIMIT ?", (after, limit))]

    def hashes(self, level: int, start: int, count: int) -> list[bytes]:
        """The stored hashes of the complete subtrees at `level` (0: the leaves) from index
        `start`, up to `count` of them, in order: one range query (a tlog tile's read)."""
        if level == 0:
            rows = self.reader.execute(
                f"SELECT hash FROM merkle_leaves{self.suffix} WHERE leaf_index >= ? AND "
                "leaf_index < ? ORDER BY leaf_index", (start, start + count))
        else:
            rows = self.reader.execute(
                f"SELECT hash FROM merkle_nodes{self.suffix} WHERE level = ? AND idx >= ? AND "
                "idx < ? ORDER BY idx", (level, start, start + count))
        return [bytes(digest) for (digest,) in rows.fetchall()]

    def root(self, size: int) -> bytes:
        """The root of the tree's first `size` leaves."""
        return root_at(self._subtree, size)

    def inclusion(self, index: int, size: int) -> list[bytes]:
        """The audit path of leaf `index` in the tree of `size` leaves."""
        return inclusion_proof(self._subtree, index, size)

    def consistency(self, first: int, second: int) -> list[bytes]:
        """The proof that the tree of `second` leaves extends the tree of `first`."""
        return consistency_proof(self._subtree, first, second)
