"""The ids of PostgreSQL advisory locks, one list for every Concord process on a database."""

SCHEMA_LOCK = 0x436F6E636F7264  # "Concord"
"""Held (for the transaction) by whoever changes the schema, so that processes starting together
do not create the same table at once, which PostgreSQL refuses."""

PROJECTOR_LOCK = SCHEMA_LOCK + 1
"""Held (for a session) by the one process that keeps the read models up; with a second key
per projection, by the one that rebuilds it."""
