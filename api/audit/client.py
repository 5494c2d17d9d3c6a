"""A Concord server read over HTTP, for auditing it: its address, its pages of entries and
its consistency proofs, with every malformed answer refused saying what was wrong."""

from __future__ import annotations

import base64
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import orjson

# (first, second) -> the root of the first `first` leaves, and the consistency proof.
Consistency = Callable[[int, int], tuple[bytes, list[bytes]]]

_LOOPBACK = ("localhost", "127.", "[::1]")


def server_url(text: str) -> str:
    """A server's base URL from what was typed: http or https, or a bare `host[:port]`,
    which means http on a loopback host (localhost, 127.x, [::1]) and https elsewhere;
    ValueError saying why if it is none of these."""
    given = text.strip()
    scheme, sep, rest = given.partition("://")
    if not sep:
        scheme, rest = ("http" if given.startswith(_LOOPBACK) else "https"), given
    parsed = urllib.parse.urlsplit(f"{scheme.lower()}://{rest}")
    if parsed.scheme not in ("http", "https"):
        raise ValueError(f"{text!r}: the scheme must be http or https, not {scheme!r}")
    if not parsed.hostname or any(c.isspace() for c in rest) or parsed.query:
        raise ValueError(f"{text!r} is not a server's address (e.g. https://concord.example "
                         "or localhost:8000)")
    try:
        parsed.port  # noqa: B018 -- raises on a port that is not a number
    except ValueError:
        raise ValueError(f"{text!r}: the port is not a number from 0 to 65535") from None
    return urllib.parse.urlunsplit(parsed).rstrip("/")


def fetch(url: str, token: str | None = None) -> bytes:
    """GET `url` (with a bearer token if given); the body, or OSError saying what failed."""
    request = urllib.request.Request(url, headers={"Accept": "*/*"})
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            body: bytes = answer.read()
            return body
    except urllib.error.HTTPError as e:
        raise OSError(f"{url}: HTTP {e.code}: {e.read()[:300].decode(errors='replace')}") from e
    except urllib.error.URLError as e:
        raise OSError(f"{url}: {e.reason}") from e


def server_consistency(server: str, token: str | None = None) -> Consistency:
    """Consistency proofs (and the roots they start from) fetched from a Concord server."""

    def prove(first: int, second: int) -> tuple[bytes, list[bytes]]:
        answer = orjson.loads(fetch(f"{server.rstrip('/')}/v1/log/proofs/consistency?"
                                    f"first={first}&second={second}", token))
        try:
            return (base64.b64decode(answer["first_root"], validate=True),
                    [base64.b64decode(h, validate=True) for h in answer["proof"]])
        except (KeyError, TypeError, ValueError) as e:
            raise OSError(f"malformed consistency proof from the server: {e}") from e

    return prove


PAGE = 1_000  # the API's largest page of entries


def server_entries(server: str, token: str | None = None,
                   after: int = 0) -> Iterator[list[dict[str, Any]]]:
    """The server's entries after position `after`, a page at a time, in order (GET
    /v1/events, until a page's `next_after` is null or a page is empty); OSError if a page
    is malformed or does not follow the previous one."""
    base = server.rstrip("/")
    while True:
        body = fetch(f"{base}/v1/events?after={after}&limit={PAGE}", token)
        try:
            page = orjson.loads(body)
            events, next_after = page["events"], page["next_after"]
            if not isinstance(events, list) or not all(isinstance(e, dict) for e in events):
                raise TypeError("events is not a list of entries")
        except (orjson.JSONDecodeError, KeyError, TypeError) as e:
            raise OSError(f"{base}/v1/events?after={after}: not a page of entries ({e})"
                          ) from None
        if not events:
            return
        if next_after is None:  # the last page
            yield events
            return
        if type(next_after) is not int or next_after <= after:
            raise OSError(f"{base}/v1/events?after={after}: next_after {next_after!r} does "
                          "not move forward")
        yield events
        after = next_after
