"""Event publishers compose: each one registered gets every event, whatever its name."""

from typing import Any

import pytest

from {{ cookiecutter.package_name }}.events import DomainEvent, EventPublishers


class Recording:
    def __init__(self) -> None:
        self.events: list[tuple[DomainEvent, str]] = []

    async def add(self, session: Any, event: DomainEvent, *, key: str) -> None:
        self.events.append((event, key))


async def test_every_publisher_gets_every_event_whatever_the_order_of_their_names() -> None:
    publishers = EventPublishers()
    zebra, aardvark = Recording(), Recording()
    publishers.register("zebra", zebra)
    publishers.register("aardvark", aardvark)
    event = DomainEvent(event_type="thing.happened")

    await publishers.add(None, event, key="7")  # type: ignore[arg-type]

    assert zebra.events == aardvark.events == [(event, "7")]
    assert publishers.describe() == "zebra, aardvark"


def test_a_publisher_cannot_replace_another() -> None:
    publishers = EventPublishers()
    publishers.register("broker", Recording())

    with pytest.raises(ValueError, match="registered already"):
        publishers.register("broker", Recording())


async def test_without_a_publisher_events_are_dropped() -> None:
    publishers = EventPublishers()

    await publishers.add(None, DomainEvent(event_type="thing.happened"), key="1")  # type: ignore[arg-type]

    assert publishers.describe() == "none (domain events are dropped)"
