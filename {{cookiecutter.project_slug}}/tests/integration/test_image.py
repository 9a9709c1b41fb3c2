"""The image the Dockerfile builds, run as a container beside the run's services.

Marked `image`: runs with `pytest --image` (CI does), skipped otherwise.
"""

from collections.abc import AsyncIterator, Iterator

import pytest
from httpx import AsyncClient

from tests.support.app_image import AppContainer, app_in_container, build_app_image, exit_of
from tests.support.endpoints import ServiceEndpoints
from tests.support.services import module_names
from tests.support.services.postgres import PostgresEndpoint, cloned_database, on_network

pytestmark = pytest.mark.image


@pytest.fixture(scope="module")
def app_image(every_service: None) -> str:
    """Built once per xdist worker that runs tests of this module (the engine's build cache
    makes the second build quick); it runs beside every service."""
    return build_app_image()


@pytest.fixture(scope="module")
def app_container(
    app_image: str, services: ServiceEndpoints, postgres: PostgresEndpoint
) -> Iterator[AppContainer]:
    """The image, serving from a database of its own."""
    with cloned_database(postgres) as database_url:
        environment = {"ENVIRONMENT": "test", "DATABASE_URL": on_network(database_url)}
        with app_in_container(app_image, services, environment) as app:
            yield app


@pytest.fixture
async def client(app_container: AppContainer) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(base_url=app_container.url, timeout=10) as client:
        yield client


async def test_the_image_is_ready(client: AsyncClient) -> None:
    response = await client.get("/health/ready")

    assert response.status_code == 200, response.text


@pytest.mark.parametrize("service", module_names())
async def test_the_image_reaches_each_service_it_is_configured_for(
    client: AsyncClient, app_container: AppContainer, service: str
) -> None:
    if service not in app_container.configured_for:
        pytest.skip(f"the app is not configured for {service} by tests/support/services/")

    response = await client.get("/health/ready")

    assert response.json()["checks"][service] == "ok", response.text


async def test_the_image_serves_the_api(client: AsyncClient) -> None:
    created = await client.post("/users", json={"email": "ada@example.com", "full_name": "Ada"})
    assert created.status_code == 201, created.text

    fetched = await client.get(f"/users/{created.json()['id']}")

    assert fetched.json()["email"] == "ada@example.com"


def test_the_image_runs_as_production_unless_told_otherwise(
    app_image: str, services: ServiceEndpoints
) -> None:
    placeholder = {"DATABASE_URL": "postgresql+psycopg://app:postgres@postgres:5432/app"}

    exit_code, log = exit_of(app_image, services, placeholder)

    assert exit_code not in (0, None), f"exit code {exit_code}:\n{log}"
    assert "DATABASE_URL uses a placeholder password" in log
    assert "ENVIRONMENT=production" in log
