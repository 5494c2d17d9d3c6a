"""The read side: read models derived from the log (membership, history, conferences,
declarations, networks, the Merkle tree), their runner, rebuilds, and the tables they keep."""
