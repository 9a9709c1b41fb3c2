"""S3 object storage: Testcontainers' LocalStackContainer (S3 and Secrets Manager only) or
MinioContainer, whichever image compose.yaml names; a bucket per worker, emptied after each
test that used it; and the fixtures."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, cast

import pytest
from aiobotocore.session import get_session
from pydantic import SecretStr
from testcontainers.core.container import DockerContainer

from {{ cookiecutter.package_name }}.integrations.s3 import S3Settings, client_options

from tests.support.endpoints import ServiceEndpoints
from tests.support.services import TestService, Worker
from tests.support.settings import cached_settings

if TYPE_CHECKING:
    from testcontainers.community.localstack import LocalStackContainer
    from testcontainers.community.minio import MinioContainer
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.type_defs import ObjectIdentifierTypeDef

REGION = "us-east-1"
BUCKETS_ENSURED: dict[str, S3Endpoint] = {}  # the process's buckets, by name
StoreKind = Literal["localstack", "minio"]


def kind_of(image: str) -> StoreKind:
    return "localstack" if image.rpartition(":")[0].endswith("localstack") else "minio"


@dataclass(frozen=True)
class S3Endpoint:
    kind: StoreKind
    url: str
    access_key_id: str
    secret_access_key: str

    def app_environment(self, url: str) -> dict[str, str]:
        """The app's variables for this store, reached at `url`."""
        return {
            "S3_ENDPOINT_URL": url,
            "S3_REGION": REGION,
            "S3_ACCESS_KEY_ID": self.access_key_id,
            "S3_SECRET_ACCESS_KEY": self.secret_access_key,
        }

    def settings(self, bucket: str) -> S3Settings:
        return cached_settings(
            S3Settings,
            endpoint_url=self.url,
            region=REGION,
            bucket=bucket,
            access_key_id=SecretStr(self.access_key_id),
            secret_access_key=SecretStr(self.secret_access_key),
        )


class S3Service(TestService[DockerContainer, S3Endpoint]):
    name = "s3"
    endpoint_type = S3Endpoint
    settings_fixture = "s3_settings"

    def container(self, image: str, workers: int) -> DockerContainer:
        # Imported on use: each image's module needs its own extra (boto3, or minio).
        if kind_of(image) == "localstack":
            from testcontainers.community.localstack import LocalStackContainer

            return LocalStackContainer(image, region_name=REGION).with_services(
                "s3", "secretsmanager"
            )
        from testcontainers.community.minio import MinioContainer

        return MinioContainer(image)

    def endpoint(self, container: DockerContainer) -> S3Endpoint:
        if kind_of(container.image) == "localstack":
            localstack = cast("LocalStackContainer", container)
            url = localstack.get_url()
            access_key_id = localstack.env["AWS_ACCESS_KEY_ID"]
            secret_access_key = localstack.env["AWS_SECRET_ACCESS_KEY"]
        else:
            minio = cast("MinioContainer", container)
            url = f"http://{minio.get_config()['endpoint']}"
            access_key_id, secret_access_key = minio.access_key, minio.secret_key
        return S3Endpoint(kind_of(container.image), url, access_key_id, secret_access_key)

    def address(self, endpoint: S3Endpoint) -> str:
        return endpoint.url

    @asynccontextmanager
    async def share(self, endpoint: S3Endpoint, worker: Worker) -> AsyncIterator[S3Settings]:
        """The worker's bucket (created once per process), emptied after the test."""
        name = worker_bucket_name(worker)
        if name not in BUCKETS_ENSURED:
            await ensure_bucket(endpoint, name)
            BUCKETS_ENSURED[name] = endpoint
        try:
            yield endpoint.settings(bucket=name)
        finally:
            async with open_client(endpoint) as client:
                await empty_bucket(client, name)

    def dev_environment(self, container: DockerContainer) -> dict[str, str]:
        store = self.endpoint(container)
        return store.app_environment(store.url)

    def app_environment(self, endpoint: S3Endpoint, alias: str | None) -> dict[str, str]:
        if alias is None:
            return endpoint.app_environment(endpoint.url)
        port = 4566 if endpoint.kind == "localstack" else 9000
        return endpoint.app_environment(f"http://{alias}:{port}")


SERVICE = S3Service()


@asynccontextmanager
async def open_client(endpoint: S3Endpoint) -> AsyncIterator[S3Client]:
    options = client_options(endpoint.settings(bucket=""))
    async with get_session().create_client("s3", **options) as client:
        yield client


async def empty_bucket(client: S3Client, bucket: str) -> None:
    listed = await client.list_objects_v2(Bucket=bucket)
    keys: list[ObjectIdentifierTypeDef] = [
        {"Key": found["Key"]} for found in listed.get("Contents", [])
    ]
    if keys:
        await client.delete_objects(Bucket=bucket, Delete={"Objects": keys})


def worker_bucket_name(worker: Worker) -> str:
    """Named after the run: runs may share a reused store."""
    return f"test-{worker.run_id}-{worker.name}"


async def ensure_bucket(endpoint: S3Endpoint, name: str) -> None:
    async with open_client(endpoint) as client:
        with contextlib.suppress(
            client.exceptions.BucketAlreadyOwnedByYou, client.exceptions.BucketAlreadyExists
        ):
            await client.create_bucket(Bucket=name)


@pytest.fixture(scope="session")
def s3(services: ServiceEndpoints) -> S3Endpoint:
    return services.of(SERVICE)


@pytest.fixture
async def s3_settings(s3: S3Endpoint, worker: Worker) -> AsyncIterator[S3Settings]:
    """This test's share: the worker's bucket, emptied after the test."""
    async with SERVICE.share(s3, worker) as settings:
        yield settings


@pytest.fixture
def s3_bucket(s3_settings: S3Settings) -> str:
    return s3_settings.bucket


@pytest.fixture
async def s3_client(s3: S3Endpoint) -> AsyncIterator[S3Client]:
    """A client to reach the store directly."""
    async with open_client(s3) as client:
        yield client


def pytest_sessionfinish() -> None:
    """Remove the buckets this process created (a kept store outlives the run)."""

    async def remove_buckets() -> None:
        for name, endpoint in BUCKETS_ENSURED.items():
            async with open_client(endpoint) as client:
                await empty_bucket(client, name)
                await client.delete_bucket(Bucket=name)

    if BUCKETS_ENSURED:
        asyncio.run(remove_buckets())
