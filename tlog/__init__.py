"""The verifiable log, with no I/O: an entry's leaf, the Merkle tree math of RFC 9162, and
C2SP signed notes and checkpoints."""
