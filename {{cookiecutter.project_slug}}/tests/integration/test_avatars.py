from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

import pytest
from aiobotocore.session import get_session
from botocore.exceptions import ClientError
from httpx import AsyncClient
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession

from {{ cookiecutter.package_name }}.config import DatabaseSettings, Environment, Settings
from {{ cookiecutter.package_name }}.integrations.s3 import (
    S3Settings,
    client_options,
    read_secret,
)
from {{ cookiecutter.package_name }}.main import create_app
from {{ cookiecutter.package_name }}.users.models import User

from tests.support.app import app_client, assert_serving_without, use_session
from tests.support.factories import UserFactory, create
from tests.support.services.postgres import PostgresEndpoint
from tests.support.services.s3 import S3Endpoint

if TYPE_CHECKING:  # the stubs are a development dependency
    from types_aiobotocore_s3 import S3Client

pytestmark = pytest.mark.integration

PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8
JPEG = b"\xff\xd8\xff\xe0" + bytes(range(100))


async def user(db_session: AsyncSession) -> User:
    return await create(UserFactory, db_session)


async def test_upload_then_download(client: AsyncClient, db_session: AsyncSession) -> None:
    ada = await user(db_session)

    stored = await client.put(
        f"/users/{ada.id}/avatar", content=PNG, headers={"content-type": "image/png"}
    )
    fetched = await client.get(f"/users/{ada.id}/avatar")

    assert stored.status_code == 204
    assert fetched.status_code == 200
    assert fetched.headers["content-type"] == "image/png"
    assert fetched.content == PNG


async def test_the_key_is_the_users_id_never_client_input(
    client: AsyncClient, db_session: AsyncSession, s3_client: S3Client, s3_bucket: str
) -> None:
    ada = await user(db_session)

    await client.put(
        f"/users/{ada.id}/avatar?key=../../other",
        content=PNG,
        headers={"content-type": "image/png", "x-amz-meta-key": "other"},
    )

    listed = await s3_client.list_objects_v2(Bucket=s3_bucket)
    assert [found["Key"] for found in listed.get("Contents", [])] == [f"users/{ada.id}/avatar"]


async def test_upload_replaces_the_avatar(client: AsyncClient, db_session: AsyncSession) -> None:
    ada = await user(db_session)
    path = f"/users/{ada.id}/avatar"

    await client.put(path, content=PNG, headers={"content-type": "image/png"})
    replaced = await client.put(path, content=JPEG, headers={"content-type": "image/jpeg"})
    fetched = await client.get(path)

    assert replaced.status_code == 204
    assert (fetched.headers["content-type"], fetched.content) == ("image/jpeg", JPEG)


async def test_delete_is_idempotent(client: AsyncClient, db_session: AsyncSession) -> None:
    ada = await user(db_session)
    path = f"/users/{ada.id}/avatar"
    await client.put(path, content=PNG, headers={"content-type": "image/webp"})

    first = await client.delete(path)
    second = await client.delete(path)
    fetched = await client.get(path)

    assert (first.status_code, second.status_code) == (204, 204)
    assert fetched.status_code == 404


async def test_unknown_user_or_missing_avatar_is_404(
    client: AsyncClient, db_session: AsyncSession
) -> None:
    ada = await user(db_session)
    nobody = f"/users/{ada.id + 1000}/avatar"

    assert (await client.get(f"/users/{ada.id}/avatar")).status_code == 404
    assert (await client.get(nobody)).status_code == 404
    put = await client.put(nobody, content=PNG, headers={"content-type": "image/png"})
    assert put.status_code == 404
    assert (await client.delete(nobody)).status_code == 404


