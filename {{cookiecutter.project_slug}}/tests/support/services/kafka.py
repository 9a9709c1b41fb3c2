"""Kafka: the container classes, the broker's capabilities probe, a topic and consumer group
per test, bounded waits, and the fixtures."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
import tarfile
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from io import BytesIO
from typing import Any, Self

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaError, TopicAlreadyExistsError
from testcontainers.community.kafka import KafkaContainer
from testcontainers.core.container import DockerContainer
from testcontainers.core.wait_strategies import LogMessageWaitStrategy

from {{ cookiecutter.package_name }}.integrations.kafka import KafkaSettings
from {{ cookiecutter.package_name }}.integrations.kafka import worker as event_worker

from tests.support.containers import container_for_one_test, free_port
from tests.support.endpoints import ServiceEndpoints
from tests.support.services import TestService, Worker
from tests.support.settings import cached_settings

DEADLINE_SECONDS = 15.0


class ApacheKafkaContainer(DockerContainer):
    """Single-node KRaft Kafka for the apache/kafka and apache/kafka-native images.

    Modelled on testcontainers-java's org.testcontainers.kafka.KafkaContainer: the command
    waits for a start script, written once the mapped port is known, that exports
    KAFKA_ADVERTISED_LISTENERS and runs the image's own /etc/kafka/docker/run.
    """

    PORT = 9092
    BROKER_PORT = 9093  # for containers on its network: advertised at its address there
    START_SCRIPT = "/tmp/testcontainers_start.sh"

    def __init__(self, image: str) -> None:
        super().__init__(image)
        self.with_exposed_ports(self.PORT)
        self.with_envs(
            CLUSTER_ID="4L6g3nShT-eMCtK--X86sw",
            KAFKA_NODE_ID="1",
            KAFKA_PROCESS_ROLES="broker,controller",
            KAFKA_LISTENERS=(
                f"PLAINTEXT://0.0.0.0:{self.PORT},BROKER://0.0.0.0:{self.BROKER_PORT},"
                "CONTROLLER://0.0.0.0:9094"
            ),
            KAFKA_LISTENER_SECURITY_PROTOCOL_MAP=(
                "BROKER:PLAINTEXT,PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT"
            ),
            KAFKA_INTER_BROKER_LISTENER_NAME="BROKER",
            KAFKA_CONTROLLER_LISTENER_NAMES="CONTROLLER",
            KAFKA_CONTROLLER_QUORUM_VOTERS="1@localhost:9094",
            KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR="1",
            KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS="1",
            KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR="1",
            KAFKA_TRANSACTION_STATE_LOG_MIN_ISR="1",
            KAFKA_LOG_FLUSH_INTERVAL_MESSAGES=str(2**63 - 1),
            KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS="0",
        )
        # The script is complete once its marker exists (one archive, extracted in order);
        # run through bash so that no exec bit is raced for (exit code 126).
        self.with_command(
            [
                "sh",
                "-c",
                f"while [ ! -f {self.START_SCRIPT}.ready ]; do sleep 0.1; done;"
                f" bash {self.START_SCRIPT}",
            ]
        )

    def start(self, timeout: int = 60) -> Self:
        super().start()
        self._write_start_script()
        LogMessageWaitStrategy(r".*Transitioning from RECOVERY to RUNNING.*").with_startup_timeout(
            timeout
        ).wait_until_ready(self)
        return self

    def get_bootstrap_server(self) -> str:
        return f"{self.get_container_host_ip()}:{self.get_exposed_port(self.PORT)}"

    def _write_start_script(self) -> None:
        advertised = (
            f"PLAINTEXT://{self.get_bootstrap_server()},BROKER://$(hostname -i):{self.BROKER_PORT}"
        )
        script = (
            f"#!/bin/bash\nexport KAFKA_ADVERTISED_LISTENERS={advertised}\n/etc/kafka/docker/run\n"
        ).encode()
        archive = BytesIO()
        with tarfile.open(fileobj=archive, mode="w") as tar:
            for name, content in ((self.START_SCRIPT, script), (f"{self.START_SCRIPT}.ready", b"")):
                entry = tarfile.TarInfo(name.lstrip("/"))
                entry.size, entry.mode, entry.mtime = len(content), 0o755, int(time.time())
                tar.addfile(entry, BytesIO(content))
        self.get_wrapped_container().put_archive("/", archive.getvalue())


KafkaTestContainer = KafkaContainer | ApacheKafkaContainer
CONFLUENT_BROKER_PORT = 9092  # testcontainers' KafkaContainer: its BROKER listener


def network_port(container: KafkaTestContainer) -> int:
    """The listener a container on the broker's network bootstraps from."""
    if isinstance(container, ApacheKafkaContainer):
        return container.BROKER_PORT
    return CONFLUENT_BROKER_PORT


def client_port(container: KafkaTestContainer) -> int:
    """The listener clients outside the broker's network bootstrap from."""
    if isinstance(container, ApacheKafkaContainer):
        return container.PORT
    return container.port


