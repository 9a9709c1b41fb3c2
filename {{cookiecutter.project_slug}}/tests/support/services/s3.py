"""S3 object storage: Testcontainers' LocalStackContainer (S3 and Secrets Manager only) or
MinioContainer, whichever image compose.yaml names; a bucket per worker, emptied after each
test that used it; and the fixtures."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, cast
from unittest import IsolatedAsyncioTestCase

import pytest
from aiobotocore.session import get_session
from pydantic import SecretStr
from testcontainers.core.container import DockerContainer

from {{ cookiecutter.package_name }}.integrations.s3 import S3Settings, client_options

from tests.support.endpoints import ServiceEndpoints
from tests.support.services import Endpoint, TestService, Worker

if TYPE_CHECKING:
    from testcontainers.community.localstack import LocalStackContainer
    from testcontainers.community.minio import MinioContainer
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.type_defs import ObjectIdentifierTypeDef

REGION = "us-east-1"
BUCKETS_ENSURED: set[str] = set()
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
        return S3Settings(
            endpoint_url=self.url,
            region=REGION,
            bucket=bucket,
            access_key_id=SecretStr(self.access_key_id),
            secret_access_key=SecretStr(self.secret_access_key),
        )


class S3Service(TestService[DockerContainer]):
    name = "s3"
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

    def endpoint(self, container: DockerContainer) -> Endpoint:
        if kind_of(container.image) == "localstack":
            localstack = cast("LocalStackContainer", container)
            url = localstack.get_url()
            access_key_id = localstack.env["AWS_ACCESS_KEY_ID"]
            secret_access_key = localstack.env["AWS_SECRET_ACCESS_KEY"]
        else:
            minio = cast("MinioContainer", container)
            url = f"http://{minio.get_config()['endpoint']}"
            access_key_id, secret_access_key = minio.access_key, minio.secret_key
        return {
            "kind": kind_of(container.image),
            "url": url,
            "access_key_id": access_key_id,
            "secret_access_key": secret_access_key,
        }

    def address(self, endpoint: Endpoint) -> str:
        return str(endpoint["url"])

    def dev_environment(self, container: DockerContainer) -> dict[str, str]:
        store = S3Endpoint(**self.endpoint(container))
        return store.app_environment(store.url)

    def app_environment(self, endpoint: Endpoint, alias: str | None) -> dict[str, str]:
        store = S3Endpoint(**endpoint)
        if alias is None:
            return store.app_environment(store.url)
        port = 4566 if store.kind == "localstack" else 9000
        return store.app_environment(f"http://{alias}:{port}")

    async def set_up_test_case(
        self, case: IsolatedAsyncioTestCase, endpoint: Endpoint, worker: Worker
    ) -> S3Settings:
        store = S3Endpoint(**endpoint)
        name = worker_bucket_name(worker)
        if name not in BUCKETS_ENSURED:  # once per process, as the other services' shares
            await ensure_bucket(store, name)
            BUCKETS_ENSURED.add(name)
        case.addAsyncCleanup(empty, store, name)
        return store.settings(bucket=name)


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


async def empty(endpoint: S3Endpoint, bucket: str) -> None:
    async with open_client(endpoint) as client:
        await empty_bucket(client, bucket)


@pytest.fixture(scope="session")
def s3(services: ServiceEndpoints) -> S3Endpoint:
    return S3Endpoint(**services.of(SERVICE.name))


@pytest.fixture(scope="session")
async def worker_bucket(
    s3: S3Endpoint, services: ServiceEndpoints, worker_id: str
) -> AsyncIterator[str]:
    """This worker's own bucket."""
    name = worker_bucket_name(Worker(services.run_id, worker_id))
    await ensure_bucket(s3, name)
    yield name
    async with open_client(s3) as client:
        await empty_bucket(client, name)
        await client.delete_bucket(Bucket=name)


@pytest.fixture
async def s3_bucket(s3: S3Endpoint, worker_bucket: str) -> AsyncIterator[str]:
    """This worker's bucket, emptied after the test."""
    yield worker_bucket
    await empty(s3, worker_bucket)


@pytest.fixture
async def s3_client(s3: S3Endpoint) -> AsyncIterator[S3Client]:
    """A client to reach the store directly."""
    async with open_client(s3) as client:
        yield client


@pytest.fixture
def s3_settings(s3: S3Endpoint, s3_bucket: str) -> S3Settings:
    return s3.settings(bucket=s3_bucket)
