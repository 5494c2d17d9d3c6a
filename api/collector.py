"""The log's side of witnessing: it sends its newest checkpoint, with a consistency proof
from the size each witness last cosigned, to every witness (C2SP tlog-witness
`add-checkpoint`), follows their 409 answers, and keeps the cosignatures they give.

One round at a time, at most every `interval` seconds, when the tree has grown or a witness
has not cosigned its size yet; each witness is asked on a keep-alive connection of its own,
in parallel, and a round waits `timeout` seconds at most. A witness that is down, slow or
refuses is logged and recorded (see `Checkpoints.record_witness`), and the log goes on.
The checkpoint of a size a quorum of witnesses cosigned becomes the one the log serves.
"""

from __future__ import annotations

import contextlib
import http.client
import logging
import re
import socket
import threading
import time
import urllib.parse
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass

from concord.api.checkpoints import Checkpoints
from concord.projections.store import ProjectionStore
from concord.projections.tree import StoredTree, Transparency
from concord.tlog.cosignature import CosignatureVerifier
from concord.tlog.notes import NoteError, split_note
from concord.tlog.witnessing import (
    TREE_SIZE_MEDIA_TYPE,
    WitnessFormatError,
    encode_add_checkpoint,
    parse_tree_size,
)

logger = logging.getLogger(__name__)

_SEPARATORS = re.compile(r"[,\n]")
MAX_ANSWER = 64 * 1024


@dataclass(frozen=True)
class WitnessEndpoint:
    """A witness the log asks to cosign: its submission prefix and its verifier key."""

    url: str
    verifier: CosignatureVerifier

    @property
    def label(self) -> str:
        """The witness as messages and tables name it: name and key ID."""
        return self.verifier.label


def parse_witnesses(text: str) -> list[WitnessEndpoint]:
    """The witnesses in CONCORD_WITNESSES: entries separated by commas or newlines, each a
    submission prefix URL (http or https) and a cosignature verifier key, separated by
    spaces, in either order; ValueError saying which entry is wrong."""
    witnesses: list[WitnessEndpoint] = []
    for number, entry in enumerate(_SEPARATORS.split(text), start=1):
        words = entry.split()
        if not words:
            continue
        urls = [w for w in words if "://" in w]
        keys = [w for w in words if "://" not in w]
        if len(urls) != 1 or len(keys) != 1:
            raise ValueError(f"witness {number} ({entry.strip()!r}) must be a URL and a "
                             "verifier key separated by a space")
        url = urls[0].rstrip("/")
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError(f"witness {number}: {url!r} is not an http or https URL")
        try:
            verifier = CosignatureVerifier.parse(keys[0])
        except NoteError as e:
            raise ValueError(f"witness {number}: {e}") from None
        if any(w.verifier.public_key == verifier.public_key for w in witnesses):
            raise ValueError(f"witness {number}: the key of {verifier.label} is given twice")
        witnesses.append(WitnessEndpoint(url, verifier))
    return witnesses


class WitnessRefused(Exception):
    """A witness did not cosign: it is down, refused (`refusal`: it answered a 4xx other
    than 409, or holds a larger tree), or answered something malformed."""

    def __init__(self, reason: str, refusal: bool = False) -> None:
        super().__init__(reason)
        self.refusal = refusal


