"""The right frontier of a growing tree: what a stored tree resumes from, and the complete
subtrees each new leaf closes."""

from __future__ import annotations

from hashlib import sha256

import pytest

from concord.tlog.merkle import TreeBuilder, frontier_subtrees, leaf_hash, node_hash, root_of


def _leaves(count: int) -> list[bytes]:
    return [leaf_hash(sha256(str(i).encode()).digest()) for i in range(count)]


def _subtree(leaves: list[bytes], level: int, index: int) -> bytes:
    """The hash of complete subtree (level, index), the naive way."""
    hashes = leaves[index << level:(index + 1) << level]
    while len(hashes) > 1:
        hashes = [node_hash(hashes[i], hashes[i + 1]) for i in range(0, len(hashes), 2)]
    return hashes[0]


def test_the_frontier_of_a_tree_is_one_complete_subtree_per_set_bit_of_its_size() -> None:
    assert frontier_subtrees(0) == []
    assert frontier_subtrees(1) == [(0, 0)]
    assert frontier_subtrees(6) == [(2, 0), (1, 2)]
    assert frontier_subtrees(13) == [(3, 0), (2, 2), (0, 12)]
    for size in range(300):
        covered = 0
        for level, index in frontier_subtrees(size):
            assert index << level == covered  # left to right, without gaps
            covered += 1 << level
        assert covered == size


def test_each_leaf_reports_exactly_the_complete_subtrees_it_closes() -> None:
    leaves = _leaves(130)
    builder = TreeBuilder()
    completed: list[tuple[int, int, bytes]] = []
    for digest in leaves:
        builder.append(digest, completed)

    expected = {(level, index) for level in range(1, 8)
                for index in range(len(leaves) >> level)}
    assert {(level, index) for level, index, _ in completed} == expected
    assert len(completed) == len(expected)
    for level, index, digest in completed:
        assert digest == _subtree(leaves, level, index)


@pytest.mark.parametrize("size", [0, 1, 2, 3, 7, 8, 9, 64, 100])
def test_a_tree_resumed_from_its_frontier_grows_as_if_never_stopped(size: int) -> None:
    leaves = _leaves(size + 37)
    frontier = [_subtree(leaves, level, index) for level, index in frontier_subtrees(size)]
    resumed = TreeBuilder.resume(size, frontier)
    for digest in leaves[size:]:
        resumed.append(digest)

    assert resumed.size == len(leaves)
    assert resumed.root() == root_of(leaves)


def test_a_frontier_of_the_wrong_length_is_refused() -> None:
    with pytest.raises(ValueError, match="splits into 2 complete subtrees, not 1"):
        TreeBuilder.resume(6, [b"\0" * 32])
