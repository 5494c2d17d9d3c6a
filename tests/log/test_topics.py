"""Stored topics do not depend on where the code is installed: a log written when the model
was the top-level package `domain` reads the same, and new entries are stored alike."""

from __future__ import annotations

from collections.abc import Callable

import orjson
from eventsourcing.utils import get_topic, resolve_topic

from concord.domain.commands import AGGREGATES, TOPICS_BY_TYPE, public_type
from concord.domain.stream import Stream
from concord.log.application import CoordinationLog
from tests.conftest import submit


def test_every_stored_class_keeps_the_topic_of_its_module_before_packaging() -> None:
    topics = [topic for names in TOPICS_BY_TYPE.values() for topic in names]
    topics += [get_topic(aggregate) for aggregate in AGGREGATES]
    assert topics
    for topic in topics:
        assert topic.startswith("domain."), topic
        assert not topic.startswith("concord."), topic
    assert get_topic(AGGREGATES[0]) == "domain.network:Network"
    assert TOPICS_BY_TYPE["StateJoinedNetwork"] == ("domain.network:Network.StateJoinedNetwork",)
    assert "domain.stream:Stream.EntryRetracted" in TOPICS_BY_TYPE["EntryRetracted"]


def test_a_topic_written_under_the_old_module_names_resolves_to_its_class() -> None:
    from concord.domain.network import Network

    assert resolve_topic("domain.network:Network") is Network
    assert resolve_topic("domain.network:Network.StateJoinedNetwork") is (
        Network.StateJoinedNetwork)
    assert public_type("domain.stream:Stream.EntryRetracted") == "EntryRetracted"
    assert issubclass(resolve_topic("domain.conference:Conference.ConferenceHeld"), Stream.Event)


def test_the_store_holds_the_same_topics_as_before(
        open_log: Callable[[], CoordinationLog]) -> None:
    log = open_log()
    submit(log, "NetworkEstablished", "2023-09-12", network="RELACOPAZ", name="R")
    submit(log, "StateJoinedNetwork", "2023-09-12", network="RELACOPAZ", state="ARG",
           role="member")

    stored = log.recorder.select_notifications(start=1, limit=10)
    assert [n.topic for n in stored] == ["domain.network:Network.NetworkEstablished",
                                         "domain.network:Network.StateJoinedNetwork"]
    assert orjson.loads(stored[0].state)["originator_topic"] == "domain.network:Network"
    network = open_log().load("network:RELACOPAZ")
    assert network is not None and type(network).__name__ == "Network"
