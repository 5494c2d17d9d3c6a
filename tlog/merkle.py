"""Merkle tree hashing, proofs and their verification, as RFC 9162 (CT v2) section 2.1 defines.

The tree over leaves D[0:n] has root MTH(D[0:n]): the empty tree hashes to SHA-256 of
nothing, one leaf d to SHA-256(0x00 || d), and a longer list is split at k, the largest
power of two below its length, into MTH(D[0:k]) and MTH(D[k:n]), combined as
SHA-256(0x01 || left || right).

Proofs are built from the hashes of complete, aligned subtrees only (a callback returns the
hash of leaves [start, end) where end - start is a power of two and start a multiple of it),
so a server that stores those answers any root or proof with O(log n) lookups.

Consistency proofs exist for 0 < first <= second. RFC 9162 defines PROOF(m, D[n]) only for
0 < m < n; here first == second gives the empty proof (a tree head is consistent with itself
when the roots are equal), and first == 0 is refused both when generating and when verifying:
every tree extends the empty one, so such a proof would prove nothing.

Every hash is 32 bytes; a verifier refuses a leaf hash, root or proof hash of another length.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from hashlib import sha256

HASH_SIZE = 32
EMPTY_ROOT = sha256(b"").digest()

Subtree = Callable[[int, int], bytes]
"""Returns the hash of the complete, aligned subtree over leaves [start, end)."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


class ProofError(ValueError):
    """A proof, or a hash given to check it, does not verify."""


