"""An entry's leaf in the Merkle tree: the canonical bytes of its envelope, and their hash.

The leaf is the RFC 8785 canonical JSON of the public envelope without `leaf_index`.
Envelopes hold only strings, integers, null, booleans, lists and objects with ASCII keys,
never floats, so orjson with sorted keys writes the same bytes as RFC 8785 (a property
test checks it against the `rfc8785` package) at a fraction of the cost.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from concord.tlog.merkle import leaf_hash


def leaf_bytes(envelope: Mapping[str, Any]) -> bytes:
    """The canonical JSON of `envelope` without its `leaf_index`."""
    public = {key: value for key, value in envelope.items() if key != "leaf_index"}
    return orjson.dumps(public, option=orjson.OPT_SORT_KEYS)


def entry_hash(envelope: Mapping[str, Any]) -> bytes:
    """The Merkle leaf hash of an entry."""
    return leaf_hash(leaf_bytes(envelope))
