"""Leaves: the fast canonical JSON is byte for byte RFC 8785's."""

from __future__ import annotations

import hashlib
from typing import Any

import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from concord.log.application import CoordinationLog
from concord.tlog.leaves import entry_hash, leaf_bytes
from tests.conftest import RECORDER

KEYS = st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1, max_size=12)
SCALARS = (st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1)
           | st.text(max_size=40))
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=4)
                      | st.dictionaries(KEYS, inner, max_size=4), max_leaves=12)
ENVELOPES = st.fixed_dictionaries({
    "position": st.integers(1, 2**53 - 1), "type": st.text(max_size=30),
    "stream": st.text(max_size=40), "version": st.integers(1, 2**31),
    "effective_date": st.text(max_size=10), "recorded_at": st.text(max_size=24),
    "recorded_by": st.text(max_size=20), "source": st.none() | st.text(max_size=60),
    "data": st.dictionaries(KEYS, VALUES, max_size=6),
    "leaf_index": st.integers(0, 2**53 - 1)})


@given(ENVELOPES)
def test_leaf_bytes_equal_rfc8785_canonical_json(envelope: dict[str, Any]) -> None:
    expected = rfc8785.dumps({k: v for k, v in envelope.items() if k != "leaf_index"})
    assert leaf_bytes(envelope) == expected


def test_control_characters_and_non_ascii_text_are_written_as_rfc8785_writes_them() -> None:
    envelope = {"data": {"name": "Côte d'Ivoire \u2028 \x00\x1f\x7f \" \\ / 😀 \b\f\n\r\t"}}
    assert leaf_bytes(envelope) == rfc8785.dumps(envelope)


def test_an_entry_hash_is_sha256_of_0x00_and_its_leaf(log: CoordinationLog) -> None:
    envelope = log.submit({"type": "StateRegistered", "data": {"state": "XKX", "name": "K"},
                           "effective_date": "2008-02-17"}, recorded_by=RECORDER)
    leaf = leaf_bytes(envelope)
    assert b"leaf_index" not in leaf and leaf.startswith(b'{"data":{"name":"K"')
    assert entry_hash(envelope) == hashlib.sha256(b"\x00" + leaf).digest()
    assert envelope["leaf_index"] == envelope["position"] - 1 == 0
