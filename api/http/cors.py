"""Cross-origin reads of the verifiable log: every GET and HEAD under /v1/log/ answers with
`Access-Control-Allow-Origin: *`, errors included, so that an auditor's page in a browser,
served from anywhere, can read the checkpoint, the key, leaves, proofs and tiles.

Plain ASGI: it only adds a header to the response's start as it goes by.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from concord.api.http.auth import route_path

LOG_PREFIX = "/v1/log/"
SCOPE_KEY = "concord.any_origin"
"""Set in the scope of the requests it answers for: the 500 handler, which answers outside
every middleware, adds the header itself."""
_ALLOW_ORIGIN = (b"access-control-allow-origin", b"*")


class LogCorsMiddleware:
    """Adds `Access-Control-Allow-Origin: *` to every answer to a GET or HEAD under
    /v1/log/, whatever its status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or scope["method"] not in ("GET", "HEAD")
                or not route_path(scope).startswith(LOG_PREFIX)):
            await self.app(scope, receive, send)
            return
        scope[SCOPE_KEY] = True

        async def send_allowing_any_origin(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(name, value) for name, value in message.get("headers", ())
                           if name.lower() != _ALLOW_ORIGIN[0]]
                message = {**message, "headers": [*headers, _ALLOW_ORIGIN]}
            await send(message)

        await self.app(scope, receive, send_allowing_any_origin)
