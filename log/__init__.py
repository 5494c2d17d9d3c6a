"""The write side: the log application, the one writer of a process behind the port it owns
(`port`), and a storage module per backend (`sqlite`, `postgres`), eventsourcing's recorders
plus Concord's tables (named in `schema`)."""

if __name__ != "concord.log":  # its folder's name, importable from the repository's root
    raise ImportError(f"import concord.log, not {__name__}: Concord's rooms are installed "
                      "under the one package concord")
