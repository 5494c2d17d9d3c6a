"""Concord's model: the event catalogue and how a submission is checked, codes and dates,
the aggregates and their rules over time, errors, and the public envelope. No SQL, threads
or files (an import-linter contract keeps it so)."""

if __name__ != "concord.domain":  # its folder's name, importable from the repository's root
    raise ImportError(f"import concord.domain, not {__name__}: Concord's rooms are installed "
                      "under the one package concord")
