"""The verifiable log, with no I/O: an entry's leaf, the Merkle tree math of RFC 9162, and
C2SP signed notes and checkpoints."""

if __name__ != "concord.tlog":  # its folder's name, importable from the repository's root
    raise ImportError(f"import concord.tlog, not {__name__}: Concord's rooms are installed "
                      "under the one package concord")