def kafka_container(image: str) -> KafkaTestContainer:
    """Confluent images keep testcontainers' own KRaft KafkaContainer; Apache ones use ours."""
    if image.rpartition(":")[0].endswith("cp-kafka"):
        confluent = KafkaContainer(image).with_kraft()
        # What start() would set, so that reuse hashes all of it (testcontainers leaves the
        # method unannotated).
        confluent.configure()  # type: ignore[no-untyped-call]
        return confluent
    return ApacheKafkaContainer(image)


async def supports_idempotent_producer(bootstrap_servers: str) -> bool:
    """Whether the broker grants producer ids: every real Kafka does, so the app's default
    (idempotence on) is what the suite exercises; a broker without it is reported and the
    suite falls back, rather than failing every publish."""
    topic = await create_topic(bootstrap_servers, prefix="capabilities")
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap_servers, enable_idempotence=True)
    sender = logging.getLogger("aiokafka.producer.sender")
    level = sender.level
    sender.setLevel(logging.CRITICAL)  # a refusal is an answer here, not an error to print
    try:
        async with asyncio.timeout(DEADLINE_SECONDS):
            await producer.start()  # asks for a producer id
            await producer.send_and_wait(topic.name, b"probe")
    except (KafkaError, TimeoutError):
        return False
    finally:
        sender.setLevel(level)
        with contextlib.suppress(KafkaError):
            await producer.stop()
    return True


@dataclass(frozen=True)
class KafkaTopic:
    """A topic of its own for one test, and a consumer group of its own to read it with."""

    bootstrap_servers: str
    name: str
    group_id: str


async def create_topic(
    bootstrap_servers: str, *, prefix: str = "test", name: str | None = None
) -> KafkaTopic:
    """Create a topic (unique unless `name` is given) and wait until every partition has a
    leader."""
    suffix = uuid.uuid4().hex[:12]
    topic = KafkaTopic(bootstrap_servers, name or f"{prefix}.{suffix}", f"{prefix}-group-{suffix}")
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic(topic.name, num_partitions=1, replication_factor=1)])

        async def has_leaders() -> bool:
            described: list[dict[str, Any]] = await admin.describe_topics([topic.name])
            partitions = described[0].get("partitions") or []
            return bool(partitions) and all(p.get("leader", -1) >= 0 for p in partitions)

        await eventually(has_leaders, what=f"a leader for every partition of {topic.name}")
    finally:
        await admin.close()
    return topic


async def ensure_topic(bootstrap_servers: str, name: str) -> None:
    """Create topic `name` unless the broker has it, once the broker answers (after a restart:
    a broker that keeps its topics in memory has forgotten them)."""

    async def created_or_present() -> bool:
        try:
            await create_topic(bootstrap_servers, name=name)
        except TopicAlreadyExistsError:
            return True
        except KafkaError:
            return False
        return True

    await eventually(created_or_present, what=f"topic {name} on {bootstrap_servers}")


async def produce(topic: KafkaTopic, value: bytes | None, *, key: bytes | None = None) -> None:
    """Publish one record to the topic and wait for the broker's acknowledgement."""
    producer = AIOKafkaProducer(bootstrap_servers=topic.bootstrap_servers)
    await producer.start()
    try:
        await asyncio.wait_for(
            producer.send_and_wait(topic.name, key=key, value=value), DEADLINE_SECONDS
        )
    finally:
        await producer.stop()


async def consume(
    topic: KafkaTopic, count: int, *, within: float = DEADLINE_SECONDS, then_none_for: float = 0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read `count` records from the start of the topic, or fail showing what did arrive; with
    `then_none_for`, also fail if any further record arrives within that many seconds.

    It reads without a consumer group: reading needs none, and it commits nothing that
    could change what the code under test (which uses `topic.group_id`) sees.
    """
    consumer = AIOKafkaConsumer(
        topic.name,
        bootstrap_servers=topic.bootstrap_servers,
        group_id=None,
        auto_offset_reset="earliest",
    )
    received: list[ConsumerRecord[bytes, bytes]] = []
    deadline = time.monotonic() + within
    await consumer.start()
    try:
        while len(received) < count:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                values = [record.value for record in received]
                raise AssertionError(
                    f"expected {count} records on {topic.name} within {within:g}s, "
                    f"got {len(received)}: {values!r}"
                )
            batches = await consumer.getmany(timeout_ms=int(min(remaining, 0.5) * 1000))
            for records in batches.values():
                received.extend(records)
        if then_none_for:
            extra = await consumer.getmany(timeout_ms=int(then_none_for * 1000))
            if extra:
                values = [record.value for records in extra.values() for record in records]
                raise AssertionError(f"expected {count} records on {topic.name}, more: {values!r}")
    finally:
        await consumer.stop()
    return received


async def committed_offset(topic: KafkaTopic, group_id: str) -> int:
    """How far `group_id` has committed on the topic's partition 0; 0 before any commit."""
    consumer = AIOKafkaConsumer(
        bootstrap_servers=topic.bootstrap_servers, group_id=group_id, enable_auto_commit=False
    )
    await consumer.start()
    try:
        return await consumer.committed(TopicPartition(topic.name, 0)) or 0
    finally:
        await consumer.stop()


async def eventually(
    condition: Callable[[], Awaitable[bool]],
    *,
    what: str,
    within: float = DEADLINE_SECONDS,
    interval: float = 0.05,
) -> None:
    """Poll `condition` until it holds; fail naming `what` once `within` seconds have passed."""
    deadline = time.monotonic() + within
    while not await condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within:g}s waiting for {what}")
        await asyncio.sleep(interval)