async def test_an_avatar_over_the_limit_is_413_and_not_stored(
    settings: Settings, db_session: AsyncSession
) -> None:
    small = settings.integration(S3Settings).model_copy(update={"avatar_max_bytes": 64})
    app = use_session(create_app(settings.with_integration(small)), db_session)
    ada = await user(db_session)

    async with app_client(app) as client:
        refused = await client.put(
            f"/users/{ada.id}/avatar", content=PNG, headers={"content-type": "image/png"}
        )
        fetched = await client.get(f"/users/{ada.id}/avatar")

    assert refused.status_code == 413
    assert fetched.status_code == 404


@pytest.mark.parametrize("content_type", ["text/plain", "image/gif", "application/octet-stream"])
async def test_other_types_are_415(
    client: AsyncClient, db_session: AsyncSession, content_type: str
) -> None:
    ada = await user(db_session)

    response = await client.put(
        f"/users/{ada.id}/avatar", content=PNG, headers={"content-type": content_type}
    )

    assert response.status_code == 415


async def test_the_app_starts_without_the_store_and_readiness_shows_it_degraded(
    settings: Settings,
) -> None:
    unreachable = settings.integration(S3Settings).model_copy(
        update={"endpoint_url": "http://127.0.0.1:1"}
    )
    async with app_client(create_app(settings.with_integration(unreachable))) as client:
        response = await client.get("/health/ready")

    assert_serving_without(response, "s3")  # only the avatar routes need the store


@pytest.fixture
async def missing_bucket(s3_client: S3Client) -> AsyncIterator[str]:
    """A bucket name nobody created; removed after the test if the app created it."""
    name = f"missing-{uuid.uuid4().hex[:12]}"
    yield name
    with contextlib.suppress(ClientError):
        await s3_client.delete_bucket(Bucket=name)


async def bucket_exists(s3_client: S3Client, name: str) -> bool:
    listed = await s3_client.list_buckets()
    return name in {bucket["Name"] for bucket in listed.get("Buckets", [])}


async def test_outside_production_the_app_creates_its_bucket(
    settings: Settings, s3_client: S3Client, missing_bucket: str
) -> None:
    store = settings.integration(S3Settings).model_copy(update={"bucket": missing_bucket})
    async with app_client(create_app(settings.with_integration(store))) as client:
        response = await client.get("/health/ready")

    assert response.status_code == 200
    assert await bucket_exists(s3_client, missing_bucket)


async def test_in_production_a_missing_bucket_is_created_by_nobody_and_shown_degraded(
    settings: Settings, s3_client: S3Client, missing_bucket: str
) -> None:
    store = settings.integration(S3Settings).model_copy(update={"bucket": missing_bucket})
    production = settings.model_copy(update={"environment": Environment.PRODUCTION})
    async with app_client(create_app(production.with_integration(store))) as client:
        response = await client.get("/health/ready")

    assert response.status_code == 200  # only the avatar routes need the store
    assert response.json()["status"] == "degraded"
    assert response.json()["checks"]["s3"] == "unavailable"
    assert not await bucket_exists(s3_client, missing_bucket)


async def test_the_database_password_can_come_from_secrets_manager(
    s3: S3Endpoint, postgres: PostgresEndpoint, settings: Settings
) -> None:
    """The LocalStack guide's pattern: a secret kept in Secrets Manager, read at startup."""
    if s3.kind != "localstack":
        pytest.skip("Secrets Manager is LocalStack's; MinIO serves S3 only")
    secret_id = f"{uuid.uuid4().hex}/database-password"
    aws = client_options(settings.integration(S3Settings))
    stored_password = DatabaseSettings(url=postgres.url).password
    async with get_session().create_client("secretsmanager", **aws) as secrets:
        await secrets.create_secret(Name=secret_id, SecretString=stored_password)

    password = await read_secret(settings.integration(S3Settings), secret_id)
    url = make_url(settings.database.url.get_secret_value()).set(password=password)
    database = DatabaseSettings(url=url.render_as_string(hide_password=False))
    async with app_client(create_app(settings.model_copy(update={"database": database}))) as client:
        response = await client.get("/health/ready")

    assert response.json()["checks"]["postgres"] == "ok"