def leaf_hash(leaf: bytes) -> bytes:
    """The hash of one leaf: SHA-256(0x00 || leaf)."""
    return sha256(_LEAF_PREFIX + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """The hash of an inner node: SHA-256(0x01 || left || right)."""
    return sha256(_NODE_PREFIX + left + right).digest()


class TreeBuilder:
    """The root of a growing tree, from its leaf hashes appended one by one.

    It keeps only the right frontier: one hash per complete subtree the leaves so far split
    into, largest (leftmost) first, one per set bit of `size`. Memory is O(log n), and an
    append costs one node hash on average.
    """

    __slots__ = ("_frontier", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._frontier: list[bytes] = []

    @classmethod
    def resume(cls, size: int, frontier: Sequence[bytes]) -> TreeBuilder:
        """The builder of a tree of `size` leaves, from the hashes of the complete subtrees
        it splits into (`frontier_subtrees(size)`, left to right)."""
        if len(frontier) != size.bit_count():
            raise ValueError(f"a tree of {size} leaves splits into {size.bit_count()} "
                             f"complete subtrees, not {len(frontier)}")
        builder = cls()
        builder._size, builder._frontier = size, list(frontier)
        return builder

    @property
    def size(self) -> int:
        """How many leaves have been appended."""
        return self._size

    def append(self, leaf_hash: bytes,
               completed: list[tuple[int, int, bytes]] | None = None) -> None:
        """Add the leaf whose hash is `leaf_hash` (32 bytes) at the right of the tree. With
        `completed`, add to it each complete subtree of level 1 or more that the leaf
        completes, as (level, index at that level, hash): what a stored tree keeps."""
        if len(leaf_hash) != HASH_SIZE:
            raise ValueError(f"a leaf hash has {HASH_SIZE} bytes, not {len(leaf_hash)}")
        frontier = self._frontier
        digest = leaf_hash
        # Each trailing 1 bit of the old size is a subtree the new leaf's subtree completes.
        index = size = self._size
        level = 0
        while size & 1:
            digest = node_hash(frontier.pop(), digest)
            size >>= 1
            level += 1
            if completed is not None:
                completed.append((level, index >> level, digest))
        frontier.append(digest)
        self._size += 1

    def root(self) -> bytes:
        """The root of the tree of the leaves appended so far (EMPTY_ROOT if none)."""
        if not self._frontier:
            return EMPTY_ROOT
        digest = self._frontier[-1]
        for left in reversed(self._frontier[:-1]):
            digest = node_hash(left, digest)
        return digest


def frontier_subtrees(size: int) -> list[tuple[int, int]]:
    """The complete subtrees a tree of `size` leaves splits into, left to right, as (level,
    index at that level): one per set bit of `size`, largest first."""
    found, start = [], 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            found.append((level, start >> level))
            start += 1 << level
    return found


def root_of(leaf_hashes: Iterable[bytes]) -> bytes:
    """The root of the tree whose leaves have the hashes `leaf_hashes`, in order."""
    builder = TreeBuilder()
    for digest in leaf_hashes:
        builder.append(digest)
    return builder.root()


def _split(length: int) -> int:
    """The largest power of two strictly smaller than `length` (which is at least 2)."""
    return 1 << ((length - 1).bit_length() - 1)


def _complete_subtree(subtree: Subtree, start: int, end: int) -> bytes:
    """The hash `subtree` gives for [start, end), checked to be a hash."""
    digest = subtree(start, end)
    if len(digest) != HASH_SIZE:
        raise ValueError(f"the subtree callback gave {len(digest)} bytes for leaves "
                         f"[{start}, {end}), not a {HASH_SIZE}-byte hash")
    return digest


def range_hash(subtree: Subtree, start: int, end: int) -> bytes:
    """MTH(D[start:end]), for a non-empty range that occurs when the RFC splits a tree.

    Those ranges are exactly the ones whose start is a multiple of the smallest power of two
    at least their length. Such a range splits into complete, aligned subtrees by the bits of
    its length, largest first; one `subtree` call each, combined from the right.
    """
    length = end - start
    if start < 0 or length < 1:
        raise ValueError(f"no tree over leaves [{start}, {end}): need 0 <= start < end")
    if start % (1 << (length - 1).bit_length()):
        raise ValueError(f"leaves [{start}, {end}) are not a subtree of any Merkle tree")
    pieces: list[bytes] = []
    for level in range(length.bit_length() - 1, -1, -1):
        if length >> level & 1:
            pieces.append(_complete_subtree(subtree, start, start + (1 << level)))
            start += 1 << level
    digest = pieces[-1]
    for left in reversed(pieces[:-1]):
        digest = node_hash(left, digest)
    return digest


def root_at(subtree: Subtree, size: int) -> bytes:
    """The root of the tree of the first `size` leaves."""
    if size < 0:
        raise ValueError(f"a tree size cannot be negative, got {size}")
    return EMPTY_ROOT if size == 0 else range_hash(subtree, 0, size)


def _memoized(subtree: Subtree) -> Subtree:
    """`subtree`, asked at most once per range."""
    seen: dict[tuple[int, int], bytes] = {}

    def lookup(start: int, end: int) -> bytes:
        key = (start, end)
        if key not in seen:
            seen[key] = subtree(start, end)
        return seen[key]

    return lookup


def inclusion_proof(subtree: Subtree, index: int, size: int) -> list[bytes]:
    """The audit path PATH(index, D[0:size]) of RFC 9162 section 2.1.3.1, leaf level first."""
    if size < 0:
        raise ValueError(f"a tree size cannot be negative, got {size}")
    if not 0 <= index < size:
        raise ValueError(f"no leaf {index} in a tree of {size} leaves")
    lookup = _memoized(subtree)
    path: list[bytes] = []
    start, end = 0, size
    while end - start > 1:
        middle = start + _split(end - start)
        if index < middle:
            path.append(range_hash(lookup, middle, end))
            end = middle
        else:
            path.append(range_hash(lookup, start, middle))
            start = middle
    path.reverse()
    return path


def consistency_proof(subtree: Subtree, first: int, second: int) -> list[bytes]:
    """PROOF(first, D[0:second]) of RFC 9162 section 2.1.4.1, deepest hash first.

    first == second gives the empty proof; first == 0 is refused (see the module docstring).
    """
    if first < 1:
        raise ValueError(f"first must be at least 1, got {first}: every tree extends the "
                         "empty tree, so there is nothing to prove")
    if first > second:
        raise ValueError(f"first ({first}) is larger than second ({second})")
    if first == second:
        return []
    lookup = _memoized(subtree)
    proof: list[bytes] = []
    start, end = 0, second
    # Whether [start, end) is still the left edge whose hash the verifier already holds.
    on_first_tree = True
    while first != end:
        middle = start + _split(end - start)
        if first <= middle:
            proof.append(range_hash(lookup, middle, end))
            end = middle
        else:
            proof.append(range_hash(lookup, start, middle))
            start = middle
            on_first_tree = False
    if not on_first_tree:
        proof.append(range_hash(lookup, start, end))
    proof.reverse()
    return proof


def _check_hash(what: str, digest: bytes) -> None:
    if len(digest) != HASH_SIZE:
        raise ProofError(f"{what} has {len(digest)} bytes, not {HASH_SIZE}")


def _check_proof_hashes(proof: Sequence[bytes]) -> None:
    for position, digest in enumerate(proof):
        _check_hash(f"proof hash {position}", digest)


def root_from_inclusion(leaf_hash: bytes, index: int, size: int,
                        proof: Sequence[bytes]) -> bytes:
    """The root that `proof` leads to from leaf `index` in a tree of `size` leaves.

    Runs RFC 9162 section 2.1.3.2 up to the comparison with the root; raises ProofError if
    the index, leaf hash or proof cannot be part of any such tree.
    """
    if size < 0 or index < 0:
        raise ProofError(f"leaf index ({index}) and tree size ({size}) cannot be negative")
    if index >= size:
        raise ProofError(f"no leaf {index} in a tree of {size} leaves")
    _check_hash("the leaf hash", leaf_hash)
    _check_proof_hashes(proof)
    # fn and sn are the indexes of the node on the path and of the last node, level by level.
    fn, sn = index, size - 1
    digest = leaf_hash
    for sibling in proof:
        if sn == 0:
            raise ProofError(f"the inclusion proof has {len(proof)} hashes, more than the "
                             f"path from leaf {index} to the root of a tree of {size} leaves")
        if fn & 1 or fn == sn:
            digest = node_hash(sibling, digest)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            digest = node_hash(digest, sibling)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"the inclusion proof has {len(proof)} hashes, fewer than the "
                         f"path from leaf {index} to the root of a tree of {size} leaves")
    return digest


def verify_inclusion(leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes],
                     root: bytes) -> None:
    """Check that `proof` shows leaf `index`, hashing to `leaf_hash`, in the tree of `size`
    leaves whose root is `root` (RFC 9162 section 2.1.3.2); raise ProofError if not."""
    _check_hash("the root", root)
    computed = root_from_inclusion(leaf_hash, index, size, proof)
    if computed != root:
        raise ProofError(f"the inclusion proof of leaf {index} in a tree of {size} leaves "
                         f"leads to root {computed.hex()}, not {root.hex()}")


