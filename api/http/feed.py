"""The live feed: envelopes as they are committed, fanned out to stream clients.

The writer hands each commit's envelopes to the feed on its own thread; the feed passes them
to the event loop and returns at once. Each client has a bounded buffer: a client that falls
further behind than that is cut off and told where to resume, so a slow reader can never
slow the writer or hold memory without bound.
"""

from __future__ import annotations

import asyncio
from collections import deque

from concord.domain.envelope import Envelope
from concord.log.application import CoordinationLog


class FellBehind(Exception):
    """The client fell further behind than its buffer allows."""


class Subscription:
    """One client's buffer of committed envelopes."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.buffer: deque[Envelope] = deque()
        self.overflowed = False
        self._ready = asyncio.Event()

    def offer(self, envelopes: list[Envelope]) -> None:
        """Buffer the envelopes, or mark the subscription overflowed (event loop only)."""
        if self.overflowed:
            return
        if len(self.buffer) + len(envelopes) > self.limit:
            self.overflowed = True
            self.buffer.clear()
        else:
            self.buffer.extend(envelopes)
        self._ready.set()

    async def next_batch(self) -> list[Envelope]:
        """Wait for envelopes; raise FellBehind if the buffer overflowed."""
        while not self.buffer and not self.overflowed:
            self._ready.clear()
            await self._ready.wait()
        if self.overflowed:
            raise FellBehind
        batch = list(self.buffer)
        self.buffer.clear()
        return batch


class LiveFeed:
    """Connects the writer's commits to the subscriptions of the event loop."""

    def __init__(self, log: CoordinationLog, loop: asyncio.AbstractEventLoop, limit: int) -> None:
        self.log = log
        self.loop = loop
        self.limit = limit
        self.subscriptions: set[Subscription] = set()
        log.writer.add_listener(self._on_commit)

    def close(self) -> None:
        """Stop listening to the writer."""
        self.log.writer.remove_listener(self._on_commit)

    def subscribe(self) -> Subscription:
        """A new subscription, receiving every commit from now on."""
        subscription = Subscription(self.limit)
        self.subscriptions.add(subscription)
        return subscription

    def unsubscribe(self, subscription: Subscription) -> None:
        """Stop feeding the subscription."""
        self.subscriptions.discard(subscription)

    def _on_commit(self, envelopes: list[Envelope]) -> None:
        # Writer thread: hand over and return.
        if self.subscriptions:
            self.loop.call_soon_threadsafe(self._dispatch, envelopes)

    def _dispatch(self, envelopes: list[Envelope]) -> None:
        for subscription in list(self.subscriptions):
            subscription.offer(envelopes)
