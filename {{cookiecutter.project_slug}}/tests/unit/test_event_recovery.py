"""The outbox relay and the worker recover from what the broker and the database do to them:
outages of any length (2,000 consecutive failures, on a fake clock, leave each running with
its waits capped and one warning logged) and a commit the consumer group refuses."""

import asyncio
import logging
from typing import Any

import pytest
from aiokafka import TopicPartition
from aiokafka.errors import CommitFailedError, KafkaConnectionError, UnknownError
from sqlalchemy.exc import OperationalError

from {{ cookiecutter.package_name }}.integrations.kafka import worker as worker_module
from {{ cookiecutter.package_name }}.integrations.kafka.outbox import OutboxRelay
from {{ cookiecutter.package_name }}.integrations.kafka.settings import (
    MAX_BACKOFF_SECONDS,
    IdempotenceRefusedError,
    KafkaSettings,
    start_producer,
)
from {{ cookiecutter.package_name }}.integrations.kafka.worker import EventWorker, Stopped
from {{ cookiecutter.package_name }}.users.events import UserCreated

from tests.support.entry_points import exit_status_and_output

FAILURES = 2000
UNREACHABLE = OperationalError("SELECT 1", {}, ConnectionRefusedError("refused"))


def unreachable_database() -> Any:
    raise UNREACHABLE


class FakeClockRelay(OutboxRelay):
    """Its waits are recorded instead of slept; it stops itself after FAILURES waits."""

    waits: list[float]

    async def sleep(self, seconds: float, *, woken_by_commits: bool) -> None:
        self.waits.append(seconds)
        if len(self.waits) > FAILURES:
            self.stopping = True


class FakeClockWorker(EventWorker):
    waits: list[float]

    async def pause(self, seconds: float) -> None:
        self.waits.append(seconds)
        if len(self.waits) >= FAILURES:
            raise Stopped


async def test_the_relay_backs_off_capped_through_2000_failures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    relay = FakeClockRelay(unreachable_database, KafkaSettings())  # type: ignore[arg-type]
    relay.waits = []

    await asyncio.wait_for(relay.run(), 30)

    assert len(relay.waits) == FAILURES + 1
    assert max(relay.waits) == relay.waits[-1] == MAX_BACKOFF_SECONDS
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1


async def test_the_worker_waits_capped_for_the_database_through_2000_failures(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = asyncio.Event()
    worker = FakeClockWorker(KafkaSettings(), unreachable_database, stop)  # type: ignore[arg-type]
    worker.waits = []
    value = UserCreated(user_id=1, email="ada@example.com").model_dump_json().encode()
    record: Any = type("Record", (), {"value": value})()

    with pytest.raises(Stopped):
        await asyncio.wait_for(worker.handle(record), 30)

    assert len(worker.waits) == FAILURES
    assert max(worker.waits) == worker.waits[-1] == MAX_BACKOFF_SECONDS
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


class UnreachableConsumer:
    async def start(self) -> None:
        raise KafkaConnectionError("Unable to bootstrap")

    async def stop(self) -> None:
        return None


async def test_the_worker_waits_capped_for_the_broker_through_2000_failures(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setattr(worker_module, "create_consumer", lambda settings: UnreachableConsumer())
    worker = FakeClockWorker(KafkaSettings(), unreachable_database, asyncio.Event())  # type: ignore[arg-type]
    worker.waits = []

    await asyncio.wait_for(worker.run(), 30)  # ends on the fake clock's stop

    assert len(worker.waits) == FAILURES
    assert max(worker.waits) == worker.waits[-1] == MAX_BACKOFF_SECONDS
    assert len([r for r in caplog.records if r.levelno == logging.WARNING]) == 1


class RebalancedConsumer:
    """Hands out one record, then refuses the commit: the group rebalanced meanwhile."""

    def __init__(self, record: Any) -> None:
        self.partition = TopicPartition("user.created", 0)
        self.batches = [{self.partition: [record]}]
        self.commits = 0
        self.polls_after_commit = 0
        self.polled_thrice_after_commit = asyncio.Event()

    async def getmany(self, timeout_ms: int) -> dict[TopicPartition, list[Any]]:
        if self.commits:
            self.polls_after_commit += 1
            if self.polls_after_commit == 3:
                self.polled_thrice_after_commit.set()
        return self.batches.pop() if self.batches else {}

    def assignment(self) -> set[TopicPartition]:
        return {self.partition}

    async def commit(self, offsets: dict[TopicPartition, int]) -> None:
        self.commits += 1
        raise CommitFailedError("the group has already rebalanced")


async def test_a_commit_the_group_refuses_leaves_the_worker_consuming(
    caplog: pytest.LogCaptureFixture,
) -> None:
    stop = asyncio.Event()
    worker = EventWorker(KafkaSettings(), unreachable_database, stop)  # type: ignore[arg-type]
    handled: list[Any] = []

    async def handle(record: Any) -> None:
        handled.append(record)

    worker.handle = handle  # type: ignore[method-assign]
    consumer = RebalancedConsumer(record=type("Record", (), {"offset": 7})())
    consuming = asyncio.create_task(worker.consume(consumer))
    polled = asyncio.create_task(consumer.polled_thrice_after_commit.wait())
    await asyncio.wait({consuming, polled}, timeout=10, return_when=asyncio.FIRST_COMPLETED)

    assert not consuming.done()
    assert polled.done()
    assert (len(handled), consumer.commits) == (1, 1)
    assert any("rebalanced before the commit" in r.getMessage() for r in caplog.records)
    stop.set()
    with pytest.raises(Stopped):
        await consuming


class RefusingProducer:
    """A broker's answer to InitProducerId when it grants no producer ids."""

    async def start(self) -> None:
        raise UnknownError()


async def test_a_broker_refusing_idempotent_producers_is_named_as_such() -> None:
    with pytest.raises(IdempotenceRefusedError, match="refuses idempotent producers"):
        await start_producer(RefusingProducer(), KafkaSettings())
    with pytest.raises(UnknownError):  # without idempotence, it is no such refusal
        await start_producer(RefusingProducer(), KafkaSettings(enable_idempotence=False))


def test_the_worker_refuses_a_bad_database_url_without_showing_it(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("DATABASE_URL", "mysql://app:Sup3r-s3cret@db/app")

    async def served_then_stopped(settings: object) -> None:
        pass

    monkeypatch.setattr(worker_module, "serve", served_then_stopped)
    status, output = exit_status_and_output(worker_module.main, capfd)

    assert status != 0
    assert "DATABASE_URL must be a PostgreSQL URL" in output
    assert "Sup3r-s3cret" not in output
