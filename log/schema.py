"""Names every backend of the log shares: Concord's own tables beside eventsourcing's, and
the PostgreSQL advisory lock held while any of Concord's tables change."""

IDEMPOTENCY_TABLE = "concord_idempotency"
"""Idempotency keys, with the digest of what each was sent with and the positions it got."""

FIRST_ENTRIES_INDEX = "concord_first_entries"
"""Streams by their first entry: the codes of each kind, found without reading every entry."""

SCHEMA_LOCK = 0x436F6E636F7264  # "Concord"
"""Held (for the transaction) by whoever changes the schema, so that processes starting together
do not create the same table at once, which PostgreSQL refuses."""
