"""The audit console: server-rendered pages, readable without JavaScript, for anyone to
read, chart and verify the network's record, every asset served by Concord itself; and,
in the browser, the verification of entries and checkpoints with WebCrypto alone."""

from __future__ import annotations

from fastapi import FastAPI

from concord.api.http.console import desk, networks, overview, records
from concord.api.http.console.render import error_page


def install(app: FastAPI) -> None:
    """Serve the console's pages and assets from `app`, and its errors as pages."""
    app.state.page_error = error_page
    for module in (overview, networks, records, desk):
        app.include_router(module.pages)