@dataclass(frozen=True)
class KafkaEndpoint:
    bootstrap_servers: str
    idempotence: bool  # whether the broker grants producer ids (every real Kafka does)
    network_port: int  # for containers on the broker's network

    def app_environment(self, bootstrap_servers: str) -> dict[str, str]:
        """The app's variables for this broker, reached at `bootstrap_servers`."""
        return {
            "KAFKA_BOOTSTRAP_SERVERS": bootstrap_servers,
            "KAFKA_ENABLE_IDEMPOTENCE": str(self.idempotence).lower(),
        }


class KafkaService(TestService[KafkaTestContainer, KafkaEndpoint]):
    name = "kafka"
    endpoint_type = KafkaEndpoint
    settings_fixture = "kafka_settings"

    def container(self, image: str, workers: int) -> KafkaTestContainer:
        return kafka_container(image)

    def endpoint(self, container: KafkaTestContainer) -> KafkaEndpoint:
        bootstrap_servers = container.get_bootstrap_server()
        idempotence = asyncio.run(supports_idempotent_producer(bootstrap_servers))
        return KafkaEndpoint(bootstrap_servers, idempotence, network_port(container))

    def address(self, endpoint: KafkaEndpoint) -> str:
        return endpoint.bootstrap_servers

    def notes(self, endpoint: KafkaEndpoint) -> list[str]:
        if endpoint.idempotence:
            return []
        return ["this broker grants no producer ids; idempotence is off in tests"]

    @asynccontextmanager
    async def share(self, endpoint: KafkaEndpoint, worker: Worker) -> AsyncIterator[KafkaSettings]:
        """The worker's topic (created once per process) and its consumer group."""
        if worker not in WORKER_TOPICS:
            prefix = f"app-{worker.name}"
            WORKER_TOPICS[worker] = await create_topic(endpoint.bootstrap_servers, prefix=prefix)
        yield app_settings(endpoint, WORKER_TOPICS[worker])

    def dev_environment(self, container: KafkaTestContainer) -> dict[str, str]:
        kafka = self.endpoint(container)
        return kafka.app_environment(kafka.bootstrap_servers)

    def app_environment(self, endpoint: KafkaEndpoint, alias: str | None) -> dict[str, str]:
        if alias is None:
            return endpoint.app_environment(endpoint.bootstrap_servers)
        return endpoint.app_environment(f"{alias}:{endpoint.network_port}")

    def dev_commands(self) -> list[list[str]]:
        return [[sys.executable, "-m", event_worker.__name__]]


SERVICE = KafkaService()
WORKER_TOPICS: dict[Worker, KafkaTopic] = {}


@pytest.fixture(scope="session")
def kafka(services: ServiceEndpoints) -> KafkaEndpoint:
    return services.of(SERVICE)


@pytest.fixture
async def kafka_topic(kafka: KafkaEndpoint) -> KafkaTopic:
    """A topic and consumer group of this test's own."""
    return await create_topic(kafka.bootstrap_servers)


@pytest.fixture
async def dead_letter_topic(kafka_topic: KafkaTopic) -> KafkaTopic:
    """The dead-letter topic of this test's topic, as `app_settings` names it."""
    return await create_topic(kafka_topic.bootstrap_servers, name=dead_letters_of(kafka_topic))


def dead_letters_of(topic: KafkaTopic) -> str:
    return f"{topic.name}.dead-letters"


def app_settings(kafka: KafkaEndpoint, topic: KafkaTopic) -> KafkaSettings:
    """The app publishing to `topic`, and its worker consuming it with the topic's group."""
    return cached_settings(
        KafkaSettings,
        bootstrap_servers=kafka.bootstrap_servers,
        user_events_topic=topic.name,
        worker_group_id=topic.group_id,
        dead_letter_topic=dead_letters_of(topic),
        enable_idempotence=kafka.idempotence,
    )


@pytest.fixture
def broker_for_this_test(
    kafka: KafkaEndpoint, services: ServiceEndpoints, request: pytest.FixtureRequest
) -> Iterator[KafkaTestContainer]:
    """A broker of this test's own, for a test that pauses or restarts it. Its host port is
    fixed, so the address it advertises still reaches it after a restart."""
    container = kafka_container(services.services[SERVICE.name].image)
    container.with_bind_ports(client_port(container), free_port())
    with container_for_one_test(container, services.session_id, request.node.nodeid) as broker:
        yield broker


@pytest.fixture
async def kafka_settings(kafka: KafkaEndpoint, worker: Worker) -> AsyncIterator[KafkaSettings]:
    """This test's share: the worker's topic, which the app publishes to."""
    async with SERVICE.share(kafka, worker) as settings:
        yield settings
