"""The witness over HTTP (C2SP tlog-witness), a small Starlette app of its own:

- `POST <prefix>/add-checkpoint`: cosign a checkpoint (200, the cosignature lines), or
  refuse (400, 403, 404, 408, 409 with the size held as `text/x.tlog.size`, 413, 422, 503);
- `GET <prefix>/<sha256 hex of origin>/checkpoint`: the checkpoint last cosigned for that
  log, with the log's signatures and the witness's cosignature (404 if none);
- `GET /healthz`: the process is alive.

Refusals are one line of plain text saying why. Each request is logged in one line, what
the client sent in `repr` form (so that it cannot write lines of its own). A refused
checkpoint that contradicts what the witness holds by itself (another root for the size it
holds, signed by the log) is also logged as a warning, and kept in the state file as
evidence that the log misbehaved; a bad consistency proof is not: anyone can send one.
"""

from __future__ import annotations

import asyncio
import logging
import re

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from concord.api.witness.cosigning import Cosigned, OldSizeMismatch, Refused, Witness
from concord.api.witness.state import REFUSALS_TABLE, StateBusy
from concord.tlog.witnessing import TREE_SIZE_MEDIA_TYPE, encode_tree_size

MAX_BODY_BYTES = 64 * 1024
"""The largest add-checkpoint body accepted (413 above): a checkpoint with a few dozen
Ed25519 signatures and a full proof takes a few KiB."""

BODY_TIMEOUT_SECONDS = 10.0
"""How long a client may take to send a whole add-checkpoint body (408 after)."""

MAX_CONNECTIONS = 64
"""The most connections uvicorn serves at once (503 beyond): a witness has few clients."""

KEEP_ALIVE_SECONDS = 5
"""How long uvicorn keeps an idle connection open for the client's next request."""

TEXT = "text/plain; charset=utf-8"

requests_log = logging.getLogger("concord.witness")

_ORIGIN_HASH = re.compile(r"[0-9a-f]{64}")


def normalize_prefix(prefix: str) -> str:
    """The URL prefix of the witness's routes, without its trailing slash ("" for "/");
    ValueError unless it is a path starting with "/"."""
    if not prefix.startswith("/") or any(c in prefix for c in "?#{} \t\r\n"):
        raise ValueError(f"a URL prefix is a path starting with '/', such as /witness, not "
                         f"{prefix!r}")
    return prefix.rstrip("/")


def create_app(witness: Witness, prefix: str = "/", max_body_bytes: int = MAX_BODY_BYTES,
               body_timeout: float = BODY_TIMEOUT_SECONDS) -> Starlette:
    """The witness's ASGI app, its routes under `prefix` (except /healthz)."""
    base = normalize_prefix(prefix)
    refusal_log = _RefusalLog(witness)

    async def add_checkpoint(request: Request) -> Response:
        """Cosign the log's checkpoint if it extends the one last cosigned, or say why not."""
        client = request.client.host if request.client else "-"
        try:
            async with asyncio.timeout(body_timeout):
                body = await _body(request, max_body_bytes)
        except TimeoutError:
            requests_log.info("add-checkpoint from %s: 408, body not received within %g s",
                              client, body_timeout)
            return _text(408, f"the request body did not arrive within {body_timeout:g} "
                         "seconds", headers={"Connection": "close"})
        if body is None:
            requests_log.info("add-checkpoint from %s: 413, body over %d bytes", client,
                              max_body_bytes)
            return _text(413, f"the request body is larger than {max_body_bytes} bytes")
        try:
            cosigned = await run_in_threadpool(witness.add_checkpoint, body)
        except Refused as refusal:
            refusal_log.refused(refusal, client)
            if isinstance(refusal, OldSizeMismatch):
                return Response(encode_tree_size(refusal.size), 409,
                                headers={"Content-Type": TREE_SIZE_MEDIA_TYPE})
            return _text(refusal.status, refusal.reason)
        except StateBusy as error:
            requests_log.warning("add-checkpoint from %s: 503, %s", client, error)
            return PlainTextResponse(f"{error}; retry\n", 503, headers={"Retry-After": "1"})
        _log_cosigned(cosigned, client)
        return Response(cosigned.lines, 200, media_type=TEXT)

    async def checkpoint(request: Request) -> Response:
        """The checkpoint last cosigned for the log whose origin has this SHA-256 hash."""
        hashed = request.path_params["origin_hash"]
        note = (await run_in_threadpool(witness.latest_checkpoint, hashed)
                if _ORIGIN_HASH.fullmatch(hashed) else None)
        requests_log.info("checkpoint %r: %s", hashed[:64], 200 if note else 404)
        if note is None:
            return _text(404, "this witness has cosigned no checkpoint of a log whose origin "
                         "has that SHA-256 hash (lowercase hex)")
        return Response(note, 200, media_type=TEXT)

    async def healthz(request: Request) -> Response:
        """The process is alive."""
        return Response("ok\n", 200, media_type=TEXT)

    return Starlette(routes=[
        Route(f"{base}/add-checkpoint", add_checkpoint, methods=["POST"]),
        Route(f"{base}/{{origin_hash}}/checkpoint", checkpoint, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
    ])


async def _body(request: Request, limit: int) -> bytes | None:
    """The request body, read as it arrives; None as soon as it passes `limit` bytes."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks, total = [], 0
    async for chunk in request.stream():
        total += len(chunk)
        if total > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _text(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    return Response(message + "\n", status, headers=headers, media_type=TEXT)


def _log_cosigned(cosigned: Cosigned, client: str) -> None:
    request = cosigned.request
    requests_log.info("add-checkpoint from %s: origin %r, old size %d, size %d: 200, cosigned "
                      "at %d", client, request.checkpoint.origin, request.old_size,
                      request.checkpoint.size, cosigned.timestamp)


class _RefusalLog:
    """Logs refusals: each in one line, and evidence of the log's misbehaviour as a warning
    when first kept (and, once, that no more is kept)."""

    def __init__(self, witness: Witness) -> None:
        self._witness = witness
        self._said_full = False

    def refused(self, refusal: Refused, client: str) -> None:
        """Log the refusal of a request from `client`."""
        request = refusal.request
        if request is None:
            requests_log.info("add-checkpoint from %s: %d, %r", client, refusal.status,
                              refusal.reason)
            return
        origin = request.checkpoint.origin
        requests_log.info("add-checkpoint from %s: origin %r, old size %d, size %d: %d, %r",
                          client, origin, request.old_size, request.checkpoint.size,
                          refusal.status, refusal.reason)
        if not refusal.evidence:
            return
        path = self._witness.state.path
        if refusal.kept is not None and not refusal.kept.new:
            requests_log.info("the log %r's checkpoint of size %d is kept already as "
                              "refusal %d in %s", origin, request.checkpoint.size,
                              refusal.kept.id, path)
            return
        where = (f"kept as refusal {refusal.kept.id} in {path}" if refusal.kept is not None
                 else "not kept")
        requests_log.warning(
            "possible misbehaviour of the log %r: it signed a checkpoint of size %d that "
            "contradicts the tree this witness holds (%d, %r); %s", origin,
            request.checkpoint.size, refusal.status, refusal.reason, where)
        if refusal.kept is None and not self._said_full:
            self._said_full = True
            requests_log.warning("the table %s of %s holds %d refusals, the most it keeps: "
                                 "no more refusals will be kept", REFUSALS_TABLE, path,
                                 self._witness.state.max_refusals)
