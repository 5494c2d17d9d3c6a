"""Concord's edges: the HTTP service (`http`), the command line (`cli`), the auditor's client
(`audit`), and what they share: settings, the composition root (`wiring`), API keys, signed
checkpoints, backups and scenario files."""

if __name__ != "concord.api":  # its folder's name, importable from the repository's root
    raise ImportError(f"import concord.api, not {__name__}: Concord's rooms are installed "
                      "under the one package concord")
