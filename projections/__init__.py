"""The read side: read models derived from the log (membership, history, conferences,
declarations, networks, the Merkle tree), their runner, rebuilds, and the tables they keep."""

if __name__ != "concord.projections":  # its folder's name, importable from the repository's root
    raise ImportError(f"import concord.projections, not {__name__}: Concord's rooms are installed "
                      "under the one package concord")
