"""Cross-origin reads of the verifiable log: every GET and HEAD under /v1/log/ answers with
`Access-Control-Allow-Origin: *`, errors included (and lets the page read `X-Leaf-Hash`), so
that an auditor's page in a browser, served from anywhere, can read the checkpoint, the key,
leaves, proofs and tiles; a CORS preflight there (a page sending a reader's key, where reads
need one) is answered at once, allowing GET and HEAD with an Authorization header.

Plain ASGI: it adds headers to the response's start as it goes by.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from concord.api.http.auth import route_path

LOG_PREFIX = "/v1/log/"
SCOPE_KEY = "concord.any_origin"
"""Set in the scope of the requests it answers for: the 500 handler, which answers outside
every middleware, adds the header itself."""
_ALLOW_ORIGIN = (b"access-control-allow-origin", b"*")
_EXPOSE = (b"access-control-expose-headers", b"X-Leaf-Hash")
_PREFLIGHT = [_ALLOW_ORIGIN, (b"access-control-allow-methods", b"GET, HEAD"),
              (b"access-control-allow-headers", b"Authorization"),
              (b"access-control-max-age", b"86400"), (b"content-length", b"0")]


class LogCorsMiddleware:
    """Adds `Access-Control-Allow-Origin: *` to every answer to a GET or HEAD under
    /v1/log/, whatever its status."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not route_path(scope).startswith(LOG_PREFIX):
            await self.app(scope, receive, send)
            return
        if scope["method"] == "OPTIONS" and any(
                name == b"access-control-request-method" for name, _ in scope["headers"]):
            await send({"type": "http.response.start", "status": 204, "headers": _PREFLIGHT})
            await send({"type": "http.response.body", "body": b""})
            return
        if scope["method"] not in ("GET", "HEAD"):
            await self.app(scope, receive, send)
            return
        scope[SCOPE_KEY] = True

        async def send_allowing_any_origin(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(name, value) for name, value in message.get("headers", ())
                           if name.lower() not in (_ALLOW_ORIGIN[0], _EXPOSE[0])]
                message = {**message, "headers": [*headers, _ALLOW_ORIGIN, _EXPOSE]}
            await send(message)

        await self.app(scope, receive, send_allowing_any_origin)
