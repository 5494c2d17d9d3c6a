"""Auditing a Concord log without trusting its operator: a client library any auditor's
script can import, and what `concord verify` runs.

    from concord.api.audit import read_verifier, verify_export

    report = verify_export(open("log.jsonl", "rb"), checkpoint_note, read_verifier(key))
    assert report.ok, report.problems

`verify` holds the checks, `client` reads a server over HTTP, `readonly` opens a data
directory without changing a byte of it, and `recheck` compares its read models with a
rebuild. `tiles` audits a log published as C2SP tlog-tiles (a server's, a static copy), and
`publish` writes one from a log's entries.
"""

from concord.api.audit.client import (
    Consistency,
    fetch,
    server_consistency,
    server_entries,
    server_url,
)
from concord.api.audit.publish import Exported, ExportError, export_tiles
from concord.api.audit.tiles import TileSource, tile_source, verify_tiles
from concord.api.audit.verify import (
    Report,
    open_policy,
    read_verifier,
    verify_data_dir,
    verify_export,
    verify_growth,
    verify_receipt,
)

__all__ = ["Consistency", "ExportError", "Exported", "Report", "TileSource", "export_tiles",
           "fetch", "open_policy", "read_verifier", "server_consistency", "server_entries",
           "server_url", "tile_source", "verify_data_dir", "verify_export", "verify_growth",
           "verify_receipt", "verify_tiles"]
