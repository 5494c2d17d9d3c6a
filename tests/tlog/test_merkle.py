"""The RFC 9162 Merkle tree: published test vectors, the reference tree, every small proof,
and random proofs in trees of up to 100,000 leaves."""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from concord.tlog.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    ProofError,
    Subtree,
    TreeBuilder,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    range_hash,
    root_at,
    root_from_inclusion,
    root_of,
    verify_consistency,
    verify_inclusion,
)

VECTORS = Path(__file__).parent.parent / "vectors" / "merkle"
SMALL = 40
LARGE = 100_000

# This vector's roots are the 12 ASCII bytes "don't care 2", not hashes. It expects two equal
# roots of equal-size trees with an empty proof to verify; this verifier refuses any root
# that is not a 32-byte hash before comparing, so it rejects the vector (test_equal_sizes
# checks the intended rule with real hashes).
REJECTED_PLACEHOLDER = "consistency/additional/sizes-are-equal-one-and-proof-is-empty.json"


def _vector_params(kind: str) -> list[Any]:
    files = sorted((VECTORS / kind).rglob("*.json"))
    return [pytest.param(path, id=path.relative_to(VECTORS).as_posix()) for path in files]


def _b64(value: str) -> bytes:
    return base64.b64decode(value, validate=True)


def _proof(vector: dict[str, Any]) -> list[bytes]:
    return [_b64(h) for h in vector["proof"] or []]


def test_every_vector_file_is_collected() -> None:
    assert len(_vector_params("inclusion")) == 98
    assert len(_vector_params("consistency")) == 98
    assert (VECTORS / "LICENSE").is_file()