def verify_consistency(first: int, second: int, first_root: bytes, second_root: bytes,
                       proof: Sequence[bytes]) -> None:
    """Check that `proof` shows the tree of `second` leaves with root `second_root` extends
    the tree of `first` leaves with root `first_root` (RFC 9162 section 2.1.4.2).

    first == second needs an empty proof and equal roots; first == 0 is always refused (see
    the module docstring). Raises ProofError saying what failed.
    """
    if first < 1:
        raise ProofError(f"first must be at least 1, got {first}: a consistency proof from "
                         "the empty tree proves nothing")
    if first > second:
        raise ProofError(f"first ({first}) is larger than second ({second})")
    _check_hash("the first root", first_root)
    _check_hash("the second root", second_root)
    _check_proof_hashes(proof)
    if first == second:
        if proof:
            raise ProofError(f"both trees have {first} leaves, so the proof must be empty; "
                             f"it has {len(proof)} hashes")
        if first_root != second_root:
            raise ProofError(f"two trees of {first} leaves have different roots "
                             f"{first_root.hex()} and {second_root.hex()}")
        return
    if not proof:
        raise ProofError(f"the consistency proof from {first} to {second} leaves is empty")

    # The names follow the RFC: the first tree's root hash is prepended when that tree is
    # complete, since the proof then leaves it out; fr and sr are the two roots being rebuilt.
    path = list(proof)
    if first & (first - 1) == 0:
        path.insert(0, first_root)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn >>= 1
        sn >>= 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            raise ProofError(f"the consistency proof from {first} to {second} leaves has "
                             f"{len(proof)} hashes, more than it needs")
        if fn & 1 or fn == sn:
            fr = node_hash(c, fr)
            sr = node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = node_hash(sr, c)
        fn >>= 1
        sn >>= 1
    if sn != 0:
        raise ProofError(f"the consistency proof from {first} to {second} leaves has "
                         f"{len(proof)} hashes, fewer than it needs")
    if fr != first_root:
        raise ProofError(f"the consistency proof leads to first root {fr.hex()}, "
                         f"not {first_root.hex()}")
    if sr != second_root:
        raise ProofError(f"the consistency proof leads to second root {sr.hex()}, "
                         f"not {second_root.hex()}")
