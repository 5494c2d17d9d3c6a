"""The witness over HTTP (C2SP tlog-witness), a small Starlette app of its own:

- `POST <prefix>/add-checkpoint`: cosign a checkpoint (200, the cosignature lines), or
  refuse (400, 403, 404, 409 with the size held as `text/x.tlog.size`, 413, 422, 503);
- `GET <prefix>/<sha256 hex of origin>/checkpoint`: the checkpoint last cosigned for that
  log, with the log's signatures and the witness's cosignature (404 if none);
- `GET /healthz`: the process is alive.

Refusals are one line of plain text saying why. Each request is logged in one line; a
refused checkpoint that is validly signed by the log is logged as a warning, and kept in
the state file, as possible evidence that the log misbehaved.
"""

from __future__ import annotations

import logging
import re

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from concord.api.witness.cosigning import Cosigned, OldSizeMismatch, Refused, Witness
from concord.api.witness.state import StateBusy
from concord.tlog.witnessing import TREE_SIZE_MEDIA_TYPE, encode_tree_size

MAX_BODY_BYTES = 64 * 1024
"""The largest add-checkpoint body accepted (413 above): a checkpoint with a few dozen
Ed25519 signatures and a full proof takes a few KiB."""

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


def create_app(witness: Witness, prefix: str = "/", max_body_bytes: int = MAX_BODY_BYTES
               ) -> Starlette:
    """The witness's ASGI app, its routes under `prefix` (except /healthz)."""
    base = normalize_prefix(prefix)

    async def add_checkpoint(request: Request) -> Response:
        body = await _body(request, max_body_bytes)
        client = request.client.host if request.client else "-"
        if body is None:
            requests_log.info("add-checkpoint from %s: 413, body over %d bytes", client,
                              max_body_bytes)
            return _text(413, f"the request body is larger than {max_body_bytes} bytes")
        try:
            cosigned = await run_in_threadpool(witness.add_checkpoint, body)
        except Refused as refusal:
            _log_refusal(refusal, client, witness)
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
        hashed = request.path_params["origin_hash"]
        note = (await run_in_threadpool(witness.latest_checkpoint, hashed)
                if _ORIGIN_HASH.fullmatch(hashed) else None)
        requests_log.info("checkpoint %s: %s", hashed[:64], 200 if note else 404)
        if note is None:
            return _text(404, "this witness has cosigned no checkpoint of a log whose origin "
                         "has that SHA-256 hash (lowercase hex)")
        return Response(note, 200, media_type=TEXT)

    async def healthz(request: Request) -> Response:
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


def _text(status: int, message: str) -> Response:
    return Response(message + "\n", status, media_type=TEXT)


def _log_cosigned(cosigned: Cosigned, client: str) -> None:
    request = cosigned.request
    requests_log.info("add-checkpoint from %s: origin %r, old size %d, size %d: 200, cosigned "
                      "at %d", client, request.checkpoint.origin, request.old_size,
                      request.checkpoint.size, cosigned.timestamp)


def _log_refusal(refusal: Refused, client: str, witness: Witness) -> None:
    request = refusal.request
    if request is None:
        requests_log.info("add-checkpoint from %s: %d, %s", client, refusal.status,
                          refusal.reason)
        return
    origin = request.checkpoint.origin
    requests_log.info("add-checkpoint from %s: origin %r, old size %d, size %d: %d, %s",
                      client, origin, request.old_size, request.checkpoint.size,
                      refusal.status, refusal.reason)
    if refusal.kept is not None:
        requests_log.warning(
            "possible misbehaviour of the log %r: it signed a checkpoint of size %d that this "
            "witness refused (%d, %s); kept as refusal %d in %s", origin,
            request.checkpoint.size, refusal.status, refusal.reason, refusal.kept,
            witness.state.path)
