"""A C2SP tlog-witness that a member state runs: it cosigns a log's checkpoints only when
they extend the last one it cosigned for that log, so that the log cannot show different
histories to different auditors.

`state.py` keeps what the witness cosigned (and the signed checkpoints it refused) in a
SQLite file of its own, `cosigning.py` applies the protocol's rules to a request, and
`app.py` serves them over HTTP (Starlette, apart from the log's own HTTP service).
Ed25519 `cosignature/v1` only.
"""
