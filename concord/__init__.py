"""Concord: an auditable, append-only coordination log for networks of states.

The package's rooms are the repository's top-level folders, linked here so that an installed
Concord claims one top-level name, `concord`:

- `concord.domain`: the model (the event catalogue, codes, rules and aggregates); no SQL,
  threads or files.
- `concord.log`: the write side (the log application, its one writer, a storage module per
  backend).
- `concord.tlog`: the verifiable log (leaves, Merkle tree math, signed notes); no I/O.
- `concord.projections`: the read side (read models rebuilt from the log).
- `concord.api`: the edges (the HTTP service, the command line, the auditor's client), and
  the composition root that wires the rest for each of them.
"""
