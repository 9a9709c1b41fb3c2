"""S3 object storage (AWS, LocalStack, MinIO): the store behind the users' avatars.

In development and tests the bucket is created at startup if it is missing; in production a
missing bucket makes the service not ready (buckets belong to the infrastructure).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, TypedDict, cast

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import BotoCoreError, ClientError
from fastapi import APIRouter, Depends, FastAPI, Request
from pydantic import AliasChoices, Field, SecretStr

from {{ cookiecutter.package_name }}.config import (
    PACKAGE,
    Environment,
    IntegrationSettings,
    Settings,
    env_settings,
)
from {{ cookiecutter.package_name }}.health import ReadinessCheck

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.literals import BucketLocationConstraintType
    from types_aiobotocore_secretsmanager import SecretsManagerClient

logger = logging.getLogger(__name__)
CHUNK_BYTES = 64 * 1024


class S3Settings(IntegrationSettings):
    model_config = env_settings("S3_")

    endpoint_url: str | None = None  # None: AWS itself
    region: str = "us-east-1"
    bucket: str = f"{PACKAGE.replace('_', '-')}-avatars"
    access_key_id: SecretStr | None = None  # None: boto's own chain (env, profile, role)
    secret_access_key: SecretStr | None = None
    avatar_max_bytes: int = Field(
        default=1024 * 1024,
        gt=0,
        validation_alias=AliasChoices("avatar_max_bytes", "AVATAR_MAX_BYTES"),
    )


class ClientOptions(TypedDict):
    endpoint_url: str | None
    region_name: str
    aws_access_key_id: str | None
    aws_secret_access_key: str | None
    config: AioConfig


def client_options(settings: S3Settings) -> ClientOptions:
    """What every AWS client of the service is created with (S3, Secrets Manager, ...)."""
    return ClientOptions(
        endpoint_url=settings.endpoint_url,
        region_name=settings.region,
        aws_access_key_id=secret_value(settings.access_key_id),
        aws_secret_access_key=secret_value(settings.secret_access_key),
        config=AioConfig(
            s3={"addressing_style": "path"},  # LocalStack and MinIO serve buckets by path
            connect_timeout=2,
            retries={"max_attempts": 2, "mode": "standard"},
        ),
    )


def secret_value(secret: SecretStr | None) -> str | None:
    return secret.get_secret_value() if secret else None


@dataclass(frozen=True)
class StoredObject:
    content_type: str
    size: int
    chunks: AsyncIterator[bytes]


class ObjectStore:
    """One bucket, keyed by the service's own keys (never by client input)."""

    def __init__(self, client: S3Client, settings: S3Settings) -> None:
        self.client = client
        self.settings = settings

    async def put(self, key: str, data: bytes, *, content_type: str) -> None:
        await self.client.put_object(
            Bucket=self.settings.bucket, Key=key, Body=data, ContentType=content_type
        )

    async def get(self, key: str) -> StoredObject | None:
        try:
            found = await self.client.get_object(Bucket=self.settings.bucket, Key=key)
        except self.client.exceptions.NoSuchKey:
            return None
        body = found["Body"]

        async def chunks() -> AsyncIterator[bytes]:
            async with body:  # returns the connection to the pool, also when abandoned
                async for chunk in body.iter_chunks(CHUNK_BYTES):
                    yield chunk

        return StoredObject(found["ContentType"], found["ContentLength"], chunks())

    async def delete(self, key: str) -> None:
        await self.client.delete_object(Bucket=self.settings.bucket, Key=key)

    async def check_bucket(self) -> None:
        await self.client.head_bucket(Bucket=self.settings.bucket)

    async def create_bucket_if_missing(self) -> None:
        try:
            await self.check_bucket()
            return
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
                raise
        if self.settings.region == "us-east-1":  # the one region that takes no constraint
            await self.client.create_bucket(Bucket=self.settings.bucket)
        else:
            await self.client.create_bucket(
                Bucket=self.settings.bucket,
                CreateBucketConfiguration={
                    "LocationConstraint": cast("BucketLocationConstraintType", self.settings.region)
                },
            )


async def read_secret(settings: S3Settings, secret_id: str) -> str:
    """A secret from Secrets Manager, through the same endpoint and credentials as the store
    (AWS, or LocalStack in development and tests): e.g. a database password at startup."""
    options = client_options(settings)
    async with get_session().create_client("secretsmanager", **options) as client:
        secrets: SecretsManagerClient = client
        found = await secrets.get_secret_value(SecretId=secret_id)
    return found["SecretString"]


async def get_object_store(request: Request) -> ObjectStore:
    store: ObjectStore = request.app.state.object_store
    return store


ObjectStoreDep = Annotated[ObjectStore, Depends(get_object_store)]


class S3Integration:
    name = "s3"
    required = False  # only the avatar routes need it

    @property
    def routers(self) -> tuple[APIRouter, ...]:
        # Imported here: the routes depend on this package, which must be complete first.
        from {{ cookiecutter.package_name }}.users.avatars import router

        return (router,)

    @asynccontextmanager
    async def lifespan(self, app: FastAPI, settings: Settings) -> AsyncIterator[ReadinessCheck]:
        config = settings.integration(S3Settings)
        if config.avatar_max_bytes > settings.max_request_body_bytes:
            raise ValueError(
                f"AVATAR_MAX_BYTES ({config.avatar_max_bytes}) is over MAX_REQUEST_BODY_BYTES "
                f"({settings.max_request_body_bytes}), which bounds every request: raise both"
            )
        async with AsyncExitStack() as opened:
            client: S3Client = await opened.enter_async_context(
                get_session().create_client("s3", **client_options(config))
            )
            store = ObjectStore(client, config)
            app.state.object_store = store
            if settings.environment != Environment.PRODUCTION:
                try:
                    await store.create_bucket_if_missing()
                except (BotoCoreError, ClientError) as error:
                    logger.warning("could not create bucket %s: %s", config.bucket, error)
            yield store.check_bucket


INTEGRATION = S3Integration()