class _Connection:
    """A keep-alive HTTP connection to one witness, opened again after any failure."""

    def __init__(self, witness: WitnessEndpoint, timeout: float) -> None:
        self.witness, self.timeout = witness, timeout
        parsed = urllib.parse.urlsplit(witness.url)
        self._https = parsed.scheme == "https"
        self._host, self._port = parsed.hostname or "", parsed.port
        self._path = (parsed.path.rstrip("/") or "") + "/add-checkpoint"
        self._connection: http.client.HTTPConnection | None = None

    def post(self, body: bytes) -> tuple[int, str, bytes]:
        """POST an add-checkpoint body: the status, content type and body of the answer."""
        for attempt in (1, 2):  # a kept-alive connection the witness closed: once more
            if self._connection is None:
                kind = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
                self._connection = kind(self._host, self._port, timeout=self.timeout)
            try:
                self._connection.request("POST", self._path, body, {
                    "Content-Type": "text/plain; charset=utf-8",
                    "User-Agent": "concord-log"})
                answer = self._connection.getresponse()
                data = answer.read(MAX_ANSWER + 1)
                if answer.will_close or not answer.isclosed():  # unread bytes: not reusable
                    self.close()
                return answer.status, answer.getheader("Content-Type", ""), data
            except (OSError, http.client.HTTPException) as e:
                self.close()
                if attempt == 2 or not isinstance(e, http.client.RemoteDisconnected
                                                  | ConnectionResetError | BrokenPipeError):
                    raise WitnessRefused(f"{self.witness.url}: {type(e).__name__}: {e}") from e
        raise AssertionError("unreachable")

    def abort(self) -> None:
        """Shut the connection's socket down from another thread, so that a request waiting
        on it fails at once."""
        connection = self._connection
        sock = getattr(connection, "sock", None) if connection is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Close the connection, if open."""
        if self._connection is not None:
            self._connection.close()
            self._connection = None


class Collector:
    """Collects the witnesses' cosignatures of the log's checkpoints, in a thread of its
    own (`start`, `stop`), or one round at a time (`round`).

    A round asks, in parallel, every witness that has not cosigned the tree's current size,
    unless its last answer refused that very size (it is asked again once the tree grows)
    or it has not answered an earlier request yet; it waits `timeout` seconds at most,
    whatever the witnesses do. Once `quorum` witnesses have cosigned a size, its checkpoint
    is the one the log serves (`Checkpoints.served`).
    """

    def __init__(self, witnesses: Sequence[WitnessEndpoint], checkpoints: Checkpoints,
                 store: ProjectionStore, interval: float = 2.0, timeout: float = 10.0,
                 quorum: int | None = None) -> None:
        self.witnesses = list(witnesses)
        self.checkpoints, self.store = checkpoints, store
        self.interval, self.timeout = interval, timeout
        self.quorum = len(self.witnesses) // 2 + 1 if quorum is None else quorum
        if not 1 <= self.quorum <= max(len(self.witnesses), 1):
            raise ValueError(f"a quorum of {self.quorum} is not possible with "
                             f"{len(self.witnesses)} witnesses")
        known = {status.witness: status.cosigned_size
                 for status in checkpoints.witness_status()}
        # The size each witness is believed to hold; a 409 corrects it.
        self._holds = {w.label: known.get(w.label, 0) for w in self.witnesses}
        # The size each witness last refused (not 409): asked again once the tree grows.
        self._refused: dict[str, int] = {}
        self._asking: set[str] = set()  # witnesses whose answer is awaited
        self._lock = threading.Lock()
        self._connections = {w.label: _Connection(w, timeout) for w in self.witnesses}
        self._pool = ThreadPoolExecutor(max(len(self.witnesses), 1),
                                        thread_name_prefix="concord-witness")
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="concord-collector",
                                        daemon=True)
        self._last_round = 0.0

    def start(self) -> None:
        """Start collecting cosignatures in the background."""
        self._thread.start()

    def wake(self) -> None:
        """The tree has grown: run a round as soon as the interval allows."""
        self._wake.set()

    def stop(self) -> None:
        """Stop after the round under way (which lasts `timeout` seconds at most), abandon
        any request still unanswered, and close the connections."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(self.timeout + 5)
        for connection in self._connections.values():
            connection.abort()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _run(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait(self.interval)
            self._wake.clear()
            pause = self._last_round + self.interval - time.monotonic()
            if pause > 0 and self._stopping.wait(pause):
                return
            self._last_round = time.monotonic()
            try:
                self.round()
            except Exception:
                logger.exception("a round of cosigning failed")

    def round(self) -> int | None:
        """Ask the witnesses to cosign the tree's current size (see the class); the size,
        or None if the tree is empty."""
        suffix = self.store.suffix(Transparency.name)
        tree = StoredTree(self.store.reader(), suffix)
        size = tree.size()
        if size == 0:
            return None
        note = self.checkpoints.sign(size, tree)
        cosigned = set(self.checkpoints.cosigners(size))
        with self._lock:
            pending = [w for w in self.witnesses if w.label not in cosigned
                       and self._refused.get(w.label) != size and w.label not in self._asking]
            self._asking.update(w.label for w in pending)
        asked = {self._pool.submit(self._ask, w, suffix, size, note): w for w in pending}
        _, unanswered = wait(asked, timeout=self.timeout)
        for future in unanswered:
            witness = asked[future]
            logger.warning("witness %s did not answer within %g s", witness.label, self.timeout)
            self.checkpoints.record_witness(witness.label, witness.url, None,
                                            f"no answer within {self.timeout:g} s")
            self._connections[witness.label].abort()  # its thread then gives up
        labels = {w.label for w in self.witnesses}
        if len(labels.intersection(self.checkpoints.cosigners(size))) >= self.quorum:
            self.checkpoints.mark_witnessed(size)
        return size

    def _ask(self, witness: WitnessEndpoint, suffix: str, size: int, note: str) -> None:
        """Ask one witness to cosign the checkpoint at `size`, following its 409 answers,
        and record what it answered (unless the round gave up waiting for it)."""
        started = time.monotonic()
        try:
            line, timestamp = self._cosignature(witness, suffix, size, note)
        except WitnessRefused as e:
            if time.monotonic() - started < self.timeout:  # else the round recorded it
                logger.warning("witness %s did not cosign the checkpoint of %d entries: %s",
                               witness.label, size, e)
                self.checkpoints.record_witness(witness.label, witness.url, None, str(e))
                if e.refusal:
                    self._refused[witness.label] = size
            return
        except Exception:  # the log's own failure (its database, its tree): not the witness's
            logger.exception("could not ask witness %s to cosign", witness.label)
            return
        finally:
            with self._lock:
                self._asking.discard(witness.label)
        self.checkpoints.add_cosignature(size, witness.label, line, timestamp)
        self.checkpoints.record_witness(witness.label, witness.url, size, None)
        self._holds[witness.label] = size

    def _cosignature(self, witness: WitnessEndpoint, suffix: str, size: int,
                     note: str) -> tuple[str, int]:
        tree = StoredTree(self.store.reader(), suffix)  # this thread's connection
        connection = self._connections[witness.label]
        for _ in range(3):  # a 409 tells the size the witness holds: then once or twice more
            old = self._holds[witness.label]
            if old > size:
                raise WitnessRefused(f"it holds a tree of {old} entries, larger than the "
                                     f"log's {size}: the log was rolled back, or replaced",
                                     refusal=True)
            proof = [] if old in (0, size) else tree.consistency(old, size)
            body = encode_add_checkpoint(old, proof, note)
            status, kind, answer = connection.post(body)
            if status == 200:
                return self._verified(witness, note, answer)
            if status == 409 and kind.split(";")[0].strip().lower() == TREE_SIZE_MEDIA_TYPE:
                try:
                    self._holds[witness.label] = parse_tree_size(answer)
                except WitnessFormatError as e:
                    raise WitnessRefused(f"a malformed 409 answer: {e}") from None
                logger.info("witness %s holds a tree of %d entries, not %d (409): asking "
                            "again from there", witness.label, self._holds[witness.label], old)
                continue
            text = answer[:300].decode(errors="replace").strip()
            raise WitnessRefused(f"HTTP {status}: {text}", refusal=400 <= status < 500)
        raise WitnessRefused("it kept answering 409 with another size")

    @staticmethod
    def _verified(witness: WitnessEndpoint, note: str, answer: bytes) -> tuple[str, int]:
        """The witness's own valid cosignature line in its answer, and its timestamp."""
        try:
            lines = answer.decode("utf-8")
        except UnicodeDecodeError:
            raise WitnessRefused("its answer is not UTF-8") from None
        if len(answer) > MAX_ANSWER or not lines.endswith("\n"):
            raise WitnessRefused("its answer is not a list of signature lines")
        try:
            text, _ = split_note(note)
            for line in lines.splitlines(keepends=True):
                cosignature = witness.verifier.find(text + "\n" + line)
                if cosignature is not None:
                    return line, cosignature.timestamp
        except NoteError as e:
            raise WitnessRefused(f"its cosignature does not verify: {e}") from None
        raise WitnessRefused(f"its answer has no cosignature by {witness.label}")