@pytest.mark.parametrize("path", _vector_params("inclusion"))
def test_inclusion_vector(path: Path) -> None:
    vector = json.loads(path.read_text())
    args = (_b64(vector["leafHash"]), vector["leafIdx"], vector["treeSize"], _proof(vector),
            _b64(vector["root"]))
    if vector["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


@pytest.mark.parametrize("path", _vector_params("consistency"))
def test_consistency_vector(path: Path) -> None:
    vector = json.loads(path.read_text())
    args = (vector["size1"], vector["size2"], _b64(vector["root1"]), _b64(vector["root2"]),
            _proof(vector))
    if path.relative_to(VECTORS).as_posix() == REJECTED_PLACEHOLDER:
        assert not vector["wantErr"]
        with pytest.raises(ProofError, match="has 12 bytes, not 32"):
            verify_consistency(*args)
    elif vector["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


class Store:
    """The hashes of every complete, aligned subtree over some leaves, level by level."""

    def __init__(self, leaf_hashes: list[bytes]) -> None:
        self.levels = [leaf_hashes]
        while len(self.levels[-1]) > 1:
            below = self.levels[-1]
            self.levels.append([node_hash(below[i], below[i + 1])
                                for i in range(0, len(below) - 1, 2)])
        self.calls = 0

    def view(self, size: int) -> Subtree:
        """The callback of the tree of the first `size` leaves: it refuses any range that is
        not a complete, aligned subtree inside that tree."""

        def subtree(start: int, end: int) -> bytes:
            length = end - start
            assert length > 0 and length & (length - 1) == 0, (start, end)
            assert start % length == 0 and end <= size, (start, end, size)
            self.calls += 1
            return self.levels[length.bit_length() - 1][start // length]

        return subtree


def _leaf_hashes(count: int) -> list[bytes]:
    return [leaf_hash(i.to_bytes(4, "big")) for i in range(count)]


def _reference_root(hashes: list[bytes]) -> bytes:
    """MTH straight from the RFC's recursive definition."""
    if not hashes:
        return EMPTY_ROOT
    if len(hashes) == 1:
        return hashes[0]
    k = 1 << ((len(hashes) - 1).bit_length() - 1)
    return node_hash(_reference_root(hashes[:k]), _reference_root(hashes[k:]))


SMALL_HASHES = _leaf_hashes(SMALL + 1)
SMALL_STORE = Store(SMALL_HASHES)
SMALL_ROOTS = [_reference_root(SMALL_HASHES[:size]) for size in range(SMALL + 2)]


def test_hash_functions() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"").hex() == (
        "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d")
    left, right = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(left, right) != node_hash(right, left)
    assert node_hash(left, right) != leaf_hash(left + right)


def test_reference_tree() -> None:
    reference = json.loads((VECTORS / "reference-tree.json").read_text())
    hashes = [leaf_hash(bytes.fromhex(leaf)) for leaf in reference["leaf_inputs_hex"]]
    expected = [bytes.fromhex(root) for root in reference["roots_hex_by_size"]]
    assert len(hashes) == 8 and len(expected) == 9
    store = Store(hashes)
    builder = TreeBuilder()
    for size, root in enumerate(expected):
        assert root_of(hashes[:size]) == root
        assert root_at(store.view(size), size) == root
        assert builder.size == size
        assert builder.root() == root
        if size < len(hashes):
            builder.append(hashes[size])


def test_small_roots_agree() -> None:
    builder = TreeBuilder()
    for size in range(SMALL + 1):
        expected = SMALL_ROOTS[size]
        assert builder.root() == expected
        assert root_of(SMALL_HASHES[:size]) == expected
        assert root_at(SMALL_STORE.view(size), size) == expected
        builder.append(SMALL_HASHES[size])
    assert len(set(SMALL_ROOTS)) == len(SMALL_ROOTS)


def test_tree_builder_refuses_a_short_hash() -> None:
    builder = TreeBuilder()
    with pytest.raises(ValueError, match="32 bytes"):
        builder.append(b"\x00" * 31)
    assert builder.size == 0 and builder.root() == EMPTY_ROOT


def _flipped(proof: list[bytes], position: int, bit: int) -> list[bytes]:
    changed = bytearray(proof[position])
    changed[bit // 8] ^= 1 << (bit % 8)
    return [*proof[:position], bytes(changed), *proof[position + 1:]]


def _path_length(index: int, size: int) -> int | None:
    """The length of the generated audit path of leaf `index` in a tree of `size` leaves."""
    if not 0 <= index < size:
        return None
    return len(inclusion_proof(SMALL_STORE.view(size), index, size))


def _proof_length(first: int, second: int) -> int | None:
    """The length of the generated consistency proof from `first` to `second` leaves."""
    if not 1 <= first <= second:
        return None
    return len(consistency_proof(SMALL_STORE.view(second), first, second))


def _check_other_size(other: int, same_length: bool, verify: Callable[..., None],
                      *args: Any) -> None:
    """Verifying a proof against the right root but another tree size (`other`).

    For a given leaf (or first size), the length of the proof fixes the order in which its
    hashes are combined, so a size whose proof has the same length leads to the same root:
    RFC 9162 verification accepts it, and only the root, which a signed tree head binds to
    its size, pins the size down. Every other wrong size must be refused.
    """
    if same_length:
        verify(*args)
    else:
        with pytest.raises(ProofError):
            verify(*args)


@pytest.mark.parametrize("size", range(1, SMALL + 1))
def test_small_inclusion_proofs(size: int) -> None:
    root = SMALL_ROOTS[size]
    for index in range(size):
        proof = inclusion_proof(SMALL_STORE.view(size), index, size)
        leaf = SMALL_HASHES[index]
        assert root_from_inclusion(leaf, index, size, proof) == root
        verify_inclusion(leaf, index, size, proof, root)
        for position in range(len(proof)):
            for bit in (0, 133, 255):
                with pytest.raises(ProofError):
                    verify_inclusion(leaf, index, size, _flipped(proof, position, bit), root)
        for other in range(size + 2):
            if other != index:
                with pytest.raises(ProofError):
                    verify_inclusion(leaf, other, size, proof, root)
        for other in range(SMALL + 2):
            if other != size:
                _check_other_size(other, _path_length(index, other) == len(proof),
                                  verify_inclusion, leaf, index, other, proof, root)
        with pytest.raises(ProofError):
            verify_inclusion(SMALL_HASHES[index + 1], index, size, proof, root)
        with pytest.raises(ProofError, match="more than the path"):
            verify_inclusion(leaf, index, size, [*proof, proof[-1] if proof else leaf], root)
        if proof:
            with pytest.raises(ProofError, match="fewer than the path"):
                verify_inclusion(leaf, index, size, proof[:-1], root)
        for wrong_root in (SMALL_ROOTS[size - 1], SMALL_ROOTS[size + 1]):
            with pytest.raises(ProofError, match="leads to root"):
                verify_inclusion(leaf, index, size, proof, wrong_root)


@pytest.mark.parametrize("second", range(1, SMALL + 1))
def test_small_consistency_proofs(second: int) -> None:
    for first in range(1, second + 1):
        proof = consistency_proof(SMALL_STORE.view(second), first, second)
        roots = SMALL_ROOTS[first], SMALL_ROOTS[second]
        verify_consistency(first, second, *roots, proof)
        assert (proof == []) == (first == second)
        for position in range(len(proof)):
            for bit in (0, 133, 255):
                with pytest.raises(ProofError):
                    verify_consistency(first, second, *roots, _flipped(proof, position, bit))
        for other in range(SMALL + 2):
            if other != first:
                with pytest.raises(ProofError):
                    verify_consistency(other, second, *roots, proof)
            if other != second:
                _check_other_size(other, _proof_length(first, other) == len(proof),
                                  verify_consistency, first, other, *roots, proof)
        with pytest.raises(ProofError):
            verify_consistency(first, second, *roots, [*proof, roots[1]])
        if first != second:
            with pytest.raises(ProofError, match="more than it needs"):
                verify_consistency(first, second, *roots, [*proof, proof[-1]])
        if len(proof) > 1:
            with pytest.raises(ProofError, match="fewer than it needs"):
                verify_consistency(first, second, *roots, proof[:-1])
            with pytest.raises(ProofError):
                verify_consistency(first, second, *roots, proof[1:])
        for wrong in (SMALL_ROOTS[first - 1], SMALL_ROOTS[first + 1]):
            if wrong != roots[1]:
                with pytest.raises(ProofError, match="leads to|different roots"):
                    verify_consistency(first, second, wrong, roots[1], proof)
        for wrong in (SMALL_ROOTS[second - 1], SMALL_ROOTS[second + 1]):
            if wrong != roots[0]:
                with pytest.raises(ProofError, match="leads to|different roots"):
                    verify_consistency(first, second, roots[0], wrong, proof)


def test_equal_sizes() -> None:
    root = SMALL_ROOTS[5]
    verify_consistency(5, 5, root, root, [])
    assert consistency_proof(SMALL_STORE.view(5), 5, 5) == []
    with pytest.raises(ProofError, match="different roots"):
        verify_consistency(5, 5, root, SMALL_ROOTS[6], [])
    with pytest.raises(ProofError, match="must be empty"):
        verify_consistency(5, 5, root, root, [root])


def test_first_zero_is_refused() -> None:
    with pytest.raises(ValueError, match="first must be at least 1"):
        consistency_proof(SMALL_STORE.view(3), 0, 3)
    for second, proof in ((0, []), (3, []), (3, [SMALL_ROOTS[3]])):
        with pytest.raises(ProofError, match="first must be at least 1"):
            verify_consistency(0, second, EMPTY_ROOT, SMALL_ROOTS[second], proof)


def test_impossible_arguments() -> None:
    view = SMALL_STORE.view(8)
    with pytest.raises(ValueError, match="no leaf 8 in a tree of 8 leaves"):
        inclusion_proof(view, 8, 8)
    with pytest.raises(ValueError, match="no leaf -1"):
        inclusion_proof(view, -1, 8)
    with pytest.raises(ValueError, match="negative"):
        inclusion_proof(view, 0, -1)
    with pytest.raises(ValueError, match="larger than second"):
        consistency_proof(view, 5, 4)
    with pytest.raises(ValueError, match="negative"):
        root_at(view, -1)
    assert root_at(view, 0) == EMPTY_ROOT
    for start, end in ((0, 0), (3, 2), (-1, 1), (1, 3), (2, 5), (4, 8 + 1)):
        with pytest.raises(ValueError):
            range_hash(SMALL_STORE.view(SMALL), start, end)
    assert range_hash(SMALL_STORE.view(SMALL), 8, 13) == _reference_root(SMALL_HASHES[8:13])


def test_bad_hash_lengths_are_refused() -> None:
    proof = inclusion_proof(SMALL_STORE.view(8), 3, 8)
    leaf, root = SMALL_HASHES[3], SMALL_ROOTS[8]
    with pytest.raises(ProofError, match="proof hash 1 has 33 bytes"):
        verify_inclusion(leaf, 3, 8, [proof[0], proof[1] + b"\x00", proof[2]], root)
    with pytest.raises(ProofError, match="leaf hash has 31 bytes"):
        verify_inclusion(leaf[:31], 3, 8, proof, root)
    with pytest.raises(ProofError, match="root has 0 bytes"):
        verify_inclusion(leaf, 3, 8, proof, b"")
    cproof = consistency_proof(SMALL_STORE.view(8), 3, 8)
    with pytest.raises(ProofError, match="proof hash 0 has 31 bytes"):
        verify_consistency(3, 8, SMALL_ROOTS[3], root, [cproof[0][1:], *cproof[1:]])
    with pytest.raises(ValueError, match="gave 3 bytes"):
        root_at(lambda start, end: b"abc", 5)


def test_callback_answers_are_not_trusted_blindly() -> None:
    # A store that lost a subtree fails loudly rather than giving a wrong proof.
    def missing(start: int, end: int) -> bytes:
        raise LookupError(f"no subtree [{start}, {end})")

    with pytest.raises(LookupError):
        inclusion_proof(missing, 0, 2)


@functools.cache
def _large() -> tuple[Store, list[bytes]]:
    """A store over LARGE leaves, and the root of every prefix, from a TreeBuilder."""
    hashes = _leaf_hashes(LARGE)
    builder = TreeBuilder()
    roots = [builder.root()]
    for digest in hashes:
        builder.append(digest)
        roots.append(builder.root())
    return Store(hashes), roots


def test_large_roots() -> None:
    store, roots = _large()
    for size in (1, 2, 3, 1000, 65_536, 65_537, LARGE - 1, LARGE):
        assert root_at(store.view(size), size) == roots[size]
    assert root_of(store.levels[0][:12_345]) == roots[12_345]
    assert root_at(store.view(12_345), 12_345) == _reference_root(store.levels[0][:12_345])


def _call_budget(size: int) -> int:
    """At most one complete subtree per level for the path, plus the bits of one range."""
    return 2 * size.bit_length()


@st.composite
def _index_and_size(draw: st.DrawFn) -> tuple[int, int]:
    size = draw(st.integers(1, LARGE))
    return draw(st.integers(0, size - 1)), size


@st.composite
def _first_and_second(draw: st.DrawFn) -> tuple[int, int]:
    second = draw(st.integers(1, LARGE))
    return draw(st.integers(1, second)), second


@settings(max_examples=50, deadline=None)
@given(_index_and_size(), st.data())
def test_large_inclusion_proofs(index_size: tuple[int, int], data: st.DataObject) -> None:
    index, size = index_size
    store, roots = _large()
    store.calls = 0
    proof = inclusion_proof(store.view(size), index, size)
    assert store.calls <= _call_budget(size)
    leaf = store.levels[0][index]
    verify_inclusion(leaf, index, size, proof, roots[size])
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 8 * HASH_SIZE - 1))
        with pytest.raises(ProofError):
            verify_inclusion(leaf, index, size, _flipped(proof, position, bit), roots[size])
    with pytest.raises(ProofError):
        verify_inclusion(leaf, index ^ 1, size, proof, roots[size])
    with pytest.raises(ProofError, match="leads to root"):
        verify_inclusion(leaf, index, size, proof, roots[size - 1])


@settings(max_examples=50, deadline=None)
@given(_first_and_second(), st.data())
def test_large_consistency_proofs(first_second: tuple[int, int], data: st.DataObject) -> None:
    first, second = first_second
    store, roots = _large()
    store.calls = 0
    proof = consistency_proof(store.view(second), first, second)
    assert store.calls <= _call_budget(second)
    verify_consistency(first, second, roots[first], roots[second], proof)
    if proof:
        position = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, 8 * HASH_SIZE - 1))
        with pytest.raises(ProofError):
            verify_consistency(first, second, roots[first], roots[second],
                               _flipped(proof, position, bit))
    if first > 1:
        with pytest.raises(ProofError):
            verify_consistency(first - 1, second, roots[first], roots[second], proof)
        with pytest.raises(ProofError, match="leads to|different roots"):
            verify_consistency(first, second, roots[first - 1], roots[second], proof)
