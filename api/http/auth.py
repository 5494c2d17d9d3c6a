"""Who may do what: the access policy, bearer-key authentication, and write rate limits.

All of it in one ASGI middleware that runs before routing, so that every route, present and
future, falls under the same table of rules.
"""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping
from typing import Any

from starlette.types import ASGIApp, Receive, Scope, Send

from concord.api.http.errors import problem_response
from concord.api.keys import ApiKey, KeyStore, Role

OPEN_PATHS = frozenset({"/healthz", "/readyz", "/docs", "/docs/oauth2-redirect", "/redoc",
                        "/openapi.json"})
DOCS_ASSETS = "/docs/assets"  # the documentation pages' scripts and styles, served here
CONSOLE_ASSETS = "/static"  # the console's scripts and styles
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SCOPE_KEY = "concord.key"


def required_role(method: str, path: str, public_read: bool) -> Role | None:
    """The least role a request needs, or None when anyone may make it."""
    if is_open(path):
        return None
    if path == "/v1/keys" or path.startswith("/v1/keys/"):
        return Role.admin
    if path == "/v1/projections" or path.startswith("/v1/projections/"):
        return Role.admin
    if method in WRITE_METHODS:
        return Role.recorder
    return None if public_read else Role.reader


def is_open(path: str) -> bool:
    """Whether anyone may request `path`, with or without a key: health, the documentation,
    the console's scripts and styles (its pages read the log: they need what reads need)."""
    return path in OPEN_PATHS or path.startswith((DOCS_ASSETS + "/", CONSOLE_ASSETS + "/"))


class RateLimiter:
    """A token bucket per key: `rate` write requests a second (a batch is one), in bursts of
    up to `rate` (at least one)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.rate = rate
        self.capacity = max(rate, 1.0)
        self.clock = clock
        self.buckets: dict[str, tuple[float, float]] = {}

    def wait_for(self, name: str) -> float:
        """0 if `name` may write now (and count it), else the seconds until it may."""
        now = self.clock()
        tokens, then = self.buckets.get(name, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - then) * self.rate)
        if tokens >= 1:
            self.buckets[name] = (tokens - 1, now)
            return 0.0
        self.buckets[name] = (tokens, now)
        return (1 - tokens) / self.rate


class AuthMiddleware:
    """Checks the bearer key against the policy; the key reaches routes in the scope."""

    def __init__(self, app: ASGIApp, keys: Callable[[], KeyStore], public_read: bool,
                 write_rate: float | None) -> None:
        self.app = app
        self.keys = keys
        self.public_read = public_read
        self.limiter = RateLimiter(write_rate) if write_rate else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The path as the router will match it: without any root path or mount prefix.
        path = route_path(scope) if scope["type"] == "http" else ""
        if scope["type"] != "http" or is_open(path):
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        required = required_role(method, path, self.public_read)
        key: ApiKey | None = None
        header = _authorization(scope)
        if header is not None:
            scheme, _, token = header.partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                await self._refuse(scope, receive, send, 401, "the Authorization header must "
                                   "be 'Bearer <token>'", 'Bearer error="invalid_request"')
                return
            key = await self.keys().authenticate_async(token.strip())
            if key is None:
                await self._refuse(scope, receive, send, 401, "the API key is unknown or "
                                   "revoked", 'Bearer error="invalid_token"')
                return
        if required is not None:
            if key is None:
                await self._refuse(scope, receive, send, 401, f"{method} {path} needs an API "
                                   f"key with the role {required.name} or higher: send "
                                   "'Authorization: Bearer <token>'", "Bearer")
                return
            if key.role < required:
                await self._refuse(scope, receive, send, 403, f"the key {key.name!r} has the "
                                   f"role {key.role.name}; {method} {path} needs "
                                   f"{required.name} or higher")
                return
            if self.limiter is not None and required is Role.recorder:
                wait = self.limiter.wait_for(key.name)
                if wait > 0:
                    await self._refuse(scope, receive, send, 429, f"the key {key.name!r} "
                                       f"may write {self.limiter.rate:g} times a second; "
                                       f"retry in {wait:.2f} s",
                                       retry_after=max(1, int(wait + 0.999)))
                    return
        scope[SCOPE_KEY] = key
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, detail: str,
                      challenge: str | None = None, retry_after: int | None = None) -> None:
        titles = {401: "Unauthorized", 403: "Forbidden", 429: "Too many requests"}
        slugs = {401: "unauthorized", 403: "forbidden", 429: "rate-limited"}
        headers: dict[str, str] = {}
        if challenge is not None:
            headers["WWW-Authenticate"] = challenge
        if retry_after is not None:
            headers["Retry-After"] = str(retry_after)
        response = problem_response(None, status, slugs[status], titles[status], detail,
                                    headers=headers, instance=scope["path"])
        await response(scope, receive, send)


def current_key(scope: MutableMapping[str, Any]) -> ApiKey:
    """The key the request was authenticated with (for routes that require one)."""
    key = scope.get(SCOPE_KEY)
    assert isinstance(key, ApiKey), "this route needs the auth middleware's key"
    return key


def route_path(scope: Scope) -> str:
    """The path the router matches: the request's path without its root path (the prefix
    of a mount or of `--root-path`), as Starlette's router strips it."""
    path: str = scope["path"]
    root = scope.get("root_path", "")
    if root and path.startswith(root) and (len(path) == len(root) or path[len(root)] == "/"):
        return path[len(root):]
    return path


def _authorization(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"authorization":
            decoded: str = value.decode("latin-1")
            return decoded
    return None
